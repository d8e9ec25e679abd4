package cpu

import (
	"sync"
	"sync/atomic"
)

// pool is a fixed set of worker goroutines. The goroutine that calls run
// works too, as worker 0, so a pool of n has n-1 goroutines.
type pool struct {
	wake []chan *batch // wake[i] feeds worker i (index 0 unused)
}

// batch is one call of run: tasks handed out in order through next.
type batch struct {
	fn    func(worker, task int)
	tasks int64
	next  atomic.Int64
	wg    sync.WaitGroup
}

func newPool(n int) *pool {
	p := &pool{wake: make([]chan *batch, n)}
	for i := 1; i < n; i++ {
		p.wake[i] = make(chan *batch)
		go p.work(i)
	}
	return p
}

func (p *pool) work(w int) {
	for b := range p.wake[w] {
		b.drain(w)
		b.wg.Done()
	}
}

// run calls fn(worker, task) once for each task in [0, tasks), spread over
// the workers; worker is in [0, n) and no two concurrent calls share one.
// Tasks are handed out in increasing order, so put the largest first.
func (p *pool) run(tasks int, fn func(worker, task int)) {
	helpers := min(len(p.wake), tasks) - 1
	if helpers <= 0 {
		for t := range tasks {
			fn(0, t)
		}
		return
	}
	b := &batch{fn: fn, tasks: int64(tasks)}
	b.wg.Add(helpers)
	for i := 1; i <= helpers; i++ {
		p.wake[i] <- b
	}
	b.drain(0)
	b.wg.Wait()
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
	for i := 1; i < len(p.wake); i++ {
		close(p.wake[i])
	}
}
