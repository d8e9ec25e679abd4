package train

import (
	"math"
	"testing"
)

// TestAdamWFirstStep checks the first update against its closed form:
// with bias correction m̂ = g and v̂ = g², so θ moves by lr·(sign(g)·|g|/(|g|+ε) + wd·θ).
func TestAdamWFirstStep(t *testing.T) {
	a := NewAdamW(2, 0.1)
	p := []float64{1, -2}
	g := []float64{0.5, -3}
	a.Update(p, g, 0.01)
	for i, want := range []float64{1 - 0.01*(0.5/(0.5+1e-8)+0.1*1), -2 - 0.01*(-3/(3+1e-8)+0.1*-2)} {
		if math.Abs(p[i]-want) > 1e-15 {
			t.Errorf("param %d = %v, want %v", i, p[i], want)
		}
	}
}

// TestAdamWMinimises checks that AdamW drives a convex quadratic to its minimum.
func TestAdamWMinimises(t *testing.T) {
	a := NewAdamW(3, 0)
	p := []float64{5, -3, 2}
	target := []float64{1, 2, -1}
	g := make([]float64, 3)
	for range 3000 {
		for i := range p {
			g[i] = 2 * (p[i] - target[i])
		}
		a.Update(p, g, 0.01)
	}
	for i := range p {
		if math.Abs(p[i]-target[i]) > 1e-3 {
			t.Fatalf("param %d = %v, want %v", i, p[i], target[i])
		}
	}
}

func TestLearningRate(t *testing.T) {
	tests := []struct {
		step, total, warmup int
		want                float64
	}{
		{0, 100, 10, 0.1}, {9, 100, 10, 1}, {10, 100, 10, 1}, {99, 100, 10, 0.1}, {5, 1, 0, 1},
		{54, 100, 10, 0.1 + 0.9*0.5*(1+math.Cos(math.Pi*44/89))},
	}
	for _, tc := range tests {
		if got := LearningRate(1, tc.step, tc.total, tc.warmup); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LearningRate(step %d of %d, warmup %d) = %v, want %v", tc.step, tc.total, tc.warmup, got, tc.want)
		}
	}
}

func TestClipNorm(t *testing.T) {
	g := []float64{3, 4}
	if n := clipNorm(g, 0); n != 5 || g[0] != 3 {
		t.Fatalf("no clipping: norm %v, g %v", n, g)
	}
	if n := clipNorm(g, 10); n != 5 || g[1] != 4 {
		t.Fatalf("norm below clip: norm %v, g %v", n, g)
	}
	if n := clipNorm(g, 1); n != 5 || math.Abs(g[0]-0.6) > 1e-15 || math.Abs(g[1]-0.8) > 1e-15 {
		t.Fatalf("clipped: norm %v, g %v", n, g)
	}
}
