package generate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/prune"
)

// TestH2OBudgetAboveLengthIsPlainDecoding: with a budget no cache ever
// reaches (prompt plus new tokens), every request of every kind, pruned
// or not, gets exactly the plain generation (tokens and logprobs bit for
// bit), and nothing is evicted.
func TestH2OBudgetAboveLengthIsPlainDecoding(t *testing.T) {
	m := tinyModel(t)
	for i, req := range batchRequests(t, m) {
		if req.H2O != nil {
			continue
		}
		want, err := generate.Run(context.Background(), m, idText{}, req)
		if err != nil {
			t.Fatal(err)
		}
		req.H2O = &h2o.Budget{Keep: h2o.Amount{Tokens: len(req.Prompt) + req.MaxTokens, Counted: true}, Recent: h2o.DefaultRecent}
		got, err := generate.Run(context.Background(), m, idText{}, req)
		if err != nil {
			t.Fatal(err)
		}
		if got.H2O == nil || got.H2O.Evicted != 0 {
			t.Fatalf("request %d: H2O account %+v, want nothing evicted", i, got.H2O)
		}
		got.H2O = nil
		if err := sameResult(got, want); err != nil {
			t.Errorf("request %d: with a budget above its length it differs from plain decoding: %v", i, err)
		}
	}
}

// TestH2OKeepsBudget checks what a budget does to the cache: after the
// prefill each layer holds min(tokens, budget), and each decode step that
// takes a layer over its budget evicts exactly one token, which the
// account counts; the budget changes the output.
func TestH2OKeepsBudget(t *testing.T) {
	m := tinyModel(t)
	for _, tc := range []struct {
		keep, recent string
		prompt, max  int
	}{
		{"0.4", "", 40, 12},
		{"30", "5", 20, 25}, // the cache fills to its budget during decoding, then evicts
		{"0.5", "0", 33, 6},
	} {
		t.Run(fmt.Sprintf("%s_%s", tc.keep, tc.recent), func(t *testing.T) {
			budget, err := h2o.Parse(tc.keep, tc.recent)
			if err != nil {
				t.Fatal(err)
			}
			prompt := make([]int, tc.prompt)
			for i := range prompt {
				prompt[i] = 3 + (i*37)%500
			}
			req := generate.Request{Prompt: prompt, MaxTokens: tc.max, Logprobs: true, H2O: &budget}
			res, err := generate.Run(context.Background(), m, idText{}, req)
			if err != nil {
				t.Fatal(err)
			}
			keep, _ := budget.Sizes(tc.prompt)
			steps := len(res.Tokens) - 1 // decode steps: the first token comes from the prefill
			want := 0
			for l := range m.Config.Layers {
				if got := res.KVTokens[l]; got != min(tc.prompt, keep) || res.H2O.Keep[l] != keep {
					t.Fatalf("layer %d: %d tokens after the prefill, budget %d; want %d and %d", l, got, res.H2O.Keep[l], min(tc.prompt, keep), keep)
				}
				want += max(0, tc.prompt+steps-keep)
			}
			if res.H2O.Evicted != want || res.H2O.Budget != budget.String() {
				t.Errorf("account %+v, want %d evicted under %s", res.H2O, want, budget)
			}
			plain, err := generate.Run(context.Background(), m, idText{}, generate.Request{Prompt: prompt, MaxTokens: tc.max, Logprobs: true})
			if err != nil {
				t.Fatal(err)
			}
			if sameTokens(plain.Tokens, res.Tokens) == nil {
				t.Errorf("the budget changed nothing (tokens and logprobs as plain decoding)")
			}
		})
	}
}

// TestH2OLeavesScoredPromptAlone: a pruned request that scores its prompt
// with a continuation gets the same prompt logprobs and first token with
// an H2O budget as without, since they come from the prefill and the
// budget evicts only after it; the budget still evicts.
func TestH2OLeavesScoredPromptAlone(t *testing.T) {
	m := tinyModel(t)
	prompt := make([]int, 60)
	for i := range prompt {
		prompt[i] = 3 + (i*41)%500
	}
	pr := &prune.Pruner{Schedule: prune.Schedule{Locations: []int{2, 5}, Ratio: 0.7}, Scorer: prune.RecentScorer{}}
	req := generate.Request{Prompt: prompt, MaxTokens: 4, Pruner: pr, PromptLogprobs: true, TopLogprobs: 2, Logprobs: true, Continuation: 7}
	plain, err := generate.Run(context.Background(), m, idText{}, req)
	if err != nil {
		t.Fatal(err)
	}
	req.H2O = &h2o.Budget{Keep: h2o.Amount{Fraction: 0.4}, Recent: h2o.DefaultRecent}
	got, err := generate.Run(context.Background(), m, idText{}, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.H2O == nil || got.H2O.Evicted == 0 {
		t.Fatalf("H2O account %+v: the budget evicted nothing", got.H2O)
	}
	if err := sameTokens(got.PromptLogprobs, plain.PromptLogprobs); err != nil {
		t.Errorf("prompt logprobs differ under the budget: %v", err)
	}
	if got.UnscoredPromptTokens != plain.UnscoredPromptTokens || got.Continuation != plain.Continuation {
		t.Errorf("unscored %d, continuation %d; without the budget %d, %d", got.UnscoredPromptTokens, got.Continuation, plain.UnscoredPromptTokens, plain.Continuation)
	}
	if err := sameTokens(got.Tokens[:1], plain.Tokens[:1]); err != nil {
		t.Errorf("first token differs under the budget: %v", err)
	}
}
