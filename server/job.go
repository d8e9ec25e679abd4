package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/model"
)

// job is a validated generation request: one or more tokenized prompts and
// how to continue each.
type job struct {
	prompts [][]int
	// texts are the prompts as sent, where they were text (echo returns
	// them); they become prompts once the job is admitted (encodePrompts).
	texts []string
	// rendered marks texts rendered by the chat template: encoded as they
	// are, with no BOS added.
	rendered bool
	// param names the request field of the prompts, for errors.
	param     string
	maxTokens int // -1: up to the end of the context
	sampling  generate.Sampling
	stops     []string
	stopIDs   []int
	logprobs  bool
	top       int
	echo      bool
	prune     string
	pruner    model.Pruner
	// schedule describes what pruner runs (its String), for usage and the log.
	schedule string
	// scoreTail is the continuation of a prompt-scoring request under
	// pruning (-1: the request does not score its prompt, or is not pruned).
	scoreTail int
	h2o       *h2o.Budget // nil: no KV budget
}

// newJob validates the fields completions and chat share; prompts and
// pruning are set by the caller.
func (s *Server) newJob(p *commonParams) (*job, error) {
	if err := s.checkModel(p.Model); err != nil {
		return nil, err
	}
	if p.N != nil && *p.N != 1 {
		return nil, badRequest("n", "only n=1 is supported, got %d", *p.N)
	}
	for _, pen := range []struct {
		name string
		v    *float64
	}{{"presence_penalty", p.PresencePenalty}, {"frequency_penalty", p.FrequencyPenalty}} {
		if pen.v != nil && *pen.v != 0 {
			return nil, badRequest(pen.name, "%s is not supported (only 0)", pen.name)
		}
	}
	if len(p.LogitBias) > 0 {
		return nil, badRequest("logit_bias", "logit_bias is not supported")
	}
	j := &job{maxTokens: -1, sampling: generate.Sampling{Temperature: 1}}
	if t := p.Temperature; t != nil {
		if *t < 0 || *t > maxTemperature {
			return nil, badRequest("temperature", "temperature %v must be in [0, %d]", *t, maxTemperature)
		}
		j.sampling.Temperature = *t
	}
	if tp := p.TopP; tp != nil {
		switch {
		case *tp < 0 || *tp > 1:
			return nil, badRequest("top_p", "top_p %v must be in [0, 1]", *tp)
		case *tp == 0:
			j.sampling.Temperature = 0 // the limit of an ever smaller nucleus: greedy
		default:
			j.sampling.TopP = *tp
		}
	}
	if k := p.TopK; k != nil {
		if *k < -1 {
			return nil, badRequest("top_k", "top_k %d must be positive, or 0 or -1 for no limit", *k)
		}
		j.sampling.TopK = max(*k, 0)
	}
	if p.Seed != nil {
		j.sampling.Seed = uint64(*p.Seed)
	}
	if p.MaxTokens != nil {
		if *p.MaxTokens < 0 {
			return nil, badRequest("max_tokens", "max_tokens %d must not be negative", *p.MaxTokens)
		}
		j.maxTokens = *p.MaxTokens
	}
	stops, err := parseStop(p.Stop)
	if err != nil {
		return nil, err
	}
	j.stops = stops
	if !p.IgnoreEOS {
		j.stopIDs = s.info.StopIDs
	}
	return j, nil
}

// setPrune chooses the pruner: the request's "sdtp.prune", else the
// server's default. A request that scores its prompt (echo with logprobs)
// is pruned too, its continuation (the last sdtp.score_tail tokens, else
// the server's ScoreTail) left untouched; score_tail on any other request
// is refused.
func (s *Server) setPrune(j *job, p *sdtpParams, scoresPrompt bool) error {
	j.scoreTail = -1
	var tail *int
	if p != nil {
		tail = p.ScoreTail
	}
	switch {
	case tail != nil && !scoresPrompt:
		return badRequest("sdtp.score_tail", "score_tail applies to requests that score their prompt (echo with logprobs)")
	case tail != nil && *tail < 0:
		return badRequest("sdtp.score_tail", "score_tail %d must not be negative", *tail)
	}
	name := s.o.DefaultPrune
	if p != nil && p.Prune != "" && p.Prune != "default" {
		name = p.Prune
	}
	if name == "" || name == "off" {
		j.prune = "off"
		return nil
	}
	if s.o.Pruners == nil {
		return badRequest("sdtp.prune", "this server has no pruning configured (start it with --prune-module or --prune-scorer)")
	}
	pr, err := s.o.Pruners(name)
	if err != nil {
		return badRequest("sdtp.prune", "schedule %q: %v", name, err)
	}
	j.prune, j.pruner = name, pr
	if d, ok := pr.(fmt.Stringer); ok {
		j.schedule = d.String()
	}
	if scoresPrompt {
		j.scoreTail = s.o.ScoreTail
		if tail != nil {
			j.scoreTail = *tail
		}
	}
	return nil
}

