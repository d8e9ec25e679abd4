package main

import (
	"context"
	"fmt"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/longbench"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/tokenizer"
)

// This file is the only place where `sdtp longbench run` meets the
// inference engine: it turns the shared engine and pruning flags into the
// longbench.Generator and longbench.Tokenizer the runner drives.

// longbenchEngine is an opened model ready for the runner.
type longbenchEngine struct {
	gen      longbench.Generator
	tok      tokenizer.Tokenizer
	settings map[string]string // what identifies the run in meta.json
	info     map[string]string // recorded in meta.json, not compared on resume
	maxPos   int
	close    func()
}

// openLongbenchEngine opens the backend, model, tokenizer and pruner that
// the flags name.
func openLongbenchEngine(ef *engineFlags, pf *pruneFlags) (*longbenchEngine, error) {
	if ef.model == "" {
		return nil, fmt.Errorf("--model is required")
	}
	eng, err := ef.open()
	if err != nil {
		return nil, err
	}
	b, m, tok := eng.b, eng.m, eng.tok
	if tok == nil {
		eng.Close()
		return nil, fmt.Errorf("--tokenizer is required: LongBench prompts are text")
	}
	pr, cleanup, err := pf.pruner(m)
	if err != nil {
		eng.Close()
		return nil, err
	}
	g := &engineGenerator{m: m, tok: tok, pruner: pr, stop: append(append([]int(nil), m.Config.EOS...), tok.EOS()...)}
	if nl := tok.Encode("\n"); len(nl) > 0 {
		g.newline = nl[len(nl)-1] // pred.py: tokenizer.encode("\n", add_special_tokens=False)[-1]
	} else {
		g.newline = -1
	}
	settings := map[string]string{
		"model":     ef.model,
		"tokenizer": ef.tokenizer,
		"backend":   b.Name(),
		"pruning":   "off",
	}
	if pr != nil {
		settings["pruning"] = fmt.Sprintf("module=%s preset=%s layers=%s keep_ratio=%g scorer=%s seed=%d",
			pf.module, pf.preset, pf.layers, pf.ratio, pf.scorer, pf.seed)
	}
	return &longbenchEngine{
		gen:      g,
		tok:      tok,
		settings: settings,
		info:     map[string]string{"device": b.Device(), "model_name": m.Config.Name},
		maxPos:   m.Config.MaxPos,
		close: func() {
			cleanup()
			m.Close()
			b.Close()
		},
	}, nil
}

// engineGenerator runs greedy generation with the engine.
type engineGenerator struct {
	m       *model.Model
	tok     tokenizer.Tokenizer
	pruner  model.Pruner
	stop    []int
	newline int
}

// skipSpecial decodes as pred.py does (skip_special_tokens=True).
type skipSpecial struct{ tok tokenizer.Tokenizer }

func (s skipSpecial) Decode(ids []int) string { return s.tok.DecodeSkipSpecial(ids) }

// Generate implements longbench.Generator. With StopAtNewline the newline
// token ends generation like EOS, and neither may be the first new token
// (pred.py's samsum rule: eos_token_id plus the newline id, min_length of
// the prompt + 1).
func (g *engineGenerator) Generate(ctx context.Context, req longbench.GenRequest) (longbench.GenResult, error) {
	ids := longbench.EncodePrompt(g.tok, req.Prompt)
	stop := g.stop
	if req.StopAtNewline && g.newline >= 0 {
		stop = append(append([]int(nil), stop...), g.newline)
	}
	res, err := generate.Run(ctx, g.m, skipSpecial{g.tok}, generate.Request{
		Prompt:    ids,
		MaxTokens: req.MaxNewTokens,
		StopIDs:   stop,
		Pruner:    g.pruner,
		MinTokens: minTokens(req.StopAtNewline),
	})
	if err != nil {
		return longbench.GenResult{}, err
	}
	alive := res.PromptTokens
	if g.pruner != nil && len(res.Alive) > 0 {
		alive = res.Alive[len(res.Alive)-1]
	}
	return longbench.GenResult{
		Text:         res.Text,
		PromptTokens: res.PromptTokens,
		AliveTokens:  alive,
		Seconds:      res.PrefillSeconds + res.DecodeSeconds,
	}, nil
}

var (
	_ longbench.Generator = (*engineGenerator)(nil)
	_ longbench.Tokenizer = tokenizer.Tokenizer(nil)
)

// minTokens is 1 for samsum (its stop ids may not come first), else 0.
func minTokens(stopAtNewline bool) int {
	if stopAtNewline {
		return 1
	}
	return 0
}
