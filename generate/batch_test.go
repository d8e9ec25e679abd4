package generate_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// idText decodes ids as "<id>" words, so stop strings can be built from
// the tokens a generation produced.
type idText struct{}

func (idText) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "<%d>", id)
	}
	return b.String()
}

// tinyModel is the synthetic tiny Llama on the CPU.
func tinyModel(t testing.TB) *model.Model { return testmodel.Tiny(t, backend.BF16, 1) }

// batchRequests are requests of every kind Run takes: greedy and sampled,
// pruned (prompt logprobs too, with and without a continuation), with an
// H2O KV budget (alone and after pruning), with stop ids and strings taken
// from the tokens the request produces alone (so they do stop it), min
// tokens, logprobs, prompt logprobs, and no new tokens at all.
func batchRequests(t *testing.T, m *model.Model) []generate.Request {
	t.Helper()
	r := rand.New(rand.NewPCG(2, 3))
	prompt := func(n int) []int {
		v := make([]int, n)
		for i := range v {
			v[i] = 3 + r.IntN(m.Config.Vocab-3)
		}
		return v
	}
	pr := &prune.Pruner{Schedule: prune.Schedule{Locations: []int{2, 5}, Ratio: 0.7}, Scorer: prune.RecentScorer{}}
	reqs := []generate.Request{
		{Prompt: prompt(30), MaxTokens: 12},
		{Prompt: prompt(1), MaxTokens: 20, Logprobs: true, TopLogprobs: 3},
		{Prompt: prompt(90), MaxTokens: 9, Pruner: pr},
		{Prompt: prompt(17), MaxTokens: 15, Sampling: generate.Sampling{Temperature: 0.8, TopP: 0.9, Seed: 4}},
		{Prompt: prompt(44), MaxTokens: 0, PromptLogprobs: true, TopLogprobs: 2},
		{Prompt: prompt(12), MaxTokens: 7, PromptLogprobs: true},
		{Prompt: prompt(60), MaxTokens: 16, Pruner: pr, Logprobs: true},
		{Prompt: prompt(5), MaxTokens: 1},
		{Prompt: prompt(70), MaxTokens: 3, Pruner: pr, PromptLogprobs: true, TopLogprobs: 1, Continuation: 9},
		{Prompt: prompt(50), MaxTokens: 2, Pruner: pr, PromptLogprobs: true},
		{Prompt: prompt(50), MaxTokens: 14, H2O: &h2o.Budget{Keep: h2o.Amount{Fraction: 0.4}, Recent: h2o.DefaultRecent}},
		{Prompt: prompt(70), MaxTokens: 10, Pruner: pr, Logprobs: true, H2O: &h2o.Budget{Keep: h2o.Amount{Tokens: 16, Counted: true}, Recent: h2o.Amount{Tokens: 4, Counted: true}}},
	}
	// Stops that fire: an id and a string from the tokens produced alone.
	for _, i := range []int{0, 3} {
		res, err := generate.Run(context.Background(), m, idText{}, reqs[i])
		if err != nil {
			t.Fatal(err)
		}
		ids := res.IDs()
		stopReq := reqs[i]
		stopReq.StopIDs = []int{ids[4]}
		stopReq.MinTokens = 2
		reqs = append(reqs, stopReq)
		strReq := reqs[i]
		strReq.StopStrings = []string{fmt.Sprintf("<%d><", ids[6])}
		reqs = append(reqs, strReq)
	}
	return reqs
}

// streamed collects what a request's callbacks receive.
type streamed struct {
	text   strings.Builder
	tokens []generate.Token
}

func (s *streamed) attach(req generate.Request) generate.Request {
	req.OnText = func(x string) error { s.text.WriteString(x); return nil }
	req.OnToken = func(tok generate.Token) error { s.tokens = append(s.tokens, tok); return nil }
	return req
}

