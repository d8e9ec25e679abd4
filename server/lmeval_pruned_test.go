package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// lmEvalRequest is one loglikelihood request as lm-eval's
// _loglikelihood_tokens holds it: the encoded context and continuation.
type lmEvalRequest struct {
	ctx, cont []int
}

func (r lmEvalRequest) ids() []int { return append(append([]int(nil), r.ctx...), r.cont...) }

// lmEvalMultipleChoice builds the requests lm-eval's ConfigurableTask
// makes for a multiple_choice task: per document, (context, " " + choice)
// for every choice (target_delimiter " "), the context being the few-shot
// examples, each "Question: q\nAnswer: a", joined by "\n\n" and followed by
// the document's question; each pair encoded by _encode_pair.
func lmEvalMultipleChoice(tok Tokenizer, shots [][2]string, docs []mcDoc) [][]lmEvalRequest {
	var fewshot strings.Builder
	for _, s := range shots {
		fmt.Fprintf(&fewshot, "Question: %s\nAnswer: %s\n\n", s[0], s[1])
	}
	var out [][]lmEvalRequest
	for _, d := range docs {
		ctx := fewshot.String() + "Question: " + d.question + "\nAnswer:"
		var reqs []lmEvalRequest
		for _, c := range d.choices {
			ci, xi := lmEvalPair(tok, ctx, " "+c)
			reqs = append(reqs, lmEvalRequest{ci, xi})
		}
		out = append(out, reqs)
	}
	return out
}

type mcDoc struct {
	question string
	choices  []string
}

// lmEvalBatches orders requests as lm-eval's Collator does (longest
// context+continuation first, then by the tokens) and cuts them into
// batches of size; it returns the request indices of each batch.
func lmEvalBatches(reqs []lmEvalRequest, size int) [][]int {
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := reqs[order[a]].ids(), reqs[order[b]].ids()
		if len(x) != len(y) {
			return len(x) > len(y)
		}
		for k := range x {
			if x[k] != y[k] {
				return x[k] < y[k]
			}
		}
		return false
	})
	var out [][]int
	for lo := 0; lo < len(order); lo += size {
		out = append(out, order[lo:min(lo+size, len(order))])
	}
	return out
}

// lmEvalLoglikelihoodPayload is local-completions' loglikelihood request
// body (_create_payload with generate=False) for a batch of token lists.
func lmEvalLoglikelihoodPayload(model string, prompts [][]int) map[string]any {
	return map[string]any{"model": model, "prompt": prompts, "temperature": 0, "max_tokens": 1, "logprobs": 1, "seed": 1234, "echo": true}
}

