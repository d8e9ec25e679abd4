package generate

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/kvcache"
	"github.com/sdtp/sdtp/model"
)

// Decoder turns token ids into text (a tokenizer).
type Decoder interface {
	Decode(ids []int) string
}

// Request is one generation: a tokenized prompt and how to continue it.
type Request struct {
	Prompt    []int
	MaxTokens int
	Sampling
	// StopIDs end generation when sampled (EOS); the stop token is not part of the text.
	StopIDs []int
	// StopStrings end generation when the text contains one; the text is cut before it.
	StopStrings []string
	// MinTokens forbids the StopIDs until that many tokens have been
	// generated (their logits are set to -Inf), as transformers' min_length does.
	MinTokens int
	// Pruner, when set, prunes the prompt during prefill (decoding is never pruned).
	Pruner model.Pruner
	// H2O, when set, keeps each layer's KV cache within this budget from
	// the end of the prefill on, evicting the tokens that received the
	// least attention (package h2o); with a Pruner, after the pruning.
	H2O *h2o.Budget
	// Logprobs records each generated token's log-probability; TopLogprobs
	// also records that many most likely alternatives.
	Logprobs    bool
	TopLogprobs int
	// PromptLogprobs computes the log-probability of every prompt token
	// given the ones before it (the first has none). With a Pruner only the
	// rows alive after the last block have logits, so a token whose
	// preceding row was pruned gets none (NaN, never an estimate); with a
	// Continuation as well, only the continuation's tokens are scored, the
	// ones before it getting NaN, so that a caller reading past the
	// continuation finds no value rather than one of another kind. Such
	// tokens are counted in Result.UnscoredPromptTokens.
	PromptLogprobs bool
	// Continuation, with a Pruner, is how many tokens at the end of the
	// prompt are a continuation that pruning never touches: the pruner
	// sees the tokens before them as the prompt (its length, protected
	// tokens and keep counts are that shorter prompt's) and they follow it
	// unpruned, as decoded tokens would. Their prompt logprobs are then
	// those of teacher-forced decoding after a pruned prefill of the rest.
	// It is cut to len(Prompt)−1; 0 prunes the whole prompt as usual.
	Continuation int
	// OnText, when set, receives the text as it becomes final (stop
	// strings already cut); returning an error stops generation.
	OnText func(string) error
	// OnToken, when set, receives each generated token (with its
	// logprobs when asked) as soon as it is chosen, before its text may be
	// final; returning an error stops generation.
	OnToken func(Token) error
}

// Alt is one alternative token and its log-probability.
type Alt struct {
	ID      int
	Logprob float64
}

// Token is one token of the prompt or of the output.
type Token struct {
	ID      int
	Logprob float64 // NaN where none was computed
	Top     []Alt
}

// Result is what a generation produced and what it cost.
type Result struct {
	Tokens         []Token
	Text           string
	FinishReason   string // "stop" (stop id or string) or "length"
	PromptTokens   int
	PromptLogprobs []Token // with Request.PromptLogprobs
	// UnscoredPromptTokens counts the prompt tokens after the first that
	// pruning left without a logprob (NaN): before the Continuation, or
	// after a pruned row.
	UnscoredPromptTokens int
	// Continuation is the tail pruning left untouched (Request.Continuation
	// as applied: 0 without a pruner).
	Continuation int
	// Alive is the number of tokens entering each block during prefill.
	Alive []int
	// KVTokens and KVBytes are the cache sizes per layer after prefill
	// (with an H2O budget, after its first eviction: what decoding starts
	// from).
	KVTokens       []int
	KVBytes        []int64
	PrefillSeconds float64
	DecodeSeconds  float64
	// H2O is the KV budget's account, with Request.H2O.
	H2O *H2OResult
}

// H2OResult is what an H2O KV budget did to a generation.
type H2OResult struct {
	// Budget is the budget as the flags give it ("0.4 recent 0.5").
	Budget string `json:"budget"`
	// Keep is each layer's budget in tokens.
	Keep []int `json:"keep_per_layer"`
	// Evicted counts the tokens evicted, summed over the layers.
	Evicted int `json:"evicted"`
}

// IDs returns the generated token ids.
func (r *Result) IDs() []int {
	ids := make([]int, len(r.Tokens))
	for i, t := range r.Tokens {
		ids[i] = t.ID
	}
	return ids
}

// Run generates a continuation of req.Prompt with m, decoding text with dec.
func Run(ctx context.Context, m *model.Model, dec Decoder, req Request) (*Result, error) {
	s, err := newSequence(m, dec, req)
	if err != nil {
		return nil, err
	}
	defer s.free()
	if err := s.prefill(ctx); err != nil {
		return nil, err
	}
	for {
		done, err := s.choose()
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		logits, err := m.Forward(ctx, []int{s.next}, []int32{s.nextPos}, s.cache, model.ForwardOptions{})
		if err != nil {
			return nil, err
		}
		s.stepped(logits)
	}
	return s.finish()
}

