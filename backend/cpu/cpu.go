// Package cpu is the CPU implementation of backend.Backend, registered as
// "cpu".
//
// Activations are float32, row-major. Weights stay in their stored dtype
// (F32, BF16, F16): NewWeight keeps the caller's bytes (an mmap'd file is
// used in place) and the kernels widen bf16 and f16 in registers. Work is
// spread over a small pool of worker goroutines (Options.Threads, default
// all cores), and the hot loops (matrix products, dot products, softmax,
// SiLU) run in AVX2+FMA or AVX-512 assembly on amd64, chosen at run time,
// with pure-Go versions for other CPUs.
//
// A Backend is safe for concurrent use; its ops run one at a time.
package cpu

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/internal/sysinfo"
)

func init() {
	backend.Register("cpu", func(o backend.Options) (backend.Backend, error) {
		return New(o)
	})
}

// Backend runs the backend ops on the host CPU.
type Backend struct {
	k       *kernels
	threads int
	device  string

	// mu serialises ops: the pool and the per-worker scratch are shared.
	mu        sync.Mutex
	pool      *pool
	scratch   [][]float32 // per-worker scratch, grown on demand
	scratch64 [][]float64 // per-worker float64 scratch (training ops)
	shared    []float32   // scratch shared by all workers within one op
	gateUp    []float32   // GateUp's buffer for the up projection
	// panelBytes is the size of the weights' decoding copies (panels.go),
	// at most panelBudget; atomic, as FreeWeight runs outside the op lock.
	panelBytes  atomic.Int64
	panelBudget int64

	used, peak atomic.Int64
	closed     bool
}

// New opens a CPU backend. It is what backend.Open("cpu", o) calls.
func New(o backend.Options) (*Backend, error) {
	return newBackend(o, bestKernels())
}

func newBackend(o backend.Options, k *kernels) (*Backend, error) {
	if o.Threads < 0 {
		return nil, fmt.Errorf("cpu backend: threads must be >= 0, got %d", o.Threads)
	}
	n := o.Threads
	if n == 0 {
		n = runtime.NumCPU()
	}
	b := &Backend{
		k:           k,
		threads:     n,
		device:      fmt.Sprintf("%s (%d threads, %s)", sysinfo.CPUModel(), n, k.name),
		pool:        newPool(n),
		scratch:     make([][]float32, n),
		scratch64:   make([][]float64, n),
		panelBudget: defaultPanelBudget,
	}
	return b, nil
}

// Name returns "cpu".
func (b *Backend) Name() string { return "cpu" }

// Device describes the processor, the worker count and the kernel set.
func (b *Backend) Device() string { return b.device }

// Sync returns nil: CPU ops finish before they return.
func (b *Backend) Sync() error { return nil }

// Memory reports the bytes of tensors, index vectors, owned weights and
// scratch buffers the backend holds now, and the most it held at once.
// Weights that borrow the caller's memory (NewWeight) are not counted.
func (b *Backend) Memory() (used, peak int64) { return b.used.Load(), b.peak.Load() }

// Close stops the worker goroutines. The backend must not be used after.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.pool.close()
		for i := range b.scratch {
			b.account(-4 * int64(cap(b.scratch[i])))
			b.scratch[i] = nil
		}
		b.account(-4 * int64(cap(b.shared)+cap(b.gateUp)))
		b.shared, b.gateUp = nil, nil
	}
	return nil
}

// account adds delta bytes to the memory in use and updates the peak.
func (b *Backend) account(delta int64) {
	u := b.used.Add(delta)
	for {
		p := b.peak.Load()
		if u <= p || b.peak.CompareAndSwap(p, u) {
			return
		}
	}
}

// lock starts an op; the returned function ends it.
func (b *Backend) lock() func() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		panic("cpu backend: used after Close")
	}
	return b.mu.Unlock
}

// workerScratch returns worker w's scratch buffer with at least n floats.
// Its contents are undefined.
func (b *Backend) workerScratch(w, n int) []float32 {
	if cap(b.scratch[w]) < n {
		b.account(4 * int64(n-cap(b.scratch[w])))
		b.scratch[w] = make([]float32, n)
	}
	return b.scratch[w][:n]
}

// sharedScratch returns the op-wide scratch buffer with at least n floats.
func (b *Backend) sharedScratch(n int) []float32 {
	if cap(b.shared) < n {
		b.account(4 * int64(n-cap(b.shared)))
		b.shared = make([]float32, n)
	}
	return b.shared[:n]
}

// parallel runs fn(worker, task) for every task in [0, tasks) on the pool.
func (b *Backend) parallel(tasks int, fn func(worker, task int)) {
	b.pool.run(tasks, fn)
}

// rowsParallel splits [0, n) into contiguous ranges of at least minRows and
// runs fn(lo, hi) for each on the pool.
func (b *Backend) rowsParallel(n, minRows int, fn func(lo, hi int)) {
	if n == 0 {
		return
	}
	chunks := min(b.threads*4, (n+minRows-1)/minRows)
	chunks = max(chunks, 1)
	size := (n + chunks - 1) / chunks
	b.pool.run((n+size-1)/size, func(_, t int) {
		fn(t*size, min(n, (t+1)*size))
	})
}
