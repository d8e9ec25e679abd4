package generate

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sdtp/sdtp/kvcache"
	"github.com/sdtp/sdtp/model"
)

// BatchOptions configure a Batcher.
type BatchOptions struct {
	// MaxBatch bounds the sequences that decode together (default 8). On
	// the CPU, up to 16 give every sequence exactly its batch-1 output
	// (model.Decode).
	MaxBatch int
	// KVBudget bounds the bytes of KV cache the sequences hold together
	// (0: no bound). A request takes, until its prefill is done, the
	// unpruned bound of its cache (every layer holding the whole prompt
	// and every new token), then what its cache really holds.
	KVBudget int64
}

// BatchStats describe a Batcher's work so far.
type BatchStats struct {
	Active, Waiting int
	// KVBytes is the KV cache the active sequences hold (or, before their
	// prefill, may hold).
	KVBytes int64
	// PeakBatch is the most sequences one decode step ran.
	PeakBatch int
	// Steps and Tokens count the decode steps and the rows they decoded.
	Steps, Tokens int64
}

// ErrClosed is returned for requests a closed Batcher did not finish.
var ErrClosed = errors.New("generate: the batcher is closed")

// Batcher generates for many callers on one model by continuous batching:
// a request joins the running batch once its prefill is done and leaves
// it at a stop id, a stop string or its token limit, and every decode
// step runs all the sequences of the batch at once (model.Decode). Each
// request gets the result Run gives it, token for token on the CPU; the
// callbacks of a request run on its caller's goroutine.
//
// Requests are admitted in their order of arrival while the batch has room
// (MaxBatch) and the KV budget allows; the next one waits until both do.
// Prefills run between decode steps, one at a time.
type Batcher struct {
	m      *model.Model
	o      BatchOptions
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	waiting []*batchJob
	closed  bool
	stats   BatchStats
}

// batchJob is one request in a Batcher.
type batchJob struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	seq    *sequence
	kv     int64 // the bytes of KV cache the job counts for
	events *eventQueue
	out    chan jobResult // receives one result
}

type jobResult struct {
	res *Result
	err error
}

// NewBatcher starts a Batcher on m. Close stops it.
func NewBatcher(m *model.Model, o BatchOptions) (*Batcher, error) {
	if o.MaxBatch == 0 {
		o.MaxBatch = 8
	}
	if o.MaxBatch < 1 {
		return nil, fmt.Errorf("generate: max batch %d must be at least 1", o.MaxBatch)
	}
	if o.KVBudget < 0 {
		return nil, fmt.Errorf("generate: KV budget %d must not be negative", o.KVBudget)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Batcher{m: m, o: o, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go b.loop(ctx)
	return b, nil
}

// Close stops the Batcher: requests running or waiting end with ErrClosed.
// It waits for the loop to release every cache.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	<-b.done
}

// Stats returns the Batcher's state and counters.
func (b *Batcher) Stats() BatchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Waiting = len(b.waiting)
	return s
}

// Options returns the Batcher's options, defaults filled in.
func (b *Batcher) Options() BatchOptions { return b.o }

// Model returns the model the Batcher runs.
func (b *Batcher) Model() *model.Model { return b.m }

// KVBound returns the bytes of KV cache a request of prompt tokens and
// maxTokens new tokens may need on m: every layer holding every token.
func KVBound(m *model.Model, prompt, maxTokens int) int64 {
	c := &m.Config
	return kvcache.Bytes(m.B, c.KVDim(), c.Layers*(prompt+maxTokens))
}

// Generate runs req as Run does, in the running batch. OnText and OnToken
// are called on the caller's goroutine, in order; when one returns an
// error the request leaves the batch and Generate returns that error.
func (b *Batcher) Generate(ctx context.Context, dec Decoder, req Request) (*Result, error) {
	events := newEventQueue()
	onText, onToken := req.OnText, req.OnToken
	if onText != nil {
		req.OnText = func(s string) error { events.push(event{text: s, isText: true}); return nil }
	}
	if onToken != nil {
		req.OnToken = func(t Token) error { events.push(event{tok: t}); return nil }
	}
	seq, err := newSequence(b.m, dec, req)
	if err != nil {
		return nil, err
	}
	j := &batchJob{seq: seq, kv: KVBound(b.m, len(req.Prompt), req.MaxTokens), events: events, out: make(chan jobResult, 1)}
	if b.o.KVBudget > 0 && j.kv > b.o.KVBudget {
		seq.free()
		return nil, fmt.Errorf("generate: a prompt of %d tokens and %d new ones may need %d bytes of KV cache, more than the budget of %d", len(req.Prompt), req.MaxTokens, j.kv, b.o.KVBudget)
	}
	j.ctx, j.cancel = context.WithCancelCause(ctx)
	defer j.cancel(nil)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		seq.free()
		return nil, ErrClosed
	}
	b.waiting = append(b.waiting, j)
	b.mu.Unlock()
	b.signal()

	// Deliver the events as they come; a failing callback cancels the job.
	var cbErr error
	deliver := func() {
		for _, e := range events.take() {
			if cbErr != nil {
				return
			}
			if e.isText {
				cbErr = onText(e.text)
			} else {
				cbErr = onToken(e.tok)
			}
			if cbErr != nil {
				j.cancel(cbErr)
			}
		}
	}
	gone := j.ctx.Done()
	for {
		select {
		case <-events.ready:
			deliver()
		case <-gone:
			// A request still waiting leaves at once; a running one at the
			// loop's next look at it.
			gone = nil
			if b.withdraw(j) {
				deliver()
				if cbErr != nil {
					return nil, cbErr
				}
				return nil, jobErr(j, j.ctx.Err())
			}
		case r := <-j.out:
			deliver()
			if cbErr != nil {
				return nil, cbErr
			}
			return r.res, r.err
		}
	}
}

