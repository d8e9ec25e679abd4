package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// BenchmarkAttentionMass times AttentionMass at BenchmarkAttention's
// shapes, reporting GFLOP/s at 2·HeadDim per (query head, attended key)
// pair (one q·k product): set against BenchmarkAttention's time, it is
// what tracking attention for H2O adds to a prefill or a decode step.
func BenchmarkAttentionMass(b *testing.B) {
	s := backend.AttentionShape{Heads: 14, KVHeads: 2, HeadDim: 64, Scale: 0.125}
	for _, tc := range []struct{ nq, nk int }{{2048, 2048}, {512, 512}, {1, 2048}} {
		b.Run(fmt.Sprintf("nq=%d/nk=%d", tc.nq, tc.nk), func(b *testing.B) {
			cb := benchBackend(b)
			r := rand.New(rand.NewPCG(3, 4))
			q := cb.FromHost(randFloats(r, tc.nq*14*64), tc.nq, 14*64)
			k := cb.FromHost(randFloats(r, tc.nk*2*64), tc.nk, 2*64)
			m := cb.New(tc.nk, 1)
			pairs := float64(tc.nq)*float64(tc.nk-tc.nq+1) + float64(tc.nq)*float64(tc.nq-1)/2
			b.ResetTimer()
			loop(b, pairs*float64(s.Heads)*2*float64(s.HeadDim), func() { cb.AttentionMass(m, q, k, s) })
		})
	}
}
