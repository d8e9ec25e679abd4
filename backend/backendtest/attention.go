package backendtest

import (
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// attentionCases cover GQA ratios 1, 2, 4 and 7, prefill (nq == nk),
// decode (nq == 1) and chunks of queries over a longer cache (nq < nk),
// and head widths that are not a multiple of any vector length.
var attentionCases = []struct {
	nq, nk, heads, kvHeads, headDim int
}{
	{1, 1, 1, 1, 8},
	{5, 5, 2, 2, 16},
	{17, 17, 4, 2, 64},
	{33, 33, 8, 2, 64},
	{20, 20, 14, 2, 64},
	{1, 300, 14, 2, 64},
	{1, 1000, 4, 4, 128},
	{7, 50, 7, 1, 80},
	{64, 64, 4, 4, 128},
	{3, 257, 4, 1, 32},
	{5, 9, 3, 3, 24},
	{4, 6, 2, 1, 3},
	{100, 130, 2, 1, 64},
}

func (s *suite) testAttention(t *testing.T) {
	for i, tc := range attentionCases {
		view := i%2 == 1
		sc := backend.AttentionShape{Heads: tc.heads, KVHeads: tc.kvHeads, HeadDim: tc.headDim, Scale: float32(1 / math.Sqrt(float64(tc.headDim)))}
		if i%5 == 4 {
			sc.Scale = 0.7 // not 1/sqrt(d): the op must use the one given
		}
		what := name("Attention nq %d nk %d heads %d/%d dim %d scale %v view %v", tc.nq, tc.nk, tc.heads, tc.kvHeads, tc.headDim, sc.Scale, view)
		t.Run(name("%d_%d_%d_%d_%d", tc.nq, tc.nk, tc.heads, tc.kvHeads, tc.headDim), func(t *testing.T) {
			s.attentionCase(t, what, tc.nq, tc.nk, sc, view)
		})
	}
}

func (s *suite) attentionCase(t *testing.T, what string, nq, nk int, sc backend.AttentionShape, view bool) {
	qc, kc := sc.Heads*sc.HeadDim, sc.KVHeads*sc.HeadDim
	qv, kv, vv := s.normals(nq*qc, 1.5), s.normals(nk*kc, 1.5), s.normals(nk*kc, 1)
	q, k, v := s.upload(qv, nq, qc, view), s.upload(kv, nk, kc, view), s.upload(vv, nk, kc, view)
	defer q.free(s.b)
	defer k.free(s.b)
	defer v.free(s.b)
	d := s.poisoned(nq, qc, view)
	defer d.free(s.b)
	s.b.Attention(d.t, q.t, k.t, v.t, sc)
	expect(t, what, d.read(t, s.b, what), refAttention(qv, kv, vv, nq, nk, sc), s.tol())
}

// refAttention is causal grouped-query attention in float64: query i
// stands at key index nk-nq+i and sees keys 0..nk-nq+i.
func refAttention(q, k, v []float32, nq, nk int, sc backend.AttentionShape) []float64 {
	hd := sc.HeadDim
	qc, kc := sc.Heads*hd, sc.KVHeads*hd
	out := make([]float64, nq*qc)
	refWeights(q, k, nq, nk, sc, func(i, h, g int, p []float64) {
		o := out[i*qc+h*hd : i*qc+(h+1)*hd]
		for j, w := range p {
			vj := v[j*kc+g*hd : j*kc+(g+1)*hd]
			for e := range hd {
				o[e] += w * float64(vj[e])
			}
		}
	})
	return out
}

// refWeights computes, in float64, the attention weights of every query i
// and query head h (whose key/value head is g) over the keys it sees, and
// hands them to visit (p[j] for keys 0..nk-nq+i; valid during the call).
func refWeights(q, k []float32, nq, nk int, sc backend.AttentionShape, visit func(i, h, g int, p []float64)) {
	hd := sc.HeadDim
	qc, kc := sc.Heads*hd, sc.KVHeads*hd
	group := sc.Heads / sc.KVHeads
	p := make([]float64, nk)
	for h := range sc.Heads {
		g := h / group
		for i := range nq {
			lim := nk - nq + i
			qi := q[i*qc+h*hd : i*qc+(h+1)*hd]
			top := math.Inf(-1)
			for j := 0; j <= lim; j++ {
				kj := k[j*kc+g*hd : j*kc+(g+1)*hd]
				var dot float64
				for e := range hd {
					dot += float64(qi[e]) * float64(kj[e])
				}
				p[j] = dot * float64(sc.Scale)
				top = math.Max(top, p[j])
			}
			var sum float64
			for j := 0; j <= lim; j++ {
				p[j] = math.Exp(p[j] - top)
				sum += p[j]
			}
			for j := 0; j <= lim; j++ {
				p[j] /= sum
			}
			visit(i, h, g, p[:lim+1])
		}
	}
}
