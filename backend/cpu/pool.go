package cpu

import (
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long an idle worker keeps polling for the next batch,
// and the caller for the helpers' last tasks, before they block. A decode
// step runs hundreds of short ops back to back, and waking a blocked
// goroutine costs about as much as many of them (docs/PERFORMANCE.md,
// "Synchronisation"), so workers stay awake across the gaps between ops and
// sleep once the work stops. Polling takes a core from other work, so it
// stops while the machine is busy (see pool.calmFrom).
const spinFor = 50 * time.Microsecond

// pool is a fixed set of worker goroutines. The goroutine that calls run
// works too, as worker 0, so a pool of n has n-1 goroutines. Calls of run
// must not overlap (the backend's mutex serialises them).
type pool struct {
	n   int
	cur atomic.Pointer[batch] // the latest batch; a new one each run

	// Workers that found no batch for spinFor wait on cond; run wakes
	// them when sleepers is not zero.
	mu       sync.Mutex
	cond     sync.Cond
	sleepers atomic.Int32
	closed   atomic.Bool
	// calmFrom (Unix nanoseconds) is when spinning may resume: a spinner
	// that was descheduled (a gap of more than preempted between two of
	// its polls) shares its core with other work, so nobody spins for
	// calmFor after that.
	calmFrom atomic.Int64
}

const (
	preempted = 500 * time.Microsecond
	calmFor   = 200 * time.Millisecond
)

// spin polls done every few iterations for up to spinFor and reports
// whether it became true; it gives up at once while the machine is busy
// (calmFrom), and marks the machine busy when it finds itself descheduled.
func (p *pool) spin(done func() bool) bool {
	start := time.Now()
	if start.UnixNano() < p.calmFrom.Load() {
		return done()
	}
	prev := start
	for i := 0; ; i++ {
		if done() {
			return true
		}
		if i%64 == 63 {
			now := time.Now()
			if now.Sub(prev) > preempted {
				p.calmFrom.Store(now.Add(calmFor).UnixNano())
				return false
			}
			if now.Sub(start) > spinFor {
				return false
			}
			prev = now
		}
	}
}

// batch is one call of run: tasks handed out in order through next to the
// caller and helpers workers 1..helpers.
type batch struct {
	fn      func(worker, task int)
	tasks   int64
	helpers int
	next    atomic.Int64
	pending atomic.Int32  // helpers not finished yet
	done    chan struct{} // closed by the last helper to finish
}

func newPool(n int) *pool {
	p := &pool{n: n}
	p.cond.L = &p.mu
	for i := 1; i < n; i++ {
		go p.work(i)
	}
	return p
}

func (p *pool) work(w int) {
	var last *batch
	for {
		b := p.await(last)
		if b == nil {
			return
		}
		last = b
		if w > b.helpers {
			continue
		}
		b.drain(w)
		if b.pending.Add(-1) == 0 {
			close(b.done)
		}
	}
}

// await returns the first batch after last, or nil once the pool is closed:
// it polls for spinFor, then blocks.
func (p *pool) await(last *batch) *batch {
	if p.spin(func() bool { return p.cur.Load() != last || p.closed.Load() }) {
		if p.closed.Load() {
			return nil
		}
		return p.cur.Load()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sleepers.Add(1)
	defer p.sleepers.Add(-1)
	for {
		if b := p.cur.Load(); b != last {
			return b
		}
		if p.closed.Load() {
			return nil
		}
		p.cond.Wait()
	}
}

// run calls fn(worker, task) once for each task in [0, tasks), spread over
// the workers; worker is in [0, n) and no two concurrent calls share one.
// Tasks are handed out in increasing order, so put the largest first.
func (p *pool) run(tasks int, fn func(worker, task int)) {
	helpers := min(p.n, tasks) - 1
	if helpers <= 0 {
		for t := range tasks {
			fn(0, t)
		}
		return
	}
	b := &batch{fn: fn, tasks: int64(tasks), helpers: helpers, done: make(chan struct{})}
	b.pending.Store(int32(helpers))
	p.cur.Store(b)
	if p.sleepers.Load() > 0 {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	}
	b.drain(0)
	if !p.spin(func() bool { return b.pending.Load() == 0 }) {
		<-b.done
	}
}

func (b *batch) drain(w int) {
	for {
		t := b.next.Add(1) - 1
		if t >= b.tasks {
			return
		}
		b.fn(w, int(t))
	}
}

// close stops the worker goroutines.
func (p *pool) close() {
	p.closed.Store(true)
	p.mu.Lock()
	p.cond.Broadcast()
	p.mu.Unlock()
}