// stepped takes the logits of a decode step over the sequence's cache and
// keeps the cache within its H2O budget.
func (s *sequence) stepped(logits []float32) {
	s.logits = logits
	if s.ev != nil {
		s.ev.Step(s.cache)
	}
}

// sequence is one generation in progress: its cache, its sampler and stop
// state, the logits of its last position. Run drives one; a Batcher
// drives many, one decode step for all.
type sequence struct {
	m     *model.Model
	req   Request
	cache *kvcache.Cache
	res   *Result
	sm    *sampler
	st    *stopper
	stop  map[int]bool
	// ev keeps the cache within Request.H2O (nil without).
	ev *h2o.Evictor
	// logits are those of the last position fed, not yet chosen from.
	logits []float32
	// step counts the tokens chosen; next and nextPos are the token to
	// feed at the next decode step and its position.
	step        int
	next        int
	nextPos     int32
	decodeStart time.Time
}

// newSequence checks req against m and makes its (empty) cache.
func newSequence(m *model.Model, dec Decoder, req Request) (*sequence, error) {
	c := &m.Config
	n := len(req.Prompt)
	if n == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	if req.MaxTokens < 0 {
		return nil, fmt.Errorf("generate: max tokens %d is negative", req.MaxTokens)
	}
	if c.MaxPos > 0 && n+req.MaxTokens > c.MaxPos {
		return nil, fmt.Errorf("generate: prompt of %d tokens + %d new tokens exceeds the model's %d positions: %w", n, req.MaxTokens, c.MaxPos, model.ErrTooLong)
	}
	if req.Continuation < 0 {
		return nil, fmt.Errorf("generate: continuation %d is negative", req.Continuation)
	}
	s := &sequence{m: m, req: req, cache: m.NewCache(req.MaxTokens), sm: newSampler(req.Sampling),
		st: newStopper(dec, req.StopStrings, req.OnText), stop: map[int]bool{},
		res: &Result{PromptTokens: n, Alive: make([]int, c.Layers), FinishReason: "length"}}
	for _, id := range req.StopIDs {
		s.stop[id] = true
	}
	if req.H2O != nil {
		if err := req.H2O.Check(); err != nil {
			s.free()
			return nil, fmt.Errorf("generate: H2O %w", err)
		}
		s.cache.TrackAttention()
		s.ev = h2o.New(*req.H2O)
	}
	return s, nil
}

// prefill runs the prompt through the model, filling the cache and the
// logits of its last position.
func (s *sequence) prefill(ctx context.Context) error {
	req, res, c := &s.req, s.res, &s.m.Config
	n := len(req.Prompt)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	fo := model.ForwardOptions{Pruner: req.Pruner, Alive: res.Alive}
	var cp *continuationPruner
	scored := 0 // prompt tokens given a logprob
	if req.Pruner != nil && (req.PromptLogprobs || req.Continuation > 0) {
		res.Continuation = min(req.Continuation, n-1)
		cp = &continuationPruner{inner: req.Pruner, tail: res.Continuation}
		fo.Pruner = cp
	}
	if req.PromptLogprobs {
		// Score each prompt token from the logits of the row before it, one
		// block of rows at a time, so the prompt's logits are never all held.
		res.PromptLogprobs = make([]Token, n)
		for i, id := range req.Prompt {
			res.PromptLogprobs[i] = Token{ID: id, Logprob: math.NaN()}
		}
		fo.AllLogits = true
		fo.RowLogits = func(first int, logits []float32) error {
			for r := 0; r*c.Vocab < len(logits); r++ {
				p := first + r // the row's position: its index unless pruned
				if cp != nil {
					p = int(cp.alive[first+r])
				}
				i := p + 1 // the token this row predicts
				if i >= n {
					break
				}
				if i < n-res.Continuation && res.Continuation > 0 {
					continue // before the continuation: not scored
				}
				lp := LogSoftmax(logits[r*c.Vocab : (r+1)*c.Vocab])
				res.PromptLogprobs[i] = Token{ID: req.Prompt[i], Logprob: lp[req.Prompt[i]], Top: topAlts(lp, req.TopLogprobs)}
				scored++
			}
			return nil
		}
	}
	start := time.Now()
	logits, err := s.m.Forward(ctx, req.Prompt, pos, s.cache, fo)
	if err != nil {
		return err
	}
	s.logits = logits
	if s.ev != nil {
		s.ev.Prefilled(s.cache)
	}
	res.PrefillSeconds = time.Since(start).Seconds()
	if req.PromptLogprobs {
		res.UnscoredPromptTokens = n - 1 - scored
	}
	res.KVTokens = s.cache.Tokens()
	res.KVBytes = make([]int64, c.Layers)
	for l := range res.KVBytes {
		res.KVBytes[l] = s.cache.LayerBytes(l)
	}
	s.decodeStart = time.Now()
	return nil
}