// prunedLoglikelihood computes what lm-eval wants from a pruning engine
// another way than the server: a pruned prefill of the tokens before the
// last tail ones, then the tail teacher-forced one token at a time through
// the decode path (never pruned); it returns the summed logprob of
// ids[ctxlen:] and whether each of those tokens is the argmax.
func prunedLoglikelihood(t *testing.T, m *model.Model, pr model.Pruner, ids []int, ctxlen, tail int) (float64, bool) {
	t.Helper()
	n := len(ids)
	head := n - tail
	if ctxlen < head {
		t.Fatalf("continuation of %d tokens is longer than the score tail %d", n-ctxlen, tail)
	}
	cache := m.NewCache(tail)
	defer cache.Free()
	pos := make([]int32, head)
	for i := range pos {
		pos[i] = int32(i)
	}
	ctx := context.Background()
	logits, err := m.Forward(ctx, ids[:head], pos, cache, model.ForwardOptions{Pruner: pr})
	if err != nil {
		t.Fatal(err)
	}
	sum, greedy := 0.0, true
	for i := head; i < n; i++ {
		if i >= ctxlen {
			sum += generate.LogSoftmax(logits)[ids[i]]
			greedy = greedy && generate.Argmax(logits) == ids[i]
		}
		if i+1 < n {
			if logits, err = m.Forward(ctx, ids[i:i+1], []int32{int32(i)}, cache, model.ForwardOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return sum, greedy
}

// storyShots and storyDocs are a small multiple-choice task in the
// stories260K model's language, five-shot, long enough to be pruned.
var (
	storyShots = [][2]string{
		{"Lily had a red ball. She liked to throw it to her dog Max in the park. What color was the ball?", "red"},
		{"Tom saw a big tree near his house. He wanted to climb it, but his mom said it was too high. What did Tom want to climb?", "the tree"},
		{"Sue and Ben made a cake for their grandma. They put sugar and milk in it. Who was the cake for?", "grandma"},
		{"The little bird was sad because it could not fly. A kind girl helped it and it flew away. Why was the bird sad?", "it could not fly"},
		{"Once upon a time, a cat named Tim found a shiny box under the bed. Where did Tim find the box?", "under the bed"},
	}
	storyDocs = []mcDoc{
		{"Anna went to the beach with her dad. They built a big sand castle. Who went to the beach with Anna?", []string{"her dad", "her cat", "a bird", "the teacher"}},
		{"The boy was happy because he got a new toy car for his birthday. Why was the boy happy?", []string{"he got a toy car", "it was raining", "he lost his hat"}},
		{"Mia drank a cup of warm milk before she went to sleep. What did Mia drink?", []string{"milk", "juice", "water"}},
	}
)

// TestLMEvalPrunedReplay replays lm-eval's multiple-choice and
// loglikelihood payloads (local-completions, tokenized requests, batch
// sizes 1 and 4, in lm-eval's order) against a pruning server, which
// learns the continuation to protect from its score tail, and parses the
// answers as lm-eval does: every continuation's summed logprob and greedy
// flag equal those of a pruned prefill of the rest followed by
// teacher-forced decoding. The same payloads against an unpruned server
// give the unpruned model's. The response's usage and the access log say
// what ran.
func TestLMEvalPrunedReplay(t *testing.T) {
	rm := stories260K(t)
	c := &rm.m.Config
	sched := prune.Schedule{Locations: []int{2, 3, 4}, Ratio: 0.6}
	mod, err := prune.NewRandom(prune.ModelInfo{Name: c.Name, Hidden: c.Hidden, Layers: c.Layers}, sched, 0, 11)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := prune.NewModuleScorer(rm.m.B, mod)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()

	var reqs []lmEvalRequest
	for _, doc := range lmEvalMultipleChoice(rm.tok, storyShots, storyDocs) {
		reqs = append(reqs, doc...)
	}
	// A loglikelihood task as lambada builds it: the last word of a text.
	story := storyShots[0][0] + " " + storyShots[1][0] + " " + storyShots[2][0] + " The dog ran to the ball and brought it back to"
	ci, xi := lmEvalPair(rm.tok, story, " Lily")
	reqs = append(reqs, lmEvalRequest{ci, xi})
	const scoreTail = 8
	for _, r := range reqs {
		if len(r.cont) > scoreTail || len(r.ctx) < 120 {
			t.Fatalf("request with a %d-token context and %d-token continuation: the task does not test what it should", len(r.ctx), len(r.cont))
		}
	}

	unpruned := serveReal(t, rm)
	differs := 0
	for _, sc := range []struct {
		name string
		s    prune.Scorer
	}{{"module", ms}, {"recent", prune.RecentScorer{}}} {
		pr := &prune.Pruner{Schedule: sched, Scorer: sc.s}
		pruned := serveRealWith(t, rm, Options{DefaultPrune: "test", ScoreTail: scoreTail, Pruners: func(string) (model.Pruner, error) { return pr, nil }})
		for _, size := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/batch_size=%d", sc.name, size), func(t *testing.T) {
				for _, batch := range lmEvalBatches(reqs, size) {
					var prompts [][]int
					var ctxlens []int
					for _, i := range batch {
						prompts = append(prompts, reqs[i].ids())
						ctxlens = append(ctxlens, len(reqs[i].ctx))
					}
					payload := lmEvalLoglikelihoodPayload(rm.name, prompts)
					body := pruned.post("/v1/completions", payload, http.StatusOK, nil)
					got := lmEvalParseLogprobs(t, body, ctxlens)
					var base [][2]any
					if sc.name == "module" { // the unpruned server once
						base = lmEvalParseLogprobs(t, unpruned.post("/v1/completions", payload, http.StatusOK, nil), ctxlens)
					}
					for k, i := range batch {
						sum, greedy := prunedLoglikelihood(t, rm.m, pr, prompts[k], ctxlens[k], scoreTail)
						if d := math.Abs(got[k][0].(float64) - sum); d > 2e-4 || got[k][1].(bool) != greedy {
							t.Errorf("request %d: pruned server (%v, %v), pruned reference (%v, %v), diff %g", i, got[k][0], got[k][1], sum, greedy, d)
						}
						fullSum, fullGreedy := directLoglikelihood(t, rm.m, prompts[k], ctxlens[k])
						if base != nil {
							if d := math.Abs(base[k][0].(float64) - fullSum); d > 1e-5 || base[k][1].(bool) != fullGreedy {
								t.Errorf("request %d: unpruned server (%v, %v), direct (%v, %v), diff %g", i, base[k][0], base[k][1], fullSum, fullGreedy, d)
							}
						}
						if math.Abs(sum-fullSum) > 1e-3 {
							differs++
						}
					}
					checkPrunedUsage(t, body, prompts, scoreTail)
				}
			})
		}
		// A continuation longer than the score tail reaches tokens that
		// are not scored: lm-eval finds a null there, never another value.
		long := reqs[0]
		for _, r := range reqs {
			if len(r.cont) > len(long.cont) {
				long = r
			}
		}
		payload := lmEvalLoglikelihoodPayload(rm.name, [][]int{long.ids()})
		payload["sdtp"] = map[string]any{"score_tail": len(long.cont) - 1}
		var out completionOut
		pruned.post("/v1/completions", payload, http.StatusOK, &out)
		if lps := out.Choices[0].Logprobs.TokenLogprobs; lps[len(long.ctx)] != nil || lps[len(long.ctx)+1] == nil {
			t.Errorf("continuation one token longer than the tail: logprobs %v, %v; want null, then a value", lps[len(long.ctx)], lps[len(long.ctx)+1])
		}
		logs := pruned.logs.String()
		for _, want := range []string{`"schedule":"` + pr.String() + `"`, `"score_tail":8`, `"alive_per_layer":[`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the access log lacks %s:\n%s", want, logs)
			}
		}
	}
	if differs == 0 {
		t.Error("pruning changed no continuation's logprob: the replay does not test pruning")
	}
}

