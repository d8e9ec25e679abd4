// Package parallel runs indexed work on a bounded number of goroutines.
package parallel

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// ForEach calls do(worker, i) for every i in [0, n) on up to workers
// goroutines (0: GOMAXPROCS); worker, in [0, workers), tells which goroutine
// runs the call, for state owned by one goroutine. After each call,
// progress (if not nil) gets the number of calls finished and n, one report
// at a time. Once ctx is done no further index is handed out and forEach returns
// ctx's error; otherwise it returns the error of the lowest failed index,
// as "<what> <i>: <err>".
func ForEach(ctx context.Context, n, workers int, what string, do func(worker, i int) error, progress func(done, total int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	errs := make([]error, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	next := make(chan int)
	for w := range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = do(w, i)
				if progress != nil {
					mu.Lock()
					done++
					progress(done, n)
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s %d: %w", what, i, err)
		}
	}
	return nil
}
