package generate_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// positionsRecorder wraps a pruner and follows the original positions of
// the rows it lets through, independently of generate's own tracking.
type positionsRecorder struct {
	inner model.Pruner
	alive []int32
}

func (r *positionsRecorder) Keep(ctx context.Context, b backend.Backend, layer int, hidden backend.Tensor, pos []int32, n int) ([]int32, error) {
	keep, err := r.inner.Keep(ctx, b, layer, hidden, pos, n)
	if err != nil {
		return nil, err
	}
	r.alive = r.alive[:0]
	if keep == nil {
		r.alive = append(r.alive, pos...)
		return nil, nil
	}
	for _, k := range keep {
		r.alive = append(r.alive, pos[k])
	}
	return keep, nil
}

// referenceScores computes, another way, what prompt scoring under pruning
// with a continuation of the last tail tokens must give: a pruned prefill
// of the prompt before the tail alone (every alive row's logits, mapped to
// their positions by a recorder), then the tail teacher-forced one token at
// a time through the decode path, which is never pruned. It returns each
// prompt token's logprob (NaN for the first token, and for every token
// before a tail or after a pruned row) and the tokens alive entering each
// block.
func referenceScores(t *testing.T, m *model.Model, pr model.Pruner, prompt []int, tail int) ([]float64, []int) {
	t.Helper()
	ctx := context.Background()
	n, v := len(prompt), m.Config.Vocab
	head := prompt[:n-tail]
	cache := m.NewCache(tail)
	defer cache.Free()
	pos := make([]int32, len(head))
	for i := range pos {
		pos[i] = int32(i)
	}
	rec := &positionsRecorder{inner: pr}
	alive := make([]int, m.Config.Layers)
	logits, err := m.Forward(ctx, head, pos, cache, model.ForwardOptions{Pruner: rec, Alive: alive, AllLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	for r, p := range rec.alive {
		if tail == 0 && int(p)+1 < n {
			out[p+1] = generate.LogSoftmax(logits[r*v : (r+1)*v])[prompt[p+1]]
		}
	}
	if tail > 0 {
		out[len(head)] = generate.LogSoftmax(logits[(len(rec.alive)-1)*v:])[prompt[len(head)]]
	}
	for j := 0; j+1 < tail; j++ {
		i := len(head) + j
		next, err := m.Forward(ctx, prompt[i:i+1], []int32{int32(i)}, cache, model.ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[i+1] = generate.LogSoftmax(next)[prompt[i+1]]
	}
	for l := range alive {
		alive[l] += tail
	}
	return out, alive
}

// TestPromptLogprobsUnderPruning scores prompts under pruning with
// continuations of several lengths and three scorers, and checks every
// logprob against referenceScores: the continuation's are those of
// teacher-forced decoding after a pruned prefill of the rest, and the
// tokens before it get none; without a continuation, a token whose
// preceding row survived gets that row's logprob, and one whose preceding
// row was pruned gets none (NaN). Tokens without one are counted.
func TestPromptLogprobsUnderPruning(t *testing.T) {
	m := testmodel.Stories260K(t)
	c := &m.Config
	sched := prune.Schedule{Locations: []int{2, 3, 4}, Ratio: 0.6}
	mod, err := prune.NewRandom(prune.ModelInfo{Name: c.Name, Hidden: c.Hidden, Layers: c.Layers}, sched, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := prune.NewModuleScorer(m.B, mod)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	scorers := []struct {
		name string
		s    prune.Scorer
	}{{"module", ms}, {"random", prune.RandomScorer{Seed: 3}}, {"recent", prune.RecentScorer{}}}
	n := 130
	prompt := make([]int, n)
	prompt[0] = c.BOS
	for i := 1; i < n; i++ {
		prompt[i] = (i*37 + 11) % c.Vocab
	}
	for _, sc := range scorers {
		for _, tail := range []int{0, 1, 9, 40} {
			t.Run(fmt.Sprintf("%s/tail=%d", sc.name, tail), func(t *testing.T) {
				pr := &prune.Pruner{Schedule: sched, Scorer: sc.s}
				res, err := generate.Run(context.Background(), m, nil, generate.Request{Prompt: prompt, MaxTokens: 1, Pruner: pr, PromptLogprobs: true, Continuation: tail, TopLogprobs: 1})
				if err != nil {
					t.Fatal(err)
				}
				want, alive := referenceScores(t, m, pr, prompt, tail)
				if fmt.Sprint(res.Alive) != fmt.Sprint(alive) {
					t.Fatalf("alive per block %v, reference %v", res.Alive, alive)
				}
				if res.Alive[c.Layers-1] >= n {
					t.Fatalf("nothing was pruned (alive %v): the test checks nothing", res.Alive)
				}
				if res.Continuation != tail {
					t.Errorf("result continuation %d, want %d", res.Continuation, tail)
				}
				unscored := 0
				for i, tok := range res.PromptLogprobs {
					got := tok.Logprob
					if i > 0 && math.IsNaN(want[i]) {
						unscored++
					}
					switch {
					case math.IsNaN(want[i]) != math.IsNaN(got):
						t.Fatalf("token %d: logprob %v, reference %v (a pruned row must give none, a kept one its value)", i, got, want[i])
					case !math.IsNaN(got) && math.Abs(got-want[i]) > 2e-4:
						t.Fatalf("token %d: logprob %v, reference %v", i, got, want[i])
					case !math.IsNaN(got) && (len(tok.Top) != 1 || tok.Top[0].Logprob < got-1e-9):
						t.Fatalf("token %d: top alternatives %+v for logprob %v", i, tok.Top, got)
					case i >= n-tail && math.IsNaN(got):
						t.Fatalf("continuation token %d has no logprob", i)
					}
				}
				if unscored == 0 || res.UnscoredPromptTokens != unscored {
					t.Errorf("unscored prompt tokens %d, reference %d (want some)", res.UnscoredPromptTokens, unscored)
				}
			})
		}
	}
}
