package lm

import (
	"testing"

	"github.com/sdtp/sdtp/internal/testmodel"
)

// BenchmarkStories260K times one forward and backward pass over 256 tokens.
func BenchmarkStories260K(b *testing.B) {
	m, err := Open(testmodel.Stories260KPath(b))
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int, 256)
	for i := range ids {
		ids[i] = (i*37 + 1) % m.Config.Vocab
	}
	keep := make([]float64, len(ids))
	for i := range keep {
		keep[i] = float64(i % 2)
	}
	for b.Loop() {
		tr, _ := m.Forward(ids, func(l int, _ []float64) []float64 {
			if l > 1 {
				return keep
			}
			return nil
		})
		dout := make([]float64, len(ids)*m.Config.Hidden)
		tr.NextTokenLoss(ids, nil, dout)
		tr.Backward(dout, nil)
	}
}