// choose takes the next token from the logits of the last position and
// applies the stop rules. It reports whether the generation is over;
// if not, next and nextPos are what the next decode step feeds.
func (s *sequence) choose() (done bool, err error) {
	req, res, logits := &s.req, s.res, s.logits
	step := s.step
	if step >= req.MaxTokens {
		return true, nil
	}
	if step < req.MinTokens {
		for _, id := range req.StopIDs {
			if id >= 0 && id < len(logits) {
				logits[id] = float32(math.Inf(-1))
			}
		}
	}
	id := s.sm.next(logits)
	if s.stop[id] {
		res.FinishReason = "stop"
		return true, nil
	}
	tok := Token{ID: id, Logprob: math.NaN()}
	if req.Logprobs || req.TopLogprobs > 0 {
		lp := LogSoftmax(logits)
		tok.Logprob = lp[id]
		tok.Top = topAlts(lp, req.TopLogprobs)
	}
	res.Tokens = append(res.Tokens, tok)
	if req.OnToken != nil {
		if err := req.OnToken(tok); err != nil {
			return true, err
		}
	}
	stopped, err := s.st.push(id)
	if err != nil {
		return true, err
	}
	if stopped {
		res.FinishReason = "stop"
		return true, nil
	}
	s.step++
	if s.step == req.MaxTokens {
		return true, nil
	}
	s.next, s.nextPos = id, int32(len(req.Prompt)+step)
	return false, nil
}

// finish releases the rest of the text and returns the result.
func (s *sequence) finish() (*Result, error) {
	s.res.DecodeSeconds = time.Since(s.decodeStart).Seconds()
	if s.ev != nil {
		s.res.H2O = &H2OResult{Budget: s.ev.Budget().String(), Keep: s.ev.Keep(), Evicted: s.ev.Evicted()}
	}
	text, err := s.st.finish()
	if err != nil {
		return nil, err
	}
	s.res.Text = text
	return s.res, nil
}

// free releases the sequence's cache.
func (s *sequence) free() { s.cache.Free() }

func topAlts(lp []float64, k int) []Alt {
	if k <= 0 {
		return nil
	}
	k = min(k, len(lp))
	alts := make([]Alt, 0, k+1)
	for id, v := range lp {
		if len(alts) == k && v <= alts[k-1].Logprob {
			continue
		}
		i := sort.Search(len(alts), func(i int) bool { return alts[i].Logprob < v })
		alts = append(alts, Alt{})
		copy(alts[i+1:], alts[i:])
		alts[i] = Alt{ID: id, Logprob: v}
		if len(alts) > k {
			alts = alts[:k]
		}
	}
	return alts
}

// stopper decodes the output incrementally, releases text that can no
// longer change (complete UTF-8, not a possible start of a stop string),
// and detects stop strings.
type stopper struct {
	dec     Decoder
	stops   []string
	onText  func(string) error
	ids     []int
	emitted int    // bytes of text already released
	final   string // text cut at a stop string, once found
	stopped bool
}

func newStopper(dec Decoder, stops []string, on func(string) error) *stopper {
	var s []string
	for _, x := range stops {
		if x != "" {
			s = append(s, x)
		}
	}
	return &stopper{dec: dec, stops: s, onText: on}
}

// push adds a token; it reports whether a stop string was reached.
func (s *stopper) push(id int) (bool, error) {
	s.ids = append(s.ids, id)
	if s.dec == nil {
		return false, nil
	}
	text := s.dec.Decode(s.ids)
	for _, x := range s.stops {
		if i := strings.Index(text, x); i >= 0 {
			s.final, s.stopped = text[:i], true
			return true, s.release(s.final)
		}
	}
	safe := len(text)
	// Hold back an incomplete UTF-8 tail (decoded as U+FFFD).
	for safe > s.emitted && strings.HasSuffix(text[:safe], string(utf8.RuneError)) {
		safe -= len(string(utf8.RuneError))
	}
	// Hold back a tail that could begin a stop string.
	for _, x := range s.stops {
		for k := min(len(x)-1, safe); k > 0; k-- {
			if strings.HasSuffix(text[:safe], x[:k]) {
				safe -= k
				break
			}
		}
	}
	return false, s.release(text[:max(safe, s.emitted)])
}

func (s *stopper) release(text string) error {
	if len(text) <= s.emitted {
		return nil
	}
	chunk := text[s.emitted:]
	s.emitted = len(text)
	if s.onText != nil {
		return s.onText(chunk)
	}
	return nil
}

// finish releases the rest of the text and returns it whole.
func (s *stopper) finish() (string, error) {
	if s.dec == nil {
		return "", nil
	}
	text := s.final
	if !s.stopped {
		text = s.dec.Decode(s.ids)
	}
	return text, s.release(text)
}
