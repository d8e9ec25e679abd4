package h2o_test

import (
	"context"
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
)

// TestCUDABudgetAboveLengthIsPlainDecoding runs on the GPU's bf16 backend
// (opt-in, as TestCUDAF32MatchesFloat64Reference): computing the attention
// mass must not disturb decoding, so a budget no cache reaches gives
// exactly the tokens and logprobs of plain decoding; a real budget keeps
// every layer at it.
func TestCUDABudgetAboveLengthIsPlainDecoding(t *testing.T) {
	c := testmodel.Config(t, "qwen2-small")
	m := testmodel.Synthetic(t, testmodel.Backend(t, "cuda", backend.Options{}), c, model.SyntheticOptions{Seed: 5, DType: backend.BF16})
	prompt := make([]int, 3000)
	for i := range prompt {
		prompt[i] = 100 + (i*7919)%100000
	}
	const newTokens = 40
	req := generate.Request{Prompt: prompt, MaxTokens: newTokens, Logprobs: true}
	plain, err := generate.Run(context.Background(), m, nil, req)
	if err != nil {
		t.Fatal(err)
	}
	req.H2O = &h2o.Budget{Keep: h2o.Amount{Tokens: len(prompt) + newTokens, Counted: true}, Recent: h2o.DefaultRecent}
	same, err := generate.Run(context.Background(), m, nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if same.H2O.Evicted != 0 || len(same.Tokens) != len(plain.Tokens) {
		t.Fatalf("budget above the length: %+v, %d tokens against %d", same.H2O, len(same.Tokens), len(plain.Tokens))
	}
	for i, tok := range plain.Tokens {
		if got := same.Tokens[i]; got.ID != tok.ID || math.Float64bits(got.Logprob) != math.Float64bits(tok.Logprob) {
			t.Fatalf("token %d: %+v with the budget, %+v without", i, got, tok)
		}
	}
	req.H2O = &h2o.Budget{Keep: h2o.Amount{Fraction: 0.4}, Recent: h2o.DefaultRecent}
	res, err := generate.Run(context.Background(), m, nil, req)
	if err != nil {
		t.Fatal(err)
	}
	keep := int(math.Round(0.4 * float64(len(prompt))))
	for l, n := range res.KVTokens {
		if n != keep || res.H2O.Keep[l] != keep {
			t.Errorf("layer %d: %d tokens after the prefill, budget %d; want %d", l, n, res.H2O.Keep[l], keep)
		}
	}
	if want := c.Layers * (len(prompt) + len(res.Tokens) - 1 - keep); res.H2O.Evicted != want {
		t.Errorf("%d evicted, want %d", res.H2O.Evicted, want)
	}
}
