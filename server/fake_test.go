package server

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/model"
)

// byteTokenizer is a test tokenizer: ids 0, 1, 2 are <unk>, <s>, </s>, and
// every byte b is id b+3.
type byteTokenizer struct{}

const (
	fakeBOS   = 1
	fakeEOS   = 2
	fakeVocab = 256 + 3
)

func (byteTokenizer) Encode(text string) []int {
	ids := make([]int, len(text))
	for i := range len(text) {
		ids[i] = int(text[i]) + 3
	}
	return ids
}

func (t byteTokenizer) EncodeWithSpecial(text string) []int {
	return append([]int{fakeBOS}, t.Encode(text)...)
}

func (t byteTokenizer) Decode(ids []int) string {
	var b []byte
	for _, id := range ids {
		switch {
		case id >= 3 && id < fakeVocab:
			b = append(b, byte(id-3))
		case id >= 0 && id < 3:
			b = append(b, t.TokenText(id)...)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func (byteTokenizer) TokenText(id int) string {
	switch {
	case id >= 0 && id < 3:
		return []string{"<unk>", "<s>", "</s>"}[id]
	case id < fakeVocab:
		return string([]byte{byte(id - 3)})
	}
	return ""
}

func (byteTokenizer) BOS() int           { return fakeBOS }
func (byteTokenizer) EOS() []int         { return []int{fakeEOS} }
func (byteTokenizer) MaxTokenBytes() int { return 1 }

// fakeEngine is a bigram "model" over the byte vocabulary: the logits of
// the next token depend only on the previous one and favour a lower-case
// letter, so greedy output is readable. It honours the request fields the
// server sets, and can be made to wait (gate) to test queueing and shutdown.
type fakeEngine struct {
	maxPos int
	layers int
	// vocab is the vocabulary size reported by Info (the logits always
	// cover the byte vocabulary).
	vocab int
	// gate, when not nil, is received from before each generation starts.
	gate chan struct{}
	// tokenDelay is slept after each generated token.
	tokenDelay time.Duration

	mu      sync.Mutex
	reqs    []generate.Request
	active  atomic.Int64
	started chan struct{} // when not nil, gets a value as each generation starts
	calls   atomic.Int64
	// cancelled counts generations that ended because their context did.
	cancelled atomic.Int64
}

func newFakeEngine() *fakeEngine { return &fakeEngine{maxPos: 256, layers: 4, vocab: fakeVocab} }

func (e *fakeEngine) Info() EngineInfo {
	return EngineInfo{Vocab: e.vocab, MaxPos: e.maxPos, BOS: fakeBOS, StopIDs: []int{fakeEOS}, Layers: e.layers}
}

// fakeLogits are the next-token logits after prev.
func fakeLogits(prev int) []float32 {
	l := make([]float32, fakeVocab)
	for j := range l {
		l[j] = float32(math.Sin(float64(prev*31+j*17)) * 2)
	}
	l['a'+(prev*7+3)%26+3] += 8
	return l
}

func fakeTop(lp []float64, k int) []generate.Alt {
	alts := make([]generate.Alt, len(lp))
	for i, v := range lp {
		alts[i] = generate.Alt{ID: i, Logprob: v}
	}
	sort.SliceStable(alts, func(a, b int) bool { return alts[a].Logprob > alts[b].Logprob })
	return alts[:min(k, len(alts))]
}

func (e *fakeEngine) requests() []generate.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]generate.Request(nil), e.reqs...)
}

