package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train/internal/gradcheck"
	"github.com/sdtp/sdtp/train/lm"
)

func tinyModel(t testing.TB) *lm.Model {
	t.Helper()
	c := model.Config{Arch: "qwen2", Hidden: 8, FFN: 12, Layers: 3, Heads: 2, KVHeads: 1, HeadDim: 4, Vocab: 13, MaxPos: 64, RopeTheta: 100, NormEps: 1e-5, QKVBias: true}
	m, err := lm.NewRandom(c, 11)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randomParams(hidden, width, stages int, seed uint64) *Params {
	p := NewParams(hidden, width, stages)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range p.Flat {
		p.Flat[i] = rng.Float64() - 0.5
	}
	return p
}

// tinyExample is a 14-token text with its saliency at locations 1 and 2.
func tinyExample(t testing.TB, m *lm.Model) Example {
	ids := []int{1, 5, 9, 2, 12, 7, 3, 3, 8, 11, 4, 6, 10, 2}
	sal, _, err := Saliency(m, ids, 0)
	if err != nil {
		t.Fatal(err)
	}
	return Example{IDs: ids, Saliency: [][]float64{sal[1], sal[2]}}
}

// TestStraightThroughGrad checks the whole training gradient, the hard
// Gumbel decisions included, against central differences. Differencing a
// hard decision gives zero almost everywhere, so the check differentiates
// the surrogate whose masks are hard + soft(θ) − soft(θ₀): its value at θ₀
// is the hard-mask loss and its exact gradient is what the
// straight-through estimator computes (the surrogate also scores the
// frozen module inputs, where Loss stops the gradient). Every loss term is
// on, masks accumulate over two stages, and the first stage's masks shape
// the second stage's inputs and the loss.
func TestStraightThroughGrad(t *testing.T) {
	m := tinyModel(t)
	ex := tinyExample(t, m)
	for _, tc := range []struct {
		name string
		cfg  LossConfig
	}{
		{"all", LossConfig{Weights: Weights{Cls: 1, MSE: 0.5, Rank: 0.7, Ratio: 2}, Tau: 0.8, Target: TargetAbs, MaxPairs: 1000}},
		{"sampled-pairs", LossConfig{Weights: Weights{Cls: 1, MSE: 1, Rank: 1, Ratio: 1}, Tau: 1, Target: TargetNeg, MaxPairs: 7}},
		{"cls-only", LossConfig{Weights: Weights{Cls: 1}, Tau: 1.5, Target: TargetAbs, MaxPairs: 10}},
		{"teacher", LossConfig{Weights: Weights{Cls: 1, MSE: 0.3, Rank: 0.5, Ratio: 1}, Tau: 1, Target: TargetAbs, Continuation: 4, Teacher: true, MaxPairs: 1000}},
		{"continuation", LossConfig{Weights: Weights{Cls: 1, MSE: 0.3, Rank: 0.5, Ratio: 1}, Tau: 1, Target: TargetSigned, Continuation: 3, MaxPairs: 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &Objective{Model: Host(m), Schedule: prune.Schedule{Locations: []int{1, 2}, Ratio: 0.6}, Config: tc.cfg}
			ex := ex
			if tc.cfg.Teacher {
				_, ex.Teacher, _, _ = saliencyAndTeacher(m, ex.IDs, 0, tc.cfg.ClsRows(len(ex.IDs)))
			}
			p := randomParams(8, 3, 2, 5)
			grad := p.ZeroLike()
			const noise = 42
			base, dec, err := o.run(context.Background(), p, grad, ex, noise, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			dropped := 0
			for _, h := range dec.hard {
				for _, v := range h {
					if v == 0 {
						dropped++
					}
				}
			}
			if dropped == 0 {
				t.Fatal("no token dropped: the check would not exercise the masks")
			}
			// The surrogate at θ₀ has the same value and gradient.
			g2 := p.ZeroLike()
			same, _, _ := o.run(context.Background(), p, g2, ex, noise, 1, dec)
			if same.Total != base.Total {
				t.Fatalf("surrogate loss %v at θ₀, hard loss %v", same.Total, base.Total)
			}
			for i := range grad.Flat {
				if g2.Flat[i] != grad.Flat[i] {
					t.Fatalf("surrogate gradient differs at θ₀ (element %d)", i)
				}
			}
			f := func() float64 {
				tt, _, err := o.run(context.Background(), p, nil, ex, noise, 1, dec)
				if err != nil {
					t.Fatal(err)
				}
				return tt.Total
			}
			gradcheck.Check(t, "dθ", p.Flat, grad.Flat, f)
		})
	}
}

// TestLossScale checks that scale multiplies the gradient and not the
// reported loss, and that the total is the weighted sum of the terms.
func TestLossScale(t *testing.T) {
	m := tinyModel(t)
	ex := tinyExample(t, m)
	cfg := DefaultLossConfig()
	cfg.Continuation = 2
	o := &Objective{Model: Host(m), Schedule: prune.Schedule{Locations: []int{1, 2}, Ratio: 0.7}, Config: cfg}
	p := randomParams(8, 2, 2, 9)
	g1, g3 := p.ZeroLike(), p.ZeroLike()
	t1, err := o.Loss(p, g1, ex, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	t3, _ := o.Loss(p, g3, ex, 3, 3)
	if t1.Total != t3.Total {
		t.Fatalf("loss depends on scale: %v vs %v", t1.Total, t3.Total)
	}
	for i := range g1.Flat {
		if gradcheck.RelErr(3*g1.Flat[i], g3.Flat[i]) > 1e-12 {
			t.Fatalf("gradient element %d: %v·3 ≠ %v", i, g1.Flat[i], g3.Flat[i])
		}
	}
	w := o.Config.Weights
	if want := w.Cls*t1.Cls + w.MSE*t1.MSE + w.Rank*t1.Rank + w.Ratio*t1.Ratio; gradcheck.RelErr(t1.Total, want) > 1e-12 {
		t.Fatalf("total %v, weighted sum %v", t1.Total, want)
	}
	if len(t1.Alive) != 2 || t1.Alive[1] > t1.Alive[0] {
		t.Fatalf("alive fractions %v must not grow across stages", t1.Alive)
	}
}

func TestRankAndMSEGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	n := 30
	scores, imp := make([]float64, n), make([]float64, n)
	for i := range scores {
		scores[i] = rng.NormFloat64()
		imp[i] = rng.NormFloat64()
	}
	imp[10] = imp[11] // a tie, which yields no pair
	for _, maxPairs := range []int{10000, 50} {
		d := make([]float64, n)
		rankLoss(d, scores, imp, n, maxPairs, rand.New(rand.NewPCG(1, 2)), 1)
		gradcheck.Check(t, "rank", scores, d, func() float64 {
			return rankLoss(make([]float64, n), scores, imp, n, maxPairs, rand.New(rand.NewPCG(1, 2)), 1)
		})
	}
	d := make([]float64, n)
	mseLoss(d, scores, imp, n, 1)
	gradcheck.Check(t, "mse", scores, d, func() float64 { return mseLoss(make([]float64, n), scores, imp, n, 1) })
}

// TestRankLossReference checks L_rank on three unprotected tokens against
// the formula written out.
func TestRankLossReference(t *testing.T) {
	n := 20 // protected: 0..3 and 18, 19
	scores, imp := make([]float64, n), make([]float64, n)
	for j := range n {
		imp[j] = 100 // equal importance: no pairs among the rest
	}
	imp[5], imp[6], imp[7] = 3, 1, 2
	scores[5], scores[6], scores[7] = 0.5, 1.0, -0.25
	var want float64
	count := 0
	for _, p := range [][2]int{{5, 6}, {5, 7}, {7, 6}} {
		want += math.Log(1 + math.Exp(-(scores[p[0]] - scores[p[1]])))
		count++
	}
	// Each of 5, 6, 7 also pairs with the 11 other unprotected tokens of importance 100.
	for _, j := range []int{5, 6, 7} {
		for k := 4; k < 18; k++ {
			if k != 5 && k != 6 && k != 7 {
				want += math.Log(1 + math.Exp(-(scores[k] - scores[j])))
				count++
			}
		}
	}
	want /= float64(count)
	got := rankLoss(make([]float64, n), scores, imp, n, 1<<20, nil, 1)
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("rank loss %v, want %v", got, want)
	}
}
