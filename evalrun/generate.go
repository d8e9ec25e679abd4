package evalrun

import (
	"context"
	"sync"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/tokenizer"
)

// GenRequest is one generation: greedy decoding of up to MaxNewTokens
// tokens after Prompt.
type GenRequest struct {
	// Prompt is the final prompt text (already truncated and wrapped in
	// the chat template where the suite uses one); the generator tokenizes
	// it as Hugging Face's tokenizer(prompt) does (EncodePrompt).
	Prompt       string
	MaxNewTokens int
	// StopAtNewline is LongBench pred.py's samsum rule: the newline token
	// ends generation like EOS does, and neither may be the first new
	// token (min_length = prompt length + 1).
	StopAtNewline bool
}

// GenResult is what a generation produced and measured.
type GenResult struct {
	Text         string  // the new tokens decoded, special tokens skipped
	PromptTokens int     // tokens in the prompt
	AliveTokens  int     // prompt tokens alive after the last pruning stage (PromptTokens without pruning)
	Seconds      float64 // wall time of prefill and decoding
}

// Generator runs the model. Implementations must be deterministic for a
// run's resume to make sense (greedy decoding).
type Generator interface {
	Generate(ctx context.Context, req GenRequest) (GenResult, error)
}

// ModelGenerator is the Generator of the inference engine, decoding as
// LongBench's pred.py and RULER's Hugging Face wrapper
// (scripts/pred/model_wrappers.py) do: greedy; the prompt encoded as
// tokenizer(prompt) with one BOS (EncodePrompt); generation ends at the
// stop ids, and with StopAtNewline also at the newline token, neither of
// which may then be the first new token (pred.py's samsum rule); the new
// tokens decoded with special tokens skipped.
type ModelGenerator struct {
	// run generates on the engine: generate.Run on a model, or a
	// generate.Batcher's Generate.
	run     func(context.Context, generate.Decoder, generate.Request) (*generate.Result, error)
	tok     tokenizer.Tokenizer
	pruner  model.Pruner
	h2o     *h2o.Budget
	stop    []int
	newline int // -1 when the tokenizer has no newline token
}

// NewModelGenerator makes a generator for m with its tokenizer, the ids
// that end generation (model.Config.StopIDs) and a pruner (nil for none).
func NewModelGenerator(m *model.Model, tok tokenizer.Tokenizer, stop []int, pruner model.Pruner) *ModelGenerator {
	return newGenerator(func(ctx context.Context, dec generate.Decoder, req generate.Request) (*generate.Result, error) {
		return generate.Run(ctx, m, dec, req)
	}, tok, stop, pruner)
}

// NewBatchGenerator is NewModelGenerator on a batcher's model: the
// generations of calls made at once (Config.InFlight) decode together,
// each with the result it gets alone (bit for bit on the CPU).
func NewBatchGenerator(bt *generate.Batcher, tok tokenizer.Tokenizer, stop []int, pruner model.Pruner) *ModelGenerator {
	return newGenerator(func(ctx context.Context, dec generate.Decoder, req generate.Request) (*generate.Result, error) {
		return bt.Generate(ctx, dec, req)
	}, tok, stop, pruner)
}

func newGenerator(run func(context.Context, generate.Decoder, generate.Request) (*generate.Result, error), tok tokenizer.Tokenizer, stop []int, pruner model.Pruner) *ModelGenerator {
	g := &ModelGenerator{run: run, tok: tok, pruner: pruner, stop: stop, newline: -1}
	if nl := tok.Encode("\n"); len(nl) > 0 {
		g.newline = nl[len(nl)-1] // pred.py: tokenizer.encode("\n", add_special_tokens=False)[-1]
	}
	return g
}

// WithH2O makes every generation keep the H2O KV budget b during decoding
// (nil: none) and returns g.
func (g *ModelGenerator) WithH2O(b *h2o.Budget) *ModelGenerator {
	g.h2o = b
	return g
}

// EncodePrompt tokenizes a final prompt (truncated and templated) as the
// model receives it: tokenizer(prompt) with the tokenizer's BOS, but one
// BOS only where the chat template wrote it already.
func EncodePrompt(tok interface {
	EncodeWithSpecial(text string) []int
	BOS() int
}, prompt string) []int {
	ids := tok.EncodeWithSpecial(prompt)
	if bos := tok.BOS(); bos >= 0 && len(ids) >= 2 && ids[0] == bos && ids[1] == bos {
		ids = ids[1:]
	}
	return ids
}

// skipSpecial decodes as pred.py does (skip_special_tokens=True).
type skipSpecial struct{ tok tokenizer.Tokenizer }

func (s skipSpecial) Decode(ids []int) string { return s.tok.DecodeSkipSpecial(ids) }

// Generate implements Generator.
func (g *ModelGenerator) Generate(ctx context.Context, req GenRequest) (GenResult, error) {
	stop, minTokens := g.stop, 0
	if req.StopAtNewline && g.newline >= 0 {
		stop = append(append([]int(nil), stop...), g.newline)
	}
	if req.StopAtNewline {
		minTokens = 1
	}
	res, err := g.run(ctx, skipSpecial{g.tok}, generate.Request{
		Prompt:    EncodePrompt(g.tok, req.Prompt),
		MaxTokens: req.MaxNewTokens,
		StopIDs:   stop,
		Pruner:    g.pruner,
		H2O:       g.h2o,
		MinTokens: minTokens,
	})
	if err != nil {
		return GenResult{}, err
	}
	alive := res.PromptTokens
	if g.pruner != nil && len(res.Alive) > 0 {
		alive = res.Alive[len(res.Alive)-1]
	}
	return GenResult{
		Text:         res.Text,
		PromptTokens: res.PromptTokens,
		AliveTokens:  alive,
		Seconds:      res.PrefillSeconds + res.DecodeSeconds,
	}, nil
}

// Pool spreads generations over several generators, one engine per GPU:
// each call goes to the generator with the fewest calls running (the
// first of those). Generations are deterministic, so which engine runs a
// row does not change its result beyond the engines' rounding.
type Pool struct {
	gens []Generator
	mu   sync.Mutex
	busy []int
}

// NewPool makes a pool of gens (at least one).
func NewPool(gens ...Generator) *Pool {
	return &Pool{gens: gens, busy: make([]int, len(gens))}
}

// Generate implements Generator.
func (p *Pool) Generate(ctx context.Context, req GenRequest) (GenResult, error) {
	p.mu.Lock()
	best := 0
	for i, n := range p.busy {
		if n < p.busy[best] {
			best = i
		}
	}
	p.busy[best]++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.busy[best]--
		p.mu.Unlock()
	}()
	return p.gens[best].Generate(ctx, req)
}