func (e *fakeEngine) Generate(ctx context.Context, req generate.Request, dec generate.Decoder) (*generate.Result, error) {
	e.active.Add(1)
	defer e.active.Add(-1)
	e.calls.Add(1)
	e.mu.Lock()
	e.reqs = append(e.reqs, req)
	e.mu.Unlock()
	if e.started != nil {
		e.started <- struct{}{}
	}
	if e.gate != nil {
		select {
		case <-e.gate:
		case <-ctx.Done():
			e.cancelled.Add(1)
			return nil, ctx.Err()
		}
	}
	n := len(req.Prompt)
	res := &generate.Result{PromptTokens: n, Alive: make([]int, e.layers), FinishReason: "length"}
	if req.H2O != nil {
		res.H2O = &generate.H2OResult{Budget: req.H2O.String(), Evicted: 3}
	}
	for l := range res.Alive {
		res.Alive[l] = n
		if req.Pruner != nil && l > 0 {
			res.Alive[l] = max(1, n/2)
		}
	}
	if req.Pruner != nil {
		res.Continuation = min(req.Continuation, n-1)
	}
	if req.PromptLogprobs {
		res.PromptLogprobs = []generate.Token{{ID: req.Prompt[0], Logprob: math.NaN()}}
		for i := 1; i < n; i++ {
			if fakeUnscored(req, i) {
				res.PromptLogprobs = append(res.PromptLogprobs, generate.Token{ID: req.Prompt[i], Logprob: math.NaN()})
				res.UnscoredPromptTokens++
				continue
			}
			lp := generate.LogSoftmax(fakeLogits(req.Prompt[i-1]))
			res.PromptLogprobs = append(res.PromptLogprobs, generate.Token{ID: req.Prompt[i], Logprob: lp[req.Prompt[i]], Top: fakeTop(lp, req.TopLogprobs)})
		}
	}
	rng := rand.New(rand.NewPCG(req.Seed, 1))
	stop := map[int]bool{}
	for _, id := range req.StopIDs {
		stop[id] = true
	}
	prev, sent, cut := req.Prompt[n-1], "", -1
	var ids []int
	for step := 0; step < req.MaxTokens; step++ {
		if err := ctx.Err(); err != nil {
			e.cancelled.Add(1)
			return nil, err
		}
		lp := generate.LogSoftmax(fakeLogits(prev))
		id := 0
		if req.Temperature == 0 {
			for j, v := range lp {
				if v > lp[id] {
					id = j
				}
			}
		} else {
			r := rng.Float64()
			for id = 0; id < len(lp)-1; id++ {
				if r -= math.Exp(lp[id]); r < 0 {
					break
				}
			}
		}
		if stop[id] {
			res.FinishReason = "stop"
			break
		}
		tok := generate.Token{ID: id, Logprob: math.NaN()}
		if req.Logprobs {
			tok.Logprob, tok.Top = lp[id], fakeTop(lp, req.TopLogprobs)
		}
		res.Tokens = append(res.Tokens, tok)
		ids = append(ids, id)
		prev = id
		text := dec.Decode(ids)
		for _, x := range req.StopStrings {
			if k := strings.Index(text, x); k >= 0 && (cut < 0 || k < cut) {
				cut = k
			}
		}
		if cut >= 0 {
			res.FinishReason = "stop"
			break
		}
		if req.OnText != nil && len(text) > len(sent) && !strings.HasSuffix(text, "\uFFFD") {
			if err := req.OnText(text[len(sent):]); err != nil {
				return nil, err
			}
			sent = text
		}
		if e.tokenDelay > 0 {
			time.Sleep(e.tokenDelay)
		}
	}
	final := dec.Decode(ids)
	if cut >= 0 {
		final = final[:cut]
	}
	if req.OnText != nil && len(final) > len(sent) {
		if err := req.OnText(final[len(sent):]); err != nil {
			return nil, err
		}
	}
	res.Text = final
	return res, nil
}

// fakeUnscored reports whether the fake engine leaves prompt token i
// without a logprob: with a pruner, every token before the continuation
// when there is one, else every token after an odd position past the
// first four (its "pruned" rows) but the last.
func fakeUnscored(req generate.Request, i int) bool {
	n := len(req.Prompt)
	tail := min(req.Continuation, n-1)
	switch {
	case req.Pruner == nil:
		return false
	case tail > 0:
		return i < n-tail
	}
	p := i - 1
	return p >= 4 && p < n-1 && p%2 == 1
}

// modelPruner is model.Pruner, named for the tests.
type modelPruner = model.Pruner

// testPruner keeps every token; the fake engine only checks it is set.
type testPruner struct{}

func (testPruner) Keep(context.Context, backend.Backend, int, backend.Tensor, []int32, int) ([]int32, error) {
	return nil, nil
}

var errUnknownPreset = errors.New("unknown preset")