// withdraw removes j from the waiting requests, freeing its cache; it
// reports false when j is no longer waiting.
func (b *Batcher) withdraw(j *batchJob) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, w := range b.waiting {
		if w == j {
			b.waiting = append(b.waiting[:i], b.waiting[i+1:]...)
			j.seq.free()
			return true
		}
	}
	return false
}

func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// loop admits, prefills and decodes until ctx ends.
func (b *Batcher) loop(ctx context.Context) {
	defer close(b.done)
	var active []*batchJob
	var used int64
	end := func(j *batchJob, res *Result, err error) {
		j.seq.free()
		used -= j.kv
		j.out <- jobResult{res, err}
	}
	for {
		if ctx.Err() != nil {
			b.mu.Lock()
			waiting := b.waiting
			b.waiting = nil
			b.mu.Unlock()
			for _, j := range append(active, waiting...) {
				end(j, nil, ErrClosed)
			}
			return
		}
		// Admit in order of arrival while there is room, prefilling each.
		for len(active) < b.o.MaxBatch {
			j := b.admit(used)
			if j == nil {
				break
			}
			used += j.kv
			if err := j.seq.prefill(j.ctx); err != nil {
				end(j, nil, jobErr(j, err))
				continue
			}
			// Count what the cache really holds from now on.
			real := j.seq.cache.CapacityBytes()
			used += real - j.kv
			j.kv = real
			active = b.choose(active, j, end)
		}
		b.publish(active, used)
		if len(active) == 0 {
			select {
			case <-b.wake:
			case <-ctx.Done():
			}
			continue
		}
		active = b.step(ctx, active, end)
		b.publish(active, used)
	}
}

// admit takes the first waiting job if the KV budget allows it, dropping
// the waiting jobs whose callers gave up.
func (b *Batcher) admit(used int64) *batchJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.waiting) > 0 {
		j := b.waiting[0]
		if err := j.ctx.Err(); err != nil {
			b.waiting = b.waiting[1:]
			j.seq.free()
			j.out <- jobResult{nil, jobErr(j, err)}
			continue
		}
		if b.o.KVBudget > 0 && used+j.kv > b.o.KVBudget {
			return nil
		}
		b.waiting = b.waiting[1:]
		return j
	}
	return nil
}

// choose takes the next token of j from its last logits: it joins (or
// stays in) active unless it is done.
func (b *Batcher) choose(active []*batchJob, j *batchJob, end func(*batchJob, *Result, error)) []*batchJob {
	done, err := j.seq.choose()
	switch {
	case err != nil:
		end(j, nil, err)
	case done:
		res, err := j.seq.finish()
		end(j, res, err)
	default:
		if err := b.m.CheckRoom(j.seq.cache, 1); err != nil {
			end(j, nil, err)
			break
		}
		return append(active, j)
	}
	return active
}

// step runs one decode step of every active job and returns those that
// go on.
func (b *Batcher) step(ctx context.Context, active []*batchJob, end func(*batchJob, *Result, error)) []*batchJob {
	var live []*batchJob
	for _, j := range active {
		if err := j.ctx.Err(); err != nil {
			end(j, nil, jobErr(j, err))
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return nil
	}
	ids := make([]int, len(live))
	pos := make([]int32, len(live))
	caches := make([]*kvcache.Cache, len(live))
	for i, j := range live {
		ids[i], pos[i], caches[i] = j.seq.next, j.seq.nextPos, j.seq.cache
	}
	logits, err := b.m.Decode(ctx, ids, pos, caches)
	b.mu.Lock()
	b.stats.Steps++
	b.stats.Tokens += int64(len(live))
	b.stats.PeakBatch = max(b.stats.PeakBatch, len(live))
	b.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			err = ErrClosed
		}
		for _, j := range live {
			end(j, nil, err)
		}
		return nil
	}
	v := b.m.Config.Vocab
	next := live[:0]
	for i, j := range live {
		j.seq.stepped(logits[i*v : (i+1)*v : (i+1)*v])
		next = b.choose(next, j, end)
	}
	return next
}

// publish records the batch's size and memory for Stats.
func (b *Batcher) publish(active []*batchJob, used int64) {
	b.mu.Lock()
	b.stats.Active, b.stats.KVBytes = len(active), used
	b.mu.Unlock()
}

// jobErr is the error of a job whose context ended: the callback's error
// that cancelled it, else the context's.
func jobErr(j *batchJob, err error) error {
	if cause := context.Cause(j.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// event is a token or a piece of text for a request's callbacks.
type event struct {
	tok    Token
	text   string
	isText bool
}

// eventQueue passes events from the batch loop to a request's caller
// without ever blocking the loop.
type eventQueue struct {
	mu    sync.Mutex
	items []event
	ready chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{ready: make(chan struct{}, 1)} }

func (q *eventQueue) push(e event) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *eventQueue) take() []event {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
