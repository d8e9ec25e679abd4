package evalrun

import (
	"context"

	"github.com/sdtp/sdtp/generate"
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
	m       *model.Model
	tok     tokenizer.Tokenizer
	pruner  model.Pruner
	stop    []int
	newline int // -1 when the tokenizer has no newline token
}

// NewModelGenerator makes a generator for m with its tokenizer, the ids
// that end generation (model.Config.StopIDs) and a pruner (nil for none).
func NewModelGenerator(m *model.Model, tok tokenizer.Tokenizer, stop []int, pruner model.Pruner) *ModelGenerator {
	g := &ModelGenerator{m: m, tok: tok, pruner: pruner, stop: stop, newline: -1}
	if nl := tok.Encode("\n"); len(nl) > 0 {
		g.newline = nl[len(nl)-1] // pred.py: tokenizer.encode("\n", add_special_tokens=False)[-1]
	}
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
	res, err := generate.Run(ctx, g.m, skipSpecial{g.tok}, generate.Request{
		Prompt:    EncodePrompt(g.tok, req.Prompt),
		MaxTokens: req.MaxNewTokens,
		StopIDs:   stop,
		Pruner:    g.pruner,
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
