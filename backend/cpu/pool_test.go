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
