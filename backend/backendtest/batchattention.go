package backendtest

import (
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// batchAttentionCases are batched decode steps: one query per sequence,
// each over a cache of its own length (1 key, lengths around the decode
// kernels' split sizes, a long one), GQA ratios 1 to 7 and head widths
// with and without a dedicated decode kernel.
var batchAttentionCases = []struct {
	lens                    []int
	heads, kvHeads, headDim int
}{
	{[]int{1}, 1, 1, 8},
	{[]int{5, 1, 17}, 2, 2, 16},
	{[]int{63, 64, 65, 1, 300}, 14, 2, 64},
	{[]int{1000, 7, 129}, 4, 4, 128},
	{[]int{2050, 33}, 28, 4, 128},
	{[]int{40, 3, 90, 11}, 7, 1, 80},
	{[]int{9, 2}, 4, 1, 32},
}

// testBatchAttention checks backend.DecodeAttention (the backend's
// BatchAttention, or the composed fallback) against float64 attention of
// each sequence, and a backend's own BatchAttention against the
// composition of its Attention.
func (s *suite) testBatchAttention(t *testing.T) {
	f, batched := s.b.(backend.BatchAttender)
	for i, tc := range batchAttentionCases {
		sc := backend.AttentionShape{Heads: tc.heads, KVHeads: tc.kvHeads, HeadDim: tc.headDim, Scale: float32(1 / math.Sqrt(float64(tc.headDim)))}
		if i%4 == 3 {
			sc.Scale = 0.7
		}
		view := i%2 == 1
		what := name("DecodeAttention lens %v heads %d/%d dim %d scale %v view %v", tc.lens, tc.heads, tc.kvHeads, tc.headDim, sc.Scale, view)
		t.Run(name("%d_%d_%d_%d", len(tc.lens), tc.heads, tc.kvHeads, tc.headDim), func(t *testing.T) {
			b := len(tc.lens)
			qc, kc := sc.Heads*sc.HeadDim, sc.KVHeads*sc.HeadDim
			qv := s.normals(b*qc, 1.5)
			q := s.upload(qv, b, qc, view)
			defer q.free(s.b)
			ks, vs := make([]backend.Tensor, b), make([]backend.Tensor, b)
			kvals, vvals := make([][]float32, b), make([][]float32, b)
			for j, n := range tc.lens {
				kvals[j], vvals[j] = s.normals(n*kc, 1.5), s.normals(n*kc, 1)
				k, v := s.upload(kvals[j], n, kc, view), s.upload(vvals[j], n, kc, !view)
				defer k.free(s.b)
				defer v.free(s.b)
				ks[j], vs[j] = k.t, v.t
			}
			ref := make([]float64, 0, b*qc)
			for j, n := range tc.lens {
				ref = append(ref, refAttention(qv[j*qc:(j+1)*qc], kvals[j], vvals[j], 1, n, sc)...)
			}
			d := s.poisoned(b, qc, view)
			defer d.free(s.b)
			backend.DecodeAttention(s.b, d.t, q.t, ks, vs, sc)
			expect(t, what, d.read(t, s.b, what), ref, s.tol())
			if !batched {
				return
			}
			// The composition on the same backend.
			want := s.poisoned(b, qc, false)
			defer want.free(s.b)
			for j := range tc.lens {
				s.b.Attention(s.b.View(want.t, j, 1), s.b.View(q.t, j, 1), ks[j], vs[j], sc)
			}
			got := s.poisoned(b, qc, !view)
			defer got.free(s.b)
			f.BatchAttention(got.t, q.t, ks, vs, sc)
			expect(t, what+" against the composition", got.read(t, s.b, what), widen(want.read(t, s.b, what+" (composed)")), s.tol())
		})
	}
}

// testScatterRows checks backend.ScatterRows (the backend's RowScatterer,
// or the composed Copy per row): each row of src lands, exactly, in its
// own one-row view of another tensor, whose other rows stay untouched.
func (s *suite) testScatterRows(t *testing.T) {
	for _, sh := range [][2]int{{1, 1}, {3, 7}, {9, 128}, {4, 1000}, {6, 2 * 128}} {
		n, cols := sh[0], sh[1]
		what := name("ScatterRows %d rows of %d", n, cols)
		sv := s.normals(n*cols, 1)
		src := s.upload(sv, n, cols, n%2 == 0)
		dst := make([]backend.Tensor, n)
		ops := make([]*operand, n)
		for i := range n {
			ops[i] = s.poisoned(1, cols, true) // a row with guard rows around it
			dst[i] = ops[i].t
		}
		backend.ScatterRows(s.b, dst, src.t)
		for i, o := range ops {
			expect(t, name("%s: row %d", what, i), o.read(t, s.b, what), widen(sv[i*cols:(i+1)*cols]), s.exactTol())
			o.free(s.b)
		}
		src.read(t, s.b, what+" (input)")
		src.free(s.b)
	}
}