// sameResult compares two results field by field, logprobs bit for bit,
// timings aside.
func sameResult(a, b *generate.Result) error {
	if a.Text != b.Text || a.FinishReason != b.FinishReason || a.PromptTokens != b.PromptTokens {
		return fmt.Errorf("text %q / %q, finish %s / %s, prompt %d / %d", a.Text, b.Text, a.FinishReason, b.FinishReason, a.PromptTokens, b.PromptTokens)
	}
	if err := sameTokens(a.Tokens, b.Tokens); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if err := sameTokens(a.PromptLogprobs, b.PromptLogprobs); err != nil {
		return fmt.Errorf("prompt logprobs: %w", err)
	}
	if a.UnscoredPromptTokens != b.UnscoredPromptTokens || a.Continuation != b.Continuation {
		return fmt.Errorf("unscored prompt tokens %d / %d, continuation %d / %d", a.UnscoredPromptTokens, b.UnscoredPromptTokens, a.Continuation, b.Continuation)
	}
	if fmt.Sprint(a.Alive, a.KVTokens, a.KVBytes) != fmt.Sprint(b.Alive, b.KVTokens, b.KVBytes) {
		return fmt.Errorf("alive/KV %v %v %v, %v %v %v", a.Alive, a.KVTokens, a.KVBytes, b.Alive, b.KVTokens, b.KVBytes)
	}
	if fmt.Sprint(a.H2O) != fmt.Sprint(b.H2O) {
		return fmt.Errorf("H2O %+v, %+v", a.H2O, b.H2O)
	}
	return nil
}

func sameTokens(a, b []generate.Token) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d and %d tokens", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID || math.Float64bits(a[i].Logprob) != math.Float64bits(b[i].Logprob) || fmt.Sprint(a[i].Top) != fmt.Sprint(b[i].Top) {
			return fmt.Errorf("token %d: %+v and %+v", i, a[i], b[i])
		}
	}
	return nil
}

// TestBatcherMatchesRun is the batching equivalence test on the CPU:
// requests of every kind, sent at once, get exactly what Run gives each
// alone (tokens, logprobs bit for bit, text, streamed text and tokens,
// cache sizes), whatever the batch size.
func TestBatcherMatchesRun(t *testing.T) {
	m := tinyModel(t)
	reqs := batchRequests(t, m)
	want := make([]*generate.Result, len(reqs))
	for i, req := range reqs {
		res, err := generate.Run(context.Background(), m, idText{}, req)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res
	}
	for _, maxBatch := range []int{1, 4, 16} {
		t.Run(fmt.Sprintf("max%d", maxBatch), func(t *testing.T) {
			bt, err := generate.NewBatcher(m, generate.BatchOptions{MaxBatch: maxBatch})
			if err != nil {
				t.Fatal(err)
			}
			defer bt.Close()
			got := make([]*generate.Result, len(reqs))
			streams := make([]streamed, len(reqs))
			errs := make([]error, len(reqs))
			var wg sync.WaitGroup
			for i, req := range reqs {
				wg.Go(func() {
					got[i], errs[i] = bt.Generate(context.Background(), idText{}, streams[i].attach(req))
				})
			}
			wg.Wait()
			for i := range reqs {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				if err := sameResult(got[i], want[i]); err != nil {
					t.Errorf("request %d: batched and alone differ: %v", i, err)
				}
				if s := streams[i].text.String(); s != want[i].Text {
					t.Errorf("request %d: streamed text %q, result %q", i, s, want[i].Text)
				}
				if err := sameTokens(streams[i].tokens, want[i].Tokens); err != nil {
					t.Errorf("request %d: streamed tokens: %v", i, err)
				}
			}
			st := bt.Stats()
			if st.PeakBatch > maxBatch || st.Active != 0 || st.Waiting != 0 || st.KVBytes != 0 {
				t.Errorf("stats after the run: %+v (max batch %d)", st, maxBatch)
			}
			if maxBatch > 1 && st.PeakBatch < 2 {
				t.Errorf("no decode step ran more than one sequence: %+v", st)
			}
		})
	}
}