// checkPrunedUsage checks that usage.sdtp says what ran for a pruned
// scoring request: the schedule, the score tail, fewer tokens alive in the
// last block than sent, and null logprobs for every prompt token before
// the tail.
func checkPrunedUsage(t *testing.T, body []byte, prompts [][]int, tail int) {
	t.Helper()
	var out completionOut
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	sd := out.Usage.SDTP
	total, unscored := 0, 0
	for _, p := range prompts {
		total += len(p)
		unscored += len(p) - 1 - tail
	}
	nulls := 0
	for _, ch := range out.Choices {
		for _, lp := range ch.Logprobs.TokenLogprobs[1:] {
			if lp == nil {
				nulls++
			}
		}
	}
	switch {
	case sd.Prune != "test" || !strings.HasPrefix(sd.Schedule, "locations 2,3,4 ratio 0.6 scorer "):
		t.Errorf("usage names schedule %q (%q)", sd.Prune, sd.Schedule)
	case sd.ScoreTail == nil || *sd.ScoreTail != tail:
		t.Errorf("usage score tail %v, want %d", sd.ScoreTail, tail)
	case sd.AlivePerLayer[0] != total || sd.AliveLastLayer >= total:
		t.Errorf("alive per layer %v for %d prompt tokens", sd.AlivePerLayer, total)
	case nulls != unscored || sd.UnscoredPromptTokens == nil || *sd.UnscoredPromptTokens != nulls:
		t.Errorf("usage counts %v unscored prompt tokens, the response has %d nulls, want %d (all before the tail)", sd.UnscoredPromptTokens, nulls, unscored)
	}
}