// encodeText tokenizes a text prompt as the model expects it (BOS added
// where the tokenizer adds one); an empty prompt becomes BOS. A text the
// chat template rendered is encoded as it is.
func (s *Server) encodeText(j *job, text string) ([]int, error) {
	if s.o.Tokenizer == nil {
		return nil, noTokenizer(j.param)
	}
	if j.rendered {
		return s.o.Tokenizer.Encode(text), nil
	}
	ids := s.o.Tokenizer.EncodeWithSpecial(text)
	if len(ids) == 0 {
		bos := s.o.Tokenizer.BOS()
		if bos < 0 {
			return nil, badRequest(j.param, "the prompt is empty and the model has no BOS token to start from")
		}
		ids = []int{bos}
	}
	return ids, nil
}

// checkTexts refuses, before any tokenizing, text prompts that cannot fit
// the context: a text of n bytes has at least n/MaxTokenBytes tokens.
func (s *Server) checkTexts(j *job) error {
	if s.o.Tokenizer == nil {
		return noTokenizer(j.param)
	}
	per := s.o.Tokenizer.MaxTokenBytes()
	if per <= 0 {
		return nil
	}
	for i, text := range j.texts {
		least := (len(text) + per - 1) / per
		if err := s.checkFits(j, i, least, fmt.Sprintf("at least %d tokens (%d bytes of text; a token stands for at most %d)", least, len(text), per)); err != nil {
			return err
		}
	}
	return nil
}

// encodePrompts tokenizes the job's text prompts and checks them. It runs
// once the job holds a generation slot, so that the memory tokenizing
// takes is bounded by MaxConcurrent, not by the requests arriving.
func (s *Server) encodePrompts(j *job) error {
	if j.texts == nil {
		return nil // token ids, checked as they came
	}
	j.prompts = make([][]int, 0, len(j.texts))
	for _, text := range j.texts {
		ids, err := s.encodeText(j, text)
		if err != nil {
			return err
		}
		j.prompts = append(j.prompts, ids)
	}
	return s.checkPrompts(j)
}

// checkPrompts validates every prompt against the vocabulary and the
// context length.
func (s *Server) checkPrompts(j *job) error {
	for i, ids := range j.prompts {
		if len(ids) == 0 {
			return badRequest(j.param, "prompt %d is empty", i)
		}
		if err := checkIDs(ids, s.info.Vocab, j.param); err != nil {
			return err
		}
		if err := s.checkFits(j, i, len(ids), fmt.Sprintf("%d tokens", len(ids))); err != nil {
			return err
		}
	}
	return nil
}

// checkFits refuses prompt i, of n tokens (described by has), when it
// leaves no room in the context for the new tokens asked for.
func (s *Server) checkFits(j *job, i, n int, has string) error {
	ctxLen := s.o.MaxContext
	switch {
	case ctxLen <= 0:
	case j.maxTokens < 0 && n >= ctxLen:
		return badRequestCode(j.param, "context_length_exceeded", "this model's maximum context length is %d tokens, but prompt %d has %s, leaving no room for new ones", ctxLen, i, has)
	case n+max(j.maxTokens, 0) > ctxLen:
		return badRequestCode(j.param, "context_length_exceeded", "this model's maximum context length is %d tokens, but prompt %d has %s and max_tokens asks for %d more", ctxLen, i, has, j.maxTokens)
	}
	return nil
}

// maxTokensFor returns the new-token budget of prompt i.
func (s *Server) maxTokensFor(j *job, i int) int {
	if j.maxTokens >= 0 {
		return j.maxTokens
	}
	if s.o.MaxContext > 0 {
		return s.o.MaxContext - len(j.prompts[i])
	}
	return defaultOpenMaxTokens
}

// defaultOpenMaxTokens is the budget of a request without max_tokens on a
// model with no context limit.
const defaultOpenMaxTokens = 4096

// decoder renders token ids as text.
func (s *Server) decoder() generate.Decoder {
	if s.o.Tokenizer != nil {
		return s.o.Tokenizer
	}
	return idDecoder{}
}

