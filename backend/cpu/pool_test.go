package cpu

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolRunsEveryTaskOnce runs batches back to back and after pauses
// (helpers asleep), with fewer and more tasks than workers, and checks
// each task ran exactly once on a worker in range, no two workers sharing
// an index at once.
func TestPoolRunsEveryTaskOnce(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		p := newPool(n)
		for round := range 60 {
			if round%10 == 9 {
				time.Sleep(time.Millisecond)
			}
			tasks := round % 13
			counts := make([]atomic.Int32, tasks)
			busy := make([]atomic.Int32, n)
			p.run(tasks, func(w, task int) {
				if w < 0 || w >= n {
					t.Errorf("worker %d outside [0, %d)", w, n)
					return
				}
				if busy[w].Add(1) != 1 {
					t.Errorf("worker index %d used twice at once", w)
				}
				counts[task].Add(1)
				busy[w].Add(-1)
			})
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Fatalf("n=%d round %d: task %d ran %d times", n, round, i, c)
				}
			}
		}
		p.close()
	}
}

// TestPoolSpinBacksOff checks the spinning rule: a spinner that finds
// itself descheduled (a gap between polls) stops and makes every spinner
// give up at once for calmFor, after which spinning resumes.
func TestPoolSpinBacksOff(t *testing.T) {
	p := newPool(1)
	defer p.close()
	slept := false
	if p.spin(func() bool {
		if !slept {
			slept = true
			time.Sleep(2 * preempted)
		}
		return false
	}) {
		t.Fatal("spin reported done")
	}
	if from := time.Unix(0, p.calmFrom.Load()); time.Until(from) < calmFor/2 {
		t.Fatalf("after a descheduling gap, spinning resumes at %v, in %v", from, time.Until(from))
	}
	polls := 0
	p.spin(func() bool { polls++; return false })
	if polls != 1 {
		t.Errorf("while the machine is busy a spin polled %d times, want 1", polls)
	}
	p.calmFrom.Store(0)
	polls = 0
	// Polled until done, unless this test itself was descheduled (a loaded
	// machine), which must then have been noticed.
	if !p.spin(func() bool { polls++; return polls == 1000 }) && p.calmFrom.Load() == 0 {
		t.Errorf("a calm spin stopped after %d polls with no reason", polls)
	}
}
