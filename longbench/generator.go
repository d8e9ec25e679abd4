package longbench

import (
	"context"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/tokenizer"
)

// ModelGenerator is the Generator of the inference engine, with pred.py's
// decoding rules: greedy; the prompt encoded as tokenizer(prompt) with one
// BOS (EncodePrompt); generation ends at the stop ids; for samsum
// (StopAtNewline) also at the newline token, and neither may be the first
// new token (pred.py's min_length of the prompt + 1); the new tokens
// decoded with special tokens skipped.
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
