package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

func TestPanelWidth(t *testing.T) {
	for _, tc := range []struct{ cols, want int }{{2049, 1040}, {2500, 1264}, {4096, 2048}, {4864, 1632}, {18944, 1904}} {
		w := panelWidth(tc.cols)
		if w != tc.want || w%16 != 0 || w > dot1MaxK || (tc.cols+w-1)/w != (tc.cols+dot1MaxK-1)/dot1MaxK {
			t.Errorf("panelWidth(%d) = %d, want %d", tc.cols, w, tc.want)
		}
	}
}

// TestPanelsBudget checks the decoding copies' budget: a weight with long
// rows gets one while the budget lasts and is read in place after, with
// the same products to float32 rounding either way, and the copies count
// in the backend's memory until their weight is freed.
func TestPanelsBudget(t *testing.T) {
	b, err := newBackend(backend.Options{Threads: 2}, bestKernels())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const rows, cols = 70, 2500
	b.panelBudget = rows * cols * 2 // one bf16 copy
	r := rand.New(rand.NewPCG(5, 6))
	xs := randFloats(r, cols)
	x, d := b.FromHost(xs, 1, cols), b.New(1, rows)
	var results [2][]float32
	var ws [2]backend.Weight
	for i := range ws {
		if ws[i], err = b.RandomWeight(backend.BF16, rows, cols, 9, 0.1); err != nil { // the same values twice
			t.Fatal(err)
		}
		before, _ := b.Memory()
		b.MatMul(d, x, ws[i], nil)
		after, _ := b.Memory()
		w := asWeight(ws[i])
		grew := after - before // the copy, and scratch of a few rows
		if copied := i == 0; (w.panels != nil) != copied || (grew >= rows*cols*2) != copied || grew > rows*cols*2+4096 {
			t.Fatalf("weight %d: copy %v, memory %d → %d", i, w.panels != nil, before, after)
		}
		results[i] = make([]float32, rows)
		b.ToHost(results[i], d)
	}
	for c := range rows {
		if g, w := results[0][c], results[1][c]; math.Abs(float64(g-w)) > 1e-4*(1+math.Abs(float64(w))) {
			t.Errorf("row %d: %v from the copy, %v in place", c, g, w)
		}
	}
	before, _ := b.Memory()
	b.FreeWeight(ws[0])
	if after, _ := b.Memory(); before-after < rows*cols*2 || b.panelBytes.Load() != 0 {
		t.Errorf("freeing the copied weight: memory %d → %d, copies %d bytes", before, after, b.panelBytes.Load())
	}
	b.FreeWeight(ws[1])
}
