package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"testing"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
)

// realModel is a small model on the CPU backend, with its tokenizer when it
// has one.
type realModel struct {
	name string
	m    *model.Model
	tok  Tokenizer // nil for synthetic models
}

// stories260K is the llama2.c tiny story model with its 512-token tokenizer.
func stories260K(t testing.TB) realModel {
	return realModel{name: "stories260K", m: testmodel.Stories260K(t), tok: testmodel.Tokenizer(t, "llama2c/tok512.bin")}
}

// syntheticTiny is the tiny random-weight model, driven by token ids.
func syntheticTiny(t testing.TB) realModel {
	return realModel{name: "synthetic:tiny", m: testmodel.Open(t, testmodel.CPU(t), "synthetic:tiny")}
}

// stopIDs are the ids that end generation on rm.
func (rm realModel) stopIDs() []int {
	var eos []int
	if rm.tok != nil {
		eos = rm.tok.EOS()
	}
	return rm.m.Config.StopIDs(eos)
}

// serveReal serves rm on a loopback httptest server.
func serveReal(t *testing.T, rm realModel) *testEnv {
	return serveRealWith(t, rm, Options{})
}

// serveRealWith serves rm with the options o adds (pruning, score tail),
// logging as JSON into the env's logs.
func serveRealWith(t *testing.T, rm realModel, o Options) *testEnv {
	t.Helper()
	o.ModelName, o.Chat, o.MaxConcurrent = rm.name, chatML, 2
	if rm.tok != nil {
		o.Tokenizer = rm.tok
	}
	logs := &syncBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	eng := &ModelEngine{Model: rm.m, StopIDs: rm.stopIDs()}
	s, err := New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, s: s, logs: logs}
	env.srv = newLoopbackServer(t, s.Handler())
	return env
}

