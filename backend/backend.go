// Package backend defines the small set of tensor operations the decoder
// needs, and a registry through which implementations (cpu, cuda) make
// themselves available, as database/sql drivers do.
//
// Execution is eager: every op runs (CPU) or is queued on the device stream
// (CUDA) when called. Ops write into a destination tensor the caller
// allocated, so the model can keep its workspaces and no op allocates.
//
// Conventions shared by every op:
//   - Tensors are 2-D, row-major; a row is one token. Activations are f32
//     as far as the caller can see (a device backend may hold them in a
//     narrower type internally; FromHost/ToHost convert).
//   - Weights are 2-D and read-only, kept in their stored dtype.
//   - Shape mismatches are programming errors and panic. Device failures are
//     sticky: the backend records the first one and Sync returns it.
package backend

import (
	"fmt"
	"sort"
	"sync"
)

// DType is the element type of a stored weight.
type DType uint8

// Weight element types.
const (
	F32 DType = iota
	BF16
	F16
)

// String returns the safetensors spelling of the dtype.
func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case BF16:
		return "BF16"
	case F16:
		return "F16"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the number of bytes of one element.
func (d DType) Size() int {
	if d == F32 {
		return 4
	}
	return 2
}

// Tensor is a 2-D activation matrix owned by a backend.
type Tensor interface {
	Rows() int
	Cols() int
}

// Weight is a read-only 2-D parameter matrix in its stored dtype. A vector
// (a norm weight, a bias) is a 1×n weight.
type Weight interface {
	Rows() int
	Cols() int
	DType() DType
}

// Ints is a vector of int32 (token ids, position ids, row indices) resident
// where the backend needs it.
type Ints interface {
	Len() int
}

// AttentionShape describes grouped-query attention: Heads query heads share
// KVHeads key/value heads (Heads % KVHeads == 0), each HeadDim wide.
type AttentionShape struct {
	Heads, KVHeads, HeadDim int
	// Scale multiplies q·k before the softmax (usually 1/sqrt(HeadDim)).
	Scale float32
}

// Backend is the set of operations the decoder and the pruning modules run on.
type Backend interface {
	// Name is the registered name ("cpu", "cuda").
	Name() string
	// Device describes the hardware ("Intel Xeon ... (2 threads)", "NVIDIA H100 80GB HBM3").
	Device() string

	// NewWeight makes a weight of rows×cols elements of type dt from
	// little-endian data. The backend may keep a reference to data (the CPU
	// backend does, so an mmap'd file is used in place); the caller must keep
	// it alive and unchanged for the weight's lifetime.
	NewWeight(dt DType, rows, cols int, data []byte) (Weight, error)
	// RandomWeight makes a deterministic random weight: element i (row-major)
	// is RandomValue(seed, i)*scale rounded to dt. Every backend produces the
	// same values, so a synthetic model is the same model everywhere.
	RandomWeight(dt DType, rows, cols int, seed uint64, scale float32) (Weight, error)
	// ConstWeight makes a weight whose every element is v (norm weights of
	// synthetic models).
	ConstWeight(dt DType, rows, cols int, v float32) (Weight, error)
	// FreeWeight releases a weight's memory (a no-op where the memory is borrowed).
	FreeWeight(w Weight)

	// New allocates an uninitialised rows×cols tensor.
	New(rows, cols int) Tensor
	// Free releases a tensor made by New or FromHost (not a view).
	Free(t Tensor)
	// View returns rows [row, row+n) of t, sharing its memory.
	View(t Tensor, row, n int) Tensor
	// FromHost copies data (rows×cols, row-major) into a new tensor.
	FromHost(data []float32, rows, cols int) Tensor
	// ToHost copies t into dst (len rows×cols); it waits for queued work.
	ToHost(dst []float32, t Tensor)
	// Ints copies v into a new index vector.
	Ints(v []int32) Ints
	// FreeInts releases an index vector.
	FreeInts(v Ints)

	// Embed sets dst[i] = table[ids[i]].
	Embed(dst Tensor, table Weight, ids Ints)
	// MatMul sets dst = x·wᵀ (+ bias when bias is not nil): x is n×k, w is
	// m×k, bias is 1×m, dst is n×m.
	MatMul(dst, x Tensor, w, bias Weight)
	// RMSNorm sets dst[i] = x[i] / sqrt(mean(x[i]²) + eps) * w.
	RMSNorm(dst, x Tensor, w Weight, eps float32)
	// RoPE rotates, in place, each of the heads (headDim wide) of every row
	// of x by angle pos[row]·invFreq[j] for pair j (len(invFreq) ==
	// headDim/2), pairing element j with element j+headDim/2 (the Hugging
	// Face layout; llama2.c checkpoints are permuted into it at load).
	RoPE(x Tensor, pos Ints, heads, headDim int, invFreq []float32)
	// SiLUMul sets dst = silu(a) * b, element-wise.
	SiLUMul(dst, a, b Tensor)
	// GELU sets dst = x·Φ(x) with the exact (erf) form.
	GELU(dst, x Tensor)
	// Add sets dst = a + b; dst may be a or b.
	Add(dst, a, b Tensor)
	// Copy sets dst = src (same shape); use View to copy into part of a tensor.
	Copy(dst, src Tensor)
	// Gather sets dst[i] = x[idx[i]].
	Gather(dst, x Tensor, idx Ints)
	// Attention computes causal grouped-query attention. q is nq×(Heads·HeadDim),
	// k and v are nk×(KVHeads·HeadDim) with nk >= nq; query i stands at key
	// index nk-nq+i and attends keys 0..nk-nq+i. dst is nq×(Heads·HeadDim).
	// Prefill is nq == nk; one decode step is nq == 1 over the whole cache.
	Attention(dst, q, k, v Tensor, s AttentionShape)

	// Sync waits for queued work and returns the first device error, if any.
	Sync() error
	// Memory reports the bytes the backend holds now and at its peak.
	Memory() (used, peak int64)
	// Close releases everything the backend holds.
	Close() error
}

// Options configure a backend when it is opened.
type Options struct {
	// Device selects the device index on backends with several.
	Device int
	// Threads caps the worker threads on the CPU (0: all cores).
	Threads int
}

// Factory opens a backend.
type Factory func(Options) (Backend, error)

var (
	mu        sync.Mutex
	factories = map[string]Factory{}
)

// Register makes a backend available by name. It panics if the name is
// taken; call it from an init function.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[name]; dup {
		panic("backend: Register called twice for " + name)
	}
	factories[name] = f
}

// Names lists the registered backends in sorted order.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	var names []string
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open opens the backend registered as name. The name "auto" picks cuda when
// it is registered and opens, and cpu otherwise.
func Open(name string, o Options) (Backend, error) {
	if name == "auto" {
		if b, err := Open("cuda", o); err == nil {
			return b, nil
		}
		return Open("cpu", o)
	}
	mu.Lock()
	f, ok := factories[name]
	mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("backend %q is not available (have %v)", name, Names())
	}
	b, err := f(o)
	if err != nil {
		return nil, fmt.Errorf("open backend %s: %w", name, err)
	}
	return b, nil
}

// RandomValue is the deterministic pseudo-random value in [-1, 1) that
// RandomWeight uses for element i under seed: splitmix64 of seed and i, top
// 24 bits as a fraction. Every backend must use exactly this function.
func RandomValue(seed, i uint64) float32 {
	z := seed + (i+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return float32(z>>40)/float32(1<<23) - 1
}