// TestBatcherKVBudget: admission waits while the budget is full, so the
// sequences decoding together never hold more than it; a request that can
// never fit is refused at once.
func TestBatcherKVBudget(t *testing.T) {
	m := tinyModel(t)
	req := generate.Request{Prompt: []int{5, 6, 7, 8, 9, 10, 11, 12}, MaxTokens: 10}
	one := generate.KVBound(m, len(req.Prompt), req.MaxTokens)
	want, err := generate.Run(context.Background(), m, idText{}, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, fit := range []int{1, 2} {
		t.Run(fmt.Sprintf("room for %d", fit), func(t *testing.T) {
			bt, err := generate.NewBatcher(m, generate.BatchOptions{MaxBatch: 8, KVBudget: int64(fit)*one + one/2})
			if err != nil {
				t.Fatal(err)
			}
			defer bt.Close()
			var wg sync.WaitGroup
			var mu sync.Mutex
			peak := int64(0)
			for range 6 {
				wg.Go(func() {
					r := req
					r.OnToken = func(generate.Token) error {
						st := bt.Stats()
						mu.Lock()
						peak = max(peak, st.KVBytes)
						mu.Unlock()
						return nil
					}
					res, err := bt.Generate(context.Background(), idText{}, r)
					if err != nil {
						t.Error(err)
						return
					}
					if err := sameResult(res, want); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			st := bt.Stats()
			if st.PeakBatch > fit {
				t.Errorf("a decode step ran %d sequences; the budget has room for %d", st.PeakBatch, fit)
			}
			if peak > int64(fit)*one {
				t.Errorf("the sequences held %d bytes of KV cache at once; the budget allows %d", peak, int64(fit)*one)
			}
		})
	}
	bt, err := generate.NewBatcher(m, generate.BatchOptions{KVBudget: one - 1})
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Close()
	if _, err := bt.Generate(context.Background(), idText{}, req); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("a request over the budget: error %v", err)
	}
}

// TestBatcherCancellation: a request whose callback fails, or whose
// caller gives up while it waits, leaves with that error and the others
// are unaffected; Close ends what is left with ErrClosed.
func TestBatcherCancellation(t *testing.T) {
	m := tinyModel(t)
	base := generate.Request{Prompt: []int{5, 6, 7, 8}, MaxTokens: 40}
	want, err := generate.Run(context.Background(), m, idText{}, base)
	if err != nil {
		t.Fatal(err)
	}
	bt, err := generate.NewBatcher(m, generate.BatchOptions{MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("client went away")
	failing := base
	n := 0
	failing.OnToken = func(generate.Token) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	}
	var wg sync.WaitGroup
	var gotFail, gotOK error
	var okRes *generate.Result
	wg.Go(func() { _, gotFail = bt.Generate(context.Background(), idText{}, failing) })
	wg.Go(func() { okRes, gotOK = bt.Generate(context.Background(), idText{}, base) })
	wg.Wait()
	if !errors.Is(gotFail, stop) {
		t.Errorf("the request whose callback failed: error %v, want %v", gotFail, stop)
	}
	if gotOK != nil {
		t.Fatal(gotOK)
	}
	if err := sameResult(okRes, want); err != nil {
		t.Error(err)
	}

	// Fill the batch with requests that block in their callback, so the
	// next one waits; cancel it while it waits.
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	blocked := base
	blocked.MaxTokens = 4000 // still running when the test closes the batcher
	blocked.OnToken = func(generate.Token) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return nil
	}
	errsBlocked := make(chan error, 2)
	for range 2 {
		go func() { _, err := bt.Generate(context.Background(), idText{}, blocked); errsBlocked <- err }()
	}
	<-started
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	waitErr := make(chan error, 1)
	go func() { _, err := bt.Generate(ctx, idText{}, base); waitErr <- err }()
	for bt.Stats().Waiting == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-waitErr; !errors.Is(err, context.Canceled) {
		t.Errorf("a request cancelled while waiting: error %v", err)
	}
	bt.Close()
	close(release)
	for range 2 {
		if err := <-errsBlocked; !errors.Is(err, generate.ErrClosed) {
			t.Errorf("a request running at Close: error %v, want ErrClosed", err)
		}
	}
	if _, err := bt.Generate(context.Background(), idText{}, base); !errors.Is(err, generate.ErrClosed) {
		t.Errorf("a request after Close: error %v", err)
	}
}
