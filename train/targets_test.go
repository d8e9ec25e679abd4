package train

import (
	"math"
	"testing"
)

// TestMSELossReference checks L_mse against the formula written out for
// the five unprotected tokens of an 11-token prompt.
func TestMSELossReference(t *testing.T) {
	n := 11 // protected: 0..3 and the last ⌈1.1⌉ = 2
	scores := []float64{9, 9, 9, 9, 1, 2, 0.5, -1, 3, 0, 9}
	imp := []float64{0, 0, 0, 0, 4, -1, 100, 2, 0.5, 3, 0}
	u := []int{4, 5, 6, 7, 8}
	// median |imp| over u: sorted 0.5 1 2 4 100 → 2
	var ct, cs []float64
	var mt, ms float64
	for _, j := range u {
		ct = append(ct, math.Asinh(imp[j]/2))
		cs = append(cs, scores[j])
		mt += ct[len(ct)-1] / 5
		ms += scores[j] / 5
	}
	var vt float64
	for _, v := range ct {
		vt += (v - mt) * (v - mt) / 5
	}
	var want float64
	for k := range u {
		r := (cs[k] - ms) - (ct[k]-mt)/math.Sqrt(vt)
		want += r * r / 5
	}
	if got := mseLoss(make([]float64, n), scores, imp, n, 1); math.Abs(got-want) > 1e-12 {
		t.Fatalf("mse %v, want %v", got, want)
	}
}
