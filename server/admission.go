package server

import (
	"context"
	"errors"
	"sync/atomic"
)

// errBusy means the queue is full.
var errBusy = errors.New("server busy: every slot and queue place is taken")

// admission bounds the generation work: at most `slots` requests run at
// once and at most `queue` more wait; the rest are turned away.
type admission struct {
	slots chan struct{}
	limit int64
	n     atomic.Int64 // running + waiting
}

func newAdmission(concurrent, queue int) *admission {
	return &admission{slots: make(chan struct{}, concurrent), limit: int64(concurrent + queue)}
}

// acquire waits for a slot; it fails at once with errBusy when the queue is
// full, or with the context's error when the caller gives up. The returned
// function frees the slot.
func (a *admission) acquire(ctx context.Context) (release func(), err error) {
	if a.n.Add(1) > a.limit {
		a.n.Add(-1)
		return nil, errBusy
	}
	select {
	case a.slots <- struct{}{}:
		return func() {
			<-a.slots
			a.n.Add(-1)
		}, nil
	case <-ctx.Done():
		a.n.Add(-1)
		return nil, ctx.Err()
	}
}

// load returns the requests running and waiting.
func (a *admission) load() (running, waiting int) {
	n := int(a.n.Load())
	running = min(n, cap(a.slots))
	return running, n - running
}
