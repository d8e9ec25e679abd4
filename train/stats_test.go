package train

import (
	"encoding/json"
	"math"
	"testing"
)

func TestSpearmanKendall(t *testing.T) {
	tests := []struct {
		a, b              []float64
		spearman, kendall float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1, 1},
		{[]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1, -1},
		// Hand-computed: ranks b = 2,1,4,3 → d² = 1+1+1+1 → ρ = 1 − 6·4/(4·15) = 0.6;
		// pairs: 12 disc, 13 conc, 14 conc, 23 conc, 24 conc, 34 disc → τ = (4−2)/6.
		{[]float64{1, 2, 3, 4}, []float64{2, 1, 4, 3}, 0.6, 1.0 / 3},
		// Ties in b: tau-b = (C−D)/sqrt((n0)(n0−tb)); pairs: (12 tie b),13 c,14 c,23 c,24 c,34 c → C=5,D=0,tb=1 → 5/sqrt(6·5).
		{[]float64{1, 2, 3, 4}, []float64{1, 1, 2, 3}, pearsonOf([]float64{1, 2, 3, 4}, []float64{1.5, 1.5, 3, 4}), 5 / math.Sqrt(30)},
	}
	for _, tc := range tests {
		if got := Spearman(tc.a, tc.b); math.Abs(got-tc.spearman) > 1e-12 {
			t.Errorf("Spearman(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.spearman)
		}
		if got := Kendall(tc.a, tc.b); math.Abs(got-tc.kendall) > 1e-12 {
			t.Errorf("Kendall(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.kendall)
		}
	}
	if !math.IsNaN(Spearman([]float64{1, 1}, []float64{1, 2})) || !math.IsNaN(Kendall([]float64{1}, []float64{1})) {
		t.Error("degenerate inputs must give NaN")
	}
}

// pearsonOf is the textbook formula, written independently of pearson.
func pearsonOf(a, b []float64) float64 {
	n := float64(len(a))
	var sa, sb, sab, saa, sbb float64
	for i := range a {
		sa += a[i]
		sb += b[i]
		sab += a[i] * b[i]
		saa += a[i] * a[i]
		sbb += b[i] * b[i]
	}
	return (n*sab - sa*sb) / math.Sqrt((n*saa-sa*sa)*(n*sbb-sb*sb))
}

func TestLocationStatsJSON(t *testing.T) {
	b, err := json.Marshal(LocationStats{Layer: 3, Spearman: math.NaN(), Kendall: 0.5, Overlap: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"layer":3,"spearman":null,"kendall":0.5,"kept_overlap":1}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
