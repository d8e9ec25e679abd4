package train

import (
	"math"
	"testing"
)

// TestSaliencyDefinition checks π̂ at every block's input against its
// definition, Σ_d ∂T/∂x_{i,d}·x_{i,d} = d/dε T(row i of x scaled by 1+ε)
// at ε = 0, by central differences through the rest of the model.
func TestSaliencyDefinition(t *testing.T) {
	m := tinyModel(t)
	ids := []int{1, 5, 9, 2, 12, 7, 3}
	sal, loss, err := Saliency(m, ids)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := m.Forward(ids, nil)
	if want := tr.NextTokenLoss(ids, nil, nil); loss != want {
		t.Fatalf("loss %v, want %v", loss, want)
	}
	pos := []int{0, 1, 2, 3, 4, 5, 6}
	d := m.Config.Hidden
	for l := range m.Config.Layers {
		tail := m.Tail(l)
		x := append([]float64(nil), tr.Input(l)...)
		for i := range ids {
			f := func(eps float64) float64 {
				y := append([]float64(nil), x...)
				for j := i * d; j < (i+1)*d; j++ {
					y[j] *= 1 + eps
				}
				return tail.ForwardFrom(y, pos, nil).NextTokenLoss(ids, nil, nil)
			}
			const h = 1e-5
			fd := (f(h) - f(-h)) / (2 * h)
			if e := math.Abs(fd-sal[l][i]) / math.Max(math.Max(math.Abs(fd), math.Abs(sal[l][i])), 1e-6); e > 1e-4 {
				t.Fatalf("block %d token %d: saliency %v, finite difference %v", l, i, sal[l][i], fd)
			}
		}
	}
	if _, _, err := Saliency(m, []int{1}); err == nil {
		t.Fatal("a one-token text was accepted")
	}
}
