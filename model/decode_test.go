package model_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/kvcache"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// decodePlan is one sequence of a batched-decoding test: its prompt, its
// pruner, the batch step at which it joins and the tokens it decodes.
type decodePlan struct {
	prompt []int
	pruner model.Pruner
	join   int
	tokens []int
}

// decodePlans makes sequences of different prompt lengths, pruned and
// not (so their caches differ by layer and by sequence), joining and
// leaving the batch at different steps; at most max run at once.
func decodePlans(vocab, layers int, seed uint64) []decodePlan {
	r := rand.New(rand.NewPCG(seed, 1))
	ids := func(n int) []int {
		v := make([]int, n)
		for i := range v {
			v[i] = r.IntN(vocab)
		}
		return v
	}
	s := prune.Schedule{Locations: []int{1, layers - 2}, Ratio: 0.6}
	recent := &prune.Pruner{Schedule: s, Scorer: prune.RecentScorer{}}
	random := &prune.Pruner{Schedule: s, Scorer: prune.RandomScorer{Seed: 5}}
	return []decodePlan{
		{ids(23), nil, 0, ids(6)},
		{ids(1), nil, 0, ids(9)},
		{ids(700), recent, 1, ids(4)},
		{ids(300), random, 2, ids(7)},
		{ids(9), nil, 2, ids(1)},
		{ids(31), random, 5, ids(5)},
	}
}

// decodeAlone returns each sequence's decode-step logits from Forward,
// one sequence at a time.
func decodeAlone(t *testing.T, m *model.Model, plans []decodePlan) [][][]float32 {
	t.Helper()
	ctx := context.Background()
	out := make([][][]float32, len(plans))
	for i, p := range plans {
		cache := m.NewCache(len(p.tokens))
		if _, err := m.Forward(ctx, p.prompt, testmodel.Positions(len(p.prompt), 0), cache, model.ForwardOptions{Pruner: p.pruner}); err != nil {
			t.Fatal(err)
		}
		for j, id := range p.tokens {
			lg, err := m.Forward(ctx, []int{id}, []int32{int32(len(p.prompt) + j)}, cache, model.ForwardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out[i] = append(out[i], lg)
		}
		cache.Free()
	}
	return out
}

// decodeBatched returns the same logits from Decode steps over every
// sequence that has joined and not yet finished; it also returns the
// largest batch it ran.
func decodeBatched(t *testing.T, m *model.Model, plans []decodePlan) ([][][]float32, int) {
	t.Helper()
	ctx := context.Background()
	out := make([][][]float32, len(plans))
	caches := make([]*kvcache.Cache, len(plans))
	widest := 0
	for step := 0; ; step++ {
		var ids []int
		var pos []int32
		var cs []*kvcache.Cache
		var who []int
		left := false
		for i, p := range plans {
			done := len(out[i])
			if p.join > step || done == len(p.tokens) {
				left = left || p.join > step
				continue
			}
			if caches[i] == nil {
				caches[i] = m.NewCache(len(p.tokens))
				if _, err := m.Forward(ctx, p.prompt, testmodel.Positions(len(p.prompt), 0), caches[i], model.ForwardOptions{Pruner: p.pruner}); err != nil {
					t.Fatal(err)
				}
			}
			ids = append(ids, p.tokens[done])
			pos = append(pos, int32(len(p.prompt)+done))
			cs = append(cs, caches[i])
			who = append(who, i)
		}
		if len(ids) == 0 {
			if !left {
				break
			}
			continue
		}
		widest = max(widest, len(ids))
		lg, err := m.Decode(ctx, ids, pos, cs)
		if err != nil {
			t.Fatal(err)
		}
		v := m.Config.Vocab
		if len(lg) != len(ids)*v {
			t.Fatalf("step %d: %d logits for %d sequences of vocabulary %d", step, len(lg), len(ids), v)
		}
		for r, i := range who {
			out[i] = append(out[i], lg[r*v:(r+1)*v])
		}
	}
	for _, c := range caches {
		if c != nil {
			c.Free()
		}
	}
	return out, widest
}

// testModels are small synthetic decoders: Llama-shaped with f32 and bf16
// weights, and Qwen2-shaped (QKV biases, tied embeddings).
func testModels(t *testing.T, b backend.Backend) map[string]*model.Model {
	t.Helper()
	tiny := testmodel.Config(t, "tiny")
	qwen := tiny
	qwen.Arch, qwen.QKVBias, qwen.TiedEmbeddings, qwen.Heads, qwen.KVHeads = "qwen2", true, true, 4, 1
	out := map[string]*model.Model{}
	for name, c := range map[string]struct {
		c  model.Config
		dt backend.DType
	}{"llama-f32": {tiny, backend.F32}, "llama-bf16": {tiny, backend.BF16}, "qwen2-bf16": {qwen, backend.BF16}} {
		out[name] = testmodel.Synthetic(t, b, c.c, model.SyntheticOptions{Seed: 3, DType: c.dt})
	}
	return out
}

// TestDecodeBatchMatchesAlone: on the CPU, a batched decode step gives
// every sequence bit for bit the logits it gets decoding alone, while
// sequences of different (pruned) cache lengths join and leave.
func TestDecodeBatchMatchesAlone(t *testing.T) {
	b := testmodel.CPU(t)
	for name, m := range testModels(t, b) {
		t.Run(name, func(t *testing.T) {
			plans := decodePlans(m.Config.Vocab, m.Config.Layers, 7)
			want := decodeAlone(t, m, plans)
			got, widest := decodeBatched(t, m, plans)
			if widest < 4 {
				t.Fatalf("the widest batch had %d sequences; the test means to batch at least 4", widest)
			}
			for i := range plans {
				for j := range want[i] {
					for k, v := range want[i][j] {
						if g := got[i][j][k]; math.Float32bits(g) != math.Float32bits(v) {
							t.Fatalf("sequence %d step %d logit %d: %v batched, %v alone", i, j, k, g, v)
						}
					}
				}
			}
		})
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	b := testmodel.CPU(t)
	m := testModels(t, b)["llama-f32"]
	c1, c2 := m.NewCache(1), m.NewCache(1)
	defer c1.Free()
	defer c2.Free()
	ctx := context.Background()
	for _, tc := range []struct {
		ids    []int
		pos    []int32
		caches []*kvcache.Cache
	}{
		{nil, nil, nil},
		{[]int{1, 2}, []int32{0}, []*kvcache.Cache{c1, c2}},
		{[]int{1, 2}, []int32{0, 0}, []*kvcache.Cache{c1}},
		{[]int{1, m.Config.Vocab}, []int32{0, 0}, []*kvcache.Cache{c1, c2}},
	} {
		t.Run(fmt.Sprint(tc.ids, tc.pos, len(tc.caches)), func(t *testing.T) {
			if _, err := m.Decode(ctx, tc.ids, tc.pos, tc.caches); err == nil {
				t.Error("no error")
			}
		})
	}
}
