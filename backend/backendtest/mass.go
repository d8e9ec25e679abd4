package backendtest

import (
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// testAttentionMass checks backend.AttentionMass (the backend's
// AttentionMasser, or the composed host computation) against float64
// attention weights summed per key, on Attention's cases, and that the
// masses add up to queries × heads.
func (s *suite) testAttentionMass(t *testing.T) {
	for i, tc := range attentionCases {
		view := i%2 == 0
		sc := backend.AttentionShape{Heads: tc.heads, KVHeads: tc.kvHeads, HeadDim: tc.headDim, Scale: float32(1 / math.Sqrt(float64(tc.headDim)))}
		if i%5 == 3 {
			sc.Scale = -0.4 // a negative scale: the softmax's shift must follow it
		}
		what := name("AttentionMass nq %d nk %d heads %d/%d dim %d scale %v view %v", tc.nq, tc.nk, tc.heads, tc.kvHeads, tc.headDim, sc.Scale, view)
		t.Run(name("%d_%d_%d_%d_%d", tc.nq, tc.nk, tc.heads, tc.kvHeads, tc.headDim), func(t *testing.T) {
			qc, kc := sc.Heads*sc.HeadDim, sc.KVHeads*sc.HeadDim
			qv, kv := s.normals(tc.nq*qc, 1.5), s.normals(tc.nk*kc, 1.5)
			q, k := s.upload(qv, tc.nq, qc, view), s.upload(kv, tc.nk, kc, !view)
			defer q.free(s.b)
			defer k.free(s.b)
			m := s.poisoned(tc.nk, 1, view)
			defer m.free(s.b)
			backend.AttentionMass(s.b, m.t, q.t, k.t, sc)
			ref := make([]float64, tc.nk)
			refWeights(qv, kv, tc.nq, tc.nk, sc, func(_, _, _ int, p []float64) {
				for j, w := range p {
					ref[j] += w
				}
			})
			got := m.read(t, s.b, what)
			expect(t, what, got, ref, s.tol())
			var sum float64
			for _, v := range got {
				sum += float64(v)
			}
			if want := float64(tc.nq * tc.heads); math.Abs(sum-want) > (s.tol()+1e-5)*want {
				t.Errorf("%s: masses sum to %v, want %v", what, sum, want)
			}
		})
	}
}
