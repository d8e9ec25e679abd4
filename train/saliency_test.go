package train

import (
	"math"
	"testing"
)

// TestSaliencyDefinition checks π̂ at every block's input against its
// definition, Σ_d ∂T/∂x_{i,d}·x_{i,d} = d/dε T(row i of x scaled by 1+ε)
// at ε = 0, by central differences through the rest of the model, with T
// over the whole sequence and over a 3-token continuation.
func TestSaliencyDefinition(t *testing.T) {
	m := tinyModel(t)
	ids := []int{1, 5, 9, 2, 12, 7, 3}
	pos := []int{0, 1, 2, 3, 4, 5, 6}
	d := m.Config.Hidden
	for _, cont := range []int{0, 3} {
		sal, loss, err := Saliency(m, ids, cont)
		if err != nil {
			t.Fatal(err)
		}
		count := make([]bool, len(ids))
		for _, r := range LossRows(len(ids), cont) {
			count[r] = true
		}
		tr, _ := m.Forward(ids, nil)
		if want := tr.NextTokenLoss(ids, count, nil); loss != want {
			t.Fatalf("cont %d: loss %v, want %v", cont, loss, want)
		}
		for l := range m.Config.Layers {
			tail := m.Blocks(l, m.Config.Layers)
			x := append([]float64(nil), tr.Input(l)...)
			for i := range ids {
				f := func(eps float64) float64 {
					y := append([]float64(nil), x...)
					for j := i * d; j < (i+1)*d; j++ {
						y[j] *= 1 + eps
					}
					return tail.ForwardFrom(y, pos, nil).NextTokenLoss(ids, count, nil)
				}
				const h = 1e-5
				fd := (f(h) - f(-h)) / (2 * h)
				if e := math.Abs(fd-sal[l][i]) / math.Max(math.Max(math.Abs(fd), math.Abs(sal[l][i])), 1e-6); e > 1e-4 {
					t.Fatalf("cont %d block %d token %d: saliency %v, finite difference %v", cont, l, i, sal[l][i], fd)
				}
			}
		}
	}
	if _, _, err := Saliency(m, []int{1}, 0); err == nil {
		t.Fatal("a one-token text was accepted")
	}
	if _, _, err := Saliency(m, ids, 6); err == nil {
		t.Fatal("a continuation leaving a one-token prompt was accepted")
	}
}

func TestLossRows(t *testing.T) {
	for _, tc := range []struct {
		n, cont     int
		first, last int
	}{{10, 0, 0, 8}, {10, 3, 6, 8}, {10, 8, 1, 8}, {5, 1, 3, 3}} {
		r := LossRows(tc.n, tc.cont)
		if r[0] != tc.first || r[len(r)-1] != tc.last || len(r) != tc.last-tc.first+1 {
			t.Errorf("LossRows(%d, %d) = %v", tc.n, tc.cont, r)
		}
	}
}