// admit waits for a generation slot (a full queue gives 429), then
// tokenizes the job's text prompts under it; the returned function frees
// the slot.
func (s *Server) admit(ctx context.Context, j *job) (func(), error) {
	release, err := s.acquire(ctx, s.adm)
	if err != nil {
		return nil, err
	}
	if err := s.encodePrompts(j); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// acquire waits for a place in a; a full queue gives 429.
func (s *Server) acquire(ctx context.Context, a *admission) (func(), error) {
	start := time.Now()
	release, err := a.acquire(ctx)
	if errors.Is(err, errBusy) {
		e := newError(http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded", "the server is busy (%d running, queue of %d full); retry later", s.o.MaxConcurrent, s.o.Queue)
		e.RetryAfter = s.o.RetryAfter
		return nil, e
	}
	if err != nil {
		return nil, ctxError(ctx) // acquire fails otherwise only when ctx ends
	}
	stats(ctx).queued = time.Since(start)
	return release, nil
}

// run generates the continuation of prompt i, sending text to onText
// (may be nil) as it becomes final.
func (s *Server) run(ctx context.Context, j *job, i int, onText func(string) error) (*generate.Result, error) {
	req := generate.Request{
		Prompt:         j.prompts[i],
		MaxTokens:      s.maxTokensFor(j, i),
		Sampling:       j.sampling,
		StopIDs:        j.stopIDs,
		StopStrings:    j.stops,
		Pruner:         j.pruner,
		H2O:            j.h2o,
		Logprobs:       j.logprobs,
		TopLogprobs:    j.top,
		PromptLogprobs: j.echo && j.logprobs,
		Continuation:   max(j.scoreTail, 0),
		OnText:         onText,
	}
	res, err := s.eng.Generate(ctx, req, s.decoder())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx)
		}
		return nil, fmt.Errorf("generation failed: %w", err)
	}
	return res, nil
}

// usage is the token accounting of a response, with sdtp's pruning figures.
type usage struct {
	PromptTokens     int        `json:"prompt_tokens"`
	CompletionTokens int        `json:"completion_tokens"`
	TotalTokens      int        `json:"total_tokens"`
	SDTP             *sdtpUsage `json:"sdtp,omitempty"`
}

// sdtpUsage reports what ran: the schedule (and what the pruner does), a
// prompt-scoring request's continuation and the prompt tokens left without
// a logprob, the tokens alive in each decoder block during prefill
// (summed over the request's prompts), and the H2O KV budget of decoding
// with the tokens it evicted.
type sdtpUsage struct {
	Prune    string `json:"prune"`
	Schedule string `json:"schedule,omitempty"`
	// ScoreTail is the continuation of each prompt left unpruned, for a
	// request that scores its prompt under pruning.
	ScoreTail *int `json:"score_tail,omitempty"`
	// UnscoredPromptTokens counts the prompt tokens after the first whose
	// logprob is null: before the score tail, or (score tail 0) after a
	// row pruning dropped.
	UnscoredPromptTokens *int    `json:"unscored_prompt_tokens,omitempty"`
	AliveLastLayer       int     `json:"alive_tokens_last_layer"`
	AlivePerLayer        []int   `json:"alive_tokens_per_layer"`
	PrefillSeconds       float64 `json:"prefill_seconds"`
	DecodeSeconds        float64 `json:"decode_seconds"`
	// H2O is the KV budget decoding kept ("0.4 recent 0.5"; absent without
	// one) and KVEvicted the tokens it evicted, summed over the layers.
	H2O       string `json:"h2o,omitempty"`
	KVEvicted int    `json:"kv_evicted,omitempty"`
}

func newUsage(j *job) *usage {
	sd := &sdtpUsage{Prune: j.prune, Schedule: j.schedule, AlivePerLayer: []int{}, H2O: h2oName(j.h2o)}
	if j.scoreTail >= 0 {
		tail, pruned := j.scoreTail, 0
		sd.ScoreTail, sd.UnscoredPromptTokens = &tail, &pruned
	}
	return &usage{SDTP: sd}
}

// add counts one prompt's result.
func (u *usage) add(res *generate.Result) {
	u.PromptTokens += res.PromptTokens
	u.CompletionTokens += len(res.Tokens)
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	sd := u.SDTP
	for len(sd.AlivePerLayer) < len(res.Alive) {
		sd.AlivePerLayer = append(sd.AlivePerLayer, 0)
	}
	for l, n := range res.Alive {
		sd.AlivePerLayer[l] += n
	}
	if n := len(res.Alive); n > 0 {
		sd.AliveLastLayer += res.Alive[n-1]
	}
	if sd.UnscoredPromptTokens != nil {
		*sd.UnscoredPromptTokens += res.UnscoredPromptTokens
	}
	sd.PrefillSeconds += res.PrefillSeconds
	sd.DecodeSeconds += res.DecodeSeconds
	if res.H2O != nil {
		sd.KVEvicted += res.H2O.Evicted
	}
}

// record copies the usage into the access log record.
func (u *usage) record(ctx context.Context) {
	st := stats(ctx)
	st.promptTokens, st.completionTokens = u.PromptTokens, u.CompletionTokens
	st.sdtp = u.SDTP
}