// directLoglikelihood computes what lm-eval wants from one forward pass
// over ids with every position's logits: the summed logprob of ids[ctxlen:]
// and whether each of those tokens is the argmax.
func directLoglikelihood(t *testing.T, m *model.Model, ids []int, ctxlen int) (float64, bool) {
	t.Helper()
	cache := m.NewCache(0)
	defer cache.Free()
	pos := make([]int32, len(ids))
	for i := range pos {
		pos[i] = int32(i)
	}
	logits, err := m.Forward(context.Background(), ids, pos, cache, model.ForwardOptions{AllLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	v := m.Config.Vocab
	sum, greedy := 0.0, true
	for i := ctxlen; i < len(ids); i++ {
		row := logits[(i-1)*v : i*v]
		sum += generate.LogSoftmax(row)[ids[i]]
		if generate.Argmax(row) != ids[i] {
			greedy = false
		}
	}
	return sum, greedy
}

// lmEvalParseLogprobs is lm-eval's LocalCompletionsAPI.parse_logprobs: per
// choice (sorted by index), the sum of token_logprobs[ctxlen:-1] and
// whether each such logprob equals the best of its top_logprobs.
func lmEvalParseLogprobs(t *testing.T, body []byte, ctxlens []int) [][2]any {
	t.Helper()
	var out struct {
		Choices []struct {
			Index    int `json:"index"`
			Logprobs struct {
				TokenLogprobs []*float64           `json:"token_logprobs"`
				TopLogprobs   []map[string]float64 `json:"top_logprobs"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	sort.Slice(out.Choices, func(a, b int) bool { return out.Choices[a].Index < out.Choices[b].Index })
	var res [][2]any
	for k, c := range out.Choices {
		lp := c.Logprobs
		n := len(lp.TokenLogprobs)
		sum, greedy := 0.0, true
		for i := ctxlens[k]; i < n-1; i++ {
			if lp.TokenLogprobs[i] == nil {
				t.Fatalf("choice %d: token_logprobs[%d] is null", k, i)
			}
			sum += *lp.TokenLogprobs[i]
			best := math.Inf(-1)
			for _, v := range lp.TopLogprobs[i] {
				best = math.Max(best, v)
			}
			if *lp.TokenLogprobs[i] != best {
				greedy = false
			}
		}
		res = append(res, [2]any{sum, greedy})
	}
	return res
}

// lmEvalPair is lm-eval's _encode_pair with a tokenizer that adds no
// special tokens: the context's trailing spaces move to the continuation,
// and the continuation's ids are those of context+continuation past the
// context's.
func lmEvalPair(tok Tokenizer, ctx, cont string) (ctxIDs, contIDs []int) {
	for len(ctx) > 0 && ctx[len(ctx)-1] == ' ' {
		ctx, cont = ctx[:len(ctx)-1], " "+cont
	}
	whole := tok.Encode(ctx + cont)
	ctxIDs = tok.Encode(ctx)
	return ctxIDs, whole[len(ctxIDs):]
}

// TestLMEvalLoglikelihoodReplay sends lm-eval's exact loglikelihood
// payloads (local-completions, tokenized requests: max_tokens 1, echo,
// logprobs 1, a list of token lists) and parses the answer as lm-eval does.
func TestLMEvalLoglikelihoodReplay(t *testing.T) {
	type pair struct{ ctx, cont []int }
	cases := []struct {
		name  string
		model func(testing.TB) realModel
		pairs func(rm realModel) []pair
	}{
		{"stories260K", stories260K, func(rm realModel) []pair {
			var ps []pair
			for _, p := range [][2]string{{"Once upon a time, there was a little", " girl"}, {"The cat sat on the", " mat and slept."}, {"Tom liked to play ", "with his ball"}} {
				c, x := lmEvalPair(rm.tok, p[0], p[1])
				ps = append(ps, pair{c, x})
			}
			return ps
		}},
		{"synthetic:tiny", syntheticTiny, func(realModel) []pair {
			return []pair{{[]int{1, 17, 300, 42, 9}, []int{77, 5}}, {[]int{1, 200}, []int{201, 202, 203}}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rm := tc.model(t)
			env := serveReal(t, rm)
			pairs := tc.pairs(rm)
			// batch_size 1: one request per pair; then batch_size 2 in one request.
			var prompts [][]int
			var ctxlens []int
			for _, p := range pairs {
				prompts = append(prompts, append(append([]int(nil), p.ctx...), p.cont...))
				ctxlens = append(ctxlens, len(p.ctx))
			}
			batches := [][]int{}
			for i := range prompts {
				batches = append(batches, []int{i})
			}
			batches = append(batches, []int{0, 1})
			for _, batch := range batches {
				var ps [][]int
				var cl []int
				for _, i := range batch {
					ps = append(ps, prompts[i])
					cl = append(cl, ctxlens[i])
				}
				body := env.post("/v1/completions", lmEvalLoglikelihoodPayload(rm.name, ps), http.StatusOK, nil)
				got := lmEvalParseLogprobs(t, body, cl)
				for k, i := range batch {
					sum, greedy := directLoglikelihood(t, rm.m, prompts[i], ctxlens[i])
					if d := math.Abs(got[k][0].(float64) - sum); d > 1e-5 || got[k][1].(bool) != greedy {
						t.Errorf("pair %d (batch %v): server (%v, %v), direct (%v, %v), diff %g", i, batch, got[k][0], got[k][1], sum, greedy, d)
					}
				}
			}
		})
	}
}

// TestLMEvalGenerateUntilReplay sends lm-eval's generate_until payloads
// (tokenized and as text) and checks the text against generate.Run.
func TestLMEvalGenerateUntilReplay(t *testing.T) {
	rm := stories260K(t)
	env := serveReal(t, rm)
	eos := rm.tok.TokenText(2)
	for _, ctxText := range []string{"Once upon a time", "Lily wanted to"} {
		for _, tokenized := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/tokenized=%v", ctxText, tokenized), func(t *testing.T) {
				var prompt any = ctxText
				ids := rm.tok.EncodeWithSpecial(ctxText)
				if tokenized {
					ids = rm.tok.Encode(ctxText) // add_special_tokens=add_bos_token, False by default
					prompt = [][]int{ids}
				}
				until := []string{"\n\n", "."}
				payload := map[string]any{"prompt": prompt, "model": rm.name, "max_tokens": 40, "temperature": 0, "stop": append(until, eos), "seed": 1234}
				var out completionOut
				env.post("/v1/completions", payload, http.StatusOK, &out)
				res, err := generate.Run(context.Background(), rm.m, rm.tok, generate.Request{Prompt: ids, MaxTokens: 40, StopIDs: rm.stopIDs(), StopStrings: append(until, eos)})
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Choices) != 1 || out.Choices[0].Text != res.Text || *out.Choices[0].FinishReason != res.FinishReason {
					t.Errorf("server %+v, direct %q (%s)", out.Choices, res.Text, res.FinishReason)
				}
				if res.Text == "" {
					t.Errorf("empty generation: the test compares nothing")
				}
			})
		}
	}
}
