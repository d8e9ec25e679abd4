package backendtest

import (
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/train/nn"
)

// The training ops (backend.Trainer) are checked against train/nn, the
// float64 layers whose gradients train/nn's own tests check by finite
// differences: one reference for the host trainer and every backend. A
// backend without the interface skips these tests.

// trainer returns s.b as a backend.Trainer, or skips t.
func (s *suite) trainer(t *testing.T) backend.Trainer {
	t.Helper()
	return implements[backend.Trainer](t, s.b)
}

func (s *suite) testZero(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range elementShapes {
		view := i%2 == 1
		d := s.poisoned(sh[0], sh[1], view)
		tr.Zero(d.t)
		what := name("Zero %d×%d view %v", sh[0], sh[1], view)
		expect(t, what, d.read(t, s.b, what), make([]float64, sh[0]*sh[1]), 0)
		d.free(s.b)
	}
}

func (s *suite) testMatMulBackInput(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range matMulShapes {
		for _, dt := range dtypes {
			view := (i+int(dt))%3 == 0
			acc := (i+int(dt))%2 == 0
			n, k, m := sh.n, sh.k, sh.m
			what := name("MatMulBackInput n=%d k=%d m=%d %s accumulate %v view %v", n, k, m, dt, acc, view)
			dyv := s.normals(n*m, 1)
			dy := s.upload(dyv, n, m, view)
			w, hw := s.weight(t, dt, m, k, 0.5)
			var dx *operand
			ref := make([]float64, n*k)
			if acc {
				dxv := s.normals(n*k, 1)
				dx = s.upload(dxv, n, k, view)
				copy(ref, widen(dxv))
			} else {
				dx = s.poisoned(n, k, view)
			}
			tr.MatMulBackInput(dx.t, dy.t, w, acc)
			nn.LinearBackInput(ref, widen(dyv), hw.vals, n, k, m)
			mag := make([]float64, n*k)
			nn.LinearBackInput(mag, absAll(widen(dyv)), absAll(hw.vals), n, k, m)
			expectTerms(t, what, dx.read(t, s.b, what), ref, mag, m, s.weightTol(dt))
			dy.free(s.b)
			dx.free(s.b)
			s.b.FreeWeight(w)
		}
	}
}

func (s *suite) testMatMulBackWeight(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range matMulShapes {
		view := i%2 == 1
		ones := i%4 == 3 // a bias gradient: x is a column of ones
		n, k, m := sh.n, sh.k, sh.m
		if ones {
			k = 1
		}
		what := name("MatMulBackWeight n=%d k=%d m=%d ones %v view %v", n, k, m, ones, view)
		dyv, xv := s.normals(n*m, 1), s.normals(n*k, 1)
		if ones {
			for j := range xv {
				xv[j] = 1
			}
		}
		dy, x := s.upload(dyv, n, m, view), s.upload(xv, n, k, view)
		dw := s.poisoned(m, k, view)
		tr.MatMulBackWeight(dw.t, dy.t, x.t)
		ref, mag := make([]float64, m*k), make([]float64, m*k)
		nn.LinearBackParams(ref, nil, widen(dyv), widen(xv), n, k, m)
		nn.LinearBackParams(mag, nil, absAll(widen(dyv)), absAll(widen(xv)), n, k, m)
		expectTerms(t, what, dw.read(t, s.b, what), ref, mag, n, s.tol())
		dy.free(s.b)
		x.free(s.b)
		dw.free(s.b)
	}
}

func (s *suite) testRMSNormBack(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range [][2]int{{1, 1}, {3, 17}, {17, 896}, {5, 1030}} {
		rows, cols := sh[0], sh[1]
		for _, dt := range dtypes {
			view := (i+int(dt))%2 == 1
			eps := []float32{1e-6, 1e-5}[i%2]
			what := name("RMSNormBack %d×%d %s eps %v view %v", rows, cols, dt, eps, view)
			xv, dyv, dxv := s.normals(rows*cols, 2), s.normals(rows*cols, 1), s.normals(rows*cols, 1)
			x, dy, dx := s.upload(xv, rows, cols, view), s.upload(dyv, rows, cols, view), s.upload(dxv, rows, cols, view)
			w, hw := s.weight(t, dt, 1, cols, 1)
			tr.RMSNormBack(dx.t, dy.t, x.t, w, eps)
			ref := widen(dxv)
			nn.RMSNormBack(ref, widen(dyv), widen(xv), hw.vals, rows, cols, float64(eps))
			expect(t, what, dx.read(t, s.b, what), ref, s.weightTol(dt))
			for _, o := range []*operand{x, dy, dx} {
				o.free(s.b)
			}
			s.b.FreeWeight(w)
		}
	}
}

func (s *suite) testSiLUMulBack(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range elementShapes {
		rows, cols := sh[0], sh[1]
		view := i%2 == 0
		what := name("SiLUMulBack %d×%d view %v", rows, cols, view)
		av, bv, dyv := s.normals(rows*cols, 3), s.normals(rows*cols, 1), s.normals(rows*cols, 1)
		a, b, dy := s.upload(av, rows, cols, view), s.upload(bv, rows, cols, view), s.upload(dyv, rows, cols, view)
		da, db := s.poisoned(rows, cols, view), s.poisoned(rows, cols, view)
		tr.SiLUMulBack(da.t, db.t, dy.t, a.t, b.t)
		refA, refB := make([]float64, rows*cols), make([]float64, rows*cols)
		nn.SiLUMulBack(refA, refB, widen(dyv), widen(av), widen(bv))
		expect(t, what+" da", da.read(t, s.b, what), refA, s.tol())
		expect(t, what+" db", db.read(t, s.b, what), refB, s.tol())
		for _, o := range []*operand{a, b, dy, da, db} {
			o.free(s.b)
		}
	}
}

func (s *suite) testGELUBack(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range elementShapes {
		rows, cols := sh[0], sh[1]
		view := i%2 == 1
		what := name("GELUBack %d×%d view %v", rows, cols, view)
		xv, dyv := s.normals(rows*cols, 2), s.normals(rows*cols, 1)
		x, dy := s.upload(xv, rows, cols, view), s.upload(dyv, rows, cols, view)
		dx := s.poisoned(rows, cols, view)
		tr.GELUBack(dx.t, dy.t, x.t)
		ref := make([]float64, rows*cols)
		nn.GELUBack(ref, widen(dyv), widen(xv))
		expect(t, what, dx.read(t, s.b, what), ref, s.tol())
		for _, o := range []*operand{x, dy, dx} {
			o.free(s.b)
		}
	}
}

func (s *suite) testRowDot(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range elementShapes {
		rows, cols := sh[0], sh[1]
		view := i%2 == 0
		what := name("RowDot %d×%d view %v", rows, cols, view)
		av, bv := s.normals(rows*cols, 1), s.normals(rows*cols, 1)
		a, b := s.upload(av, rows, cols, view), s.upload(bv, rows, cols, view)
		d := s.poisoned(rows, 1, view)
		tr.RowDot(d.t, a.t, b.t)
		ref, mag := make([]float64, rows), make([]float64, rows)
		for r := range rows {
			for c := range cols {
				p := float64(av[r*cols+c]) * float64(bv[r*cols+c])
				ref[r] += p
				mag[r] += math.Abs(p)
			}
		}
		expectTerms(t, what, d.read(t, s.b, what), ref, mag, cols, s.tol())
		for _, o := range []*operand{a, b, d} {
			o.free(s.b)
		}
	}
}

// maskedAttentionCases cover GQA ratios 1 to 7, one token, head widths
// that are not a multiple of any vector length, and lengths across tiles.
var maskedAttentionCases = []struct{ n, heads, kvHeads, headDim int }{
	{1, 1, 1, 8},
	{5, 2, 2, 16},
	{17, 4, 2, 64},
	{33, 8, 2, 64},
	{20, 14, 2, 64},
	{40, 7, 1, 80},
	{9, 3, 3, 24},
	{6, 2, 1, 3},
	{130, 4, 1, 128},
}

// keepMask draws a keep mask of n values for variant v: 0 none (nil), 1
// zeros and ones (the training forward's hard masks), 2 values in [0, 1]
// (the gradient check's relaxed ones).
func (s *suite) keepMask(n, v int) []float32 {
	if v == 0 {
		return nil
	}
	k := make([]float32, n)
	for j := range k {
		if v == 1 {
			if s.rng.IntN(3) != 0 {
				k[j] = 1
			}
		} else {
			k[j] = float32(s.rng.Float64())
		}
	}
	return k
}

func (s *suite) testMaskedAttention(t *testing.T) {
	tr := s.trainer(t)
	for i, tc := range maskedAttentionCases {
		for variant := range 3 {
			view := (i+variant)%2 == 1
			sc := backend.AttentionShape{Heads: tc.heads, KVHeads: tc.kvHeads, HeadDim: tc.headDim, Scale: float32(1 / math.Sqrt(float64(tc.headDim)))}
			what := name("MaskedAttention n %d heads %d/%d dim %d mask %d view %v", tc.n, tc.heads, tc.kvHeads, tc.headDim, variant, view)
			qc, kc := tc.heads*tc.headDim, tc.kvHeads*tc.headDim
			qv, kv, vv := s.normals(tc.n*qc, 1.5), s.normals(tc.n*kc, 1.5), s.normals(tc.n*kc, 1)
			q, k, v := s.upload(qv, tc.n, qc, view), s.upload(kv, tc.n, kc, view), s.upload(vv, tc.n, kc, view)
			keepv := s.keepMask(tc.n, variant)
			var keep *operand
			var keepT backend.Tensor
			if keepv != nil {
				keep = s.upload(keepv, tc.n, 1, view)
				keepT = keep.t
			}
			d := s.poisoned(tc.n, qc, view)
			tr.MaskedAttention(d.t, q.t, k.t, v.t, keepT, sc)
			ref := make([]float64, tc.n*qc)
			nn.Attention(ref, widen(qv), widen(kv), widen(vv), widenOrNil(keepv), tc.n, nnShape(sc))
			expect(t, what, d.read(t, s.b, what), ref, s.tol())
			for _, o := range []*operand{q, k, v, d} {
				o.free(s.b)
			}
			if keep != nil {
				keep.free(s.b)
			}
		}
	}
}

func (s *suite) testMaskedAttentionBack(t *testing.T) {
	tr := s.trainer(t)
	for i, tc := range maskedAttentionCases {
		for variant := range 3 {
			view := (i+variant)%2 == 0
			withDKeep := variant != 0 || i%2 == 0
			sc := backend.AttentionShape{Heads: tc.heads, KVHeads: tc.kvHeads, HeadDim: tc.headDim, Scale: float32(1 / math.Sqrt(float64(tc.headDim)))}
			what := name("MaskedAttentionBack n %d heads %d/%d dim %d mask %d dkeep %v view %v", tc.n, tc.heads, tc.kvHeads, tc.headDim, variant, withDKeep, view)
			n, qc, kc := tc.n, tc.heads*tc.headDim, tc.kvHeads*tc.headDim
			qv, kv, vv, dov := s.normals(n*qc, 1.5), s.normals(n*kc, 1.5), s.normals(n*kc, 1), s.normals(n*qc, 1)
			q, k, v, dout := s.upload(qv, n, qc, view), s.upload(kv, n, kc, view), s.upload(vv, n, kc, view), s.upload(dov, n, qc, view)
			keepv := s.keepMask(n, variant)
			var keep, dkeep *operand
			var keepT, dkeepT backend.Tensor
			if keepv != nil {
				keep = s.upload(keepv, n, 1, view)
				keepT = keep.t
			}
			if withDKeep {
				dkeep = s.poisoned(n, 1, view)
				dkeepT = dkeep.t
			}
			dq, dk, dv := s.poisoned(n, qc, view), s.poisoned(n, kc, view), s.poisoned(n, kc, view)
			tr.MaskedAttentionBack(dq.t, dk.t, dv.t, dkeepT, dout.t, q.t, k.t, v.t, keepT, sc)

			refQ, refK, refV := make([]float64, n*qc), make([]float64, n*kc), make([]float64, n*kc)
			refKeep := make([]float64, n)
			keepRef := widenOrNil(keepv)
			if keepRef == nil {
				keepRef = make([]float64, n) // a nil mask is all ones, for dkeep too
				for j := range keepRef {
					keepRef[j] = 1
				}
			}
			nn.AttentionBack(refQ, refK, refV, refKeep, widen(dov), widen(qv), widen(kv), widen(vv), keepRef, n, nnShape(sc))
			expect(t, what+" dq", dq.read(t, s.b, what), refQ, s.tol())
			expect(t, what+" dk", dk.read(t, s.b, what), refK, s.tol())
			expect(t, what+" dv", dv.read(t, s.b, what), refV, s.tol())
			if dkeep != nil {
				expect(t, what+" dkeep", dkeep.read(t, s.b, what), refKeep, s.tol())
				dkeep.free(s.b)
			}
			for _, o := range []*operand{q, k, v, dout, dq, dk, dv} {
				o.free(s.b)
			}
			if keep != nil {
				keep.free(s.b)
			}
		}
	}
}

// crossEntropyShapes are rows × vocabulary sizes, up to a real vocabulary.
var crossEntropyShapes = [][2]int{{1, 1}, {2, 7}, {5, 1000}, {3, 32001}, {2, 152064}}

func (s *suite) testCrossEntropy(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range crossEntropyShapes {
		rows, vocab := sh[0], sh[1]
		view := i%2 == 1
		scale := []float32{1, 0.25, 1.0 / 3}[i%3]
		what := name("CrossEntropy %d×%d scale %v view %v", rows, vocab, scale, view)
		lv := s.normals(rows*vocab, 3)
		logits := s.upload(lv, rows, vocab, view)
		targets := make([]int32, rows)
		for r := range targets {
			targets[r] = int32(s.rng.IntN(vocab))
		}
		ids := s.b.Ints(targets)
		losses := s.poisoned(rows, 1, view)
		tr.CrossEntropy(losses.t, logits.t, ids, scale)
		refLoss, refGrad := make([]float64, rows), make([]float64, rows*vocab)
		for r := range rows {
			refLoss[r] = nn.CrossEntropy(refGrad[r*vocab:(r+1)*vocab], widen(lv[r*vocab:(r+1)*vocab]), int(targets[r]), float64(scale))
		}
		expect(t, what+" loss", losses.read(t, s.b, what), refLoss, s.tol())
		expect(t, what+" gradient", logits.read(t, s.b, what), refGrad, s.tol())
		logits.free(s.b)
		losses.free(s.b)
		s.b.FreeInts(ids)
	}
}

func (s *suite) testSoftCrossEntropy(t *testing.T) {
	tr := s.trainer(t)
	for i, sh := range crossEntropyShapes {
		rows, vocab := sh[0], sh[1]
		view := i%2 == 0
		scale := []float32{1, 0.5, 1.0 / 7}[i%3]
		what := name("SoftCrossEntropy %d×%d scale %v view %v", rows, vocab, scale, view)
		lv, pv := s.normals(rows*vocab, 3), s.normals(rows*vocab, 3)
		for r := range rows { // the teacher holds log-probabilities
			row := widen(pv[r*vocab : (r+1)*vocab])
			nn.LogSoftmax(row, row)
			for j, v := range row {
				pv[r*vocab+j] = float32(v)
			}
		}
		logits, teacher := s.upload(lv, rows, vocab, view), s.upload(pv, rows, vocab, view)
		losses := s.poisoned(rows, 1, view)
		tr.SoftCrossEntropy(losses.t, logits.t, teacher.t, scale)
		refLoss, refGrad := make([]float64, rows), make([]float64, rows*vocab)
		for r := range rows {
			lq := widen(lv[r*vocab : (r+1)*vocab])
			nn.LogSoftmax(lq, lq)
			for j, l := range lq {
				p := math.Exp(float64(pv[r*vocab+j]))
				refLoss[r] -= p * l
				refGrad[r*vocab+j] = float64(scale) * (math.Exp(l) - p)
			}
		}
		expect(t, what+" loss", losses.read(t, s.b, what), refLoss, s.tol())
		expect(t, what+" gradient", logits.read(t, s.b, what), refGrad, s.tol())
		for _, o := range []*operand{logits, teacher, losses} {
			o.free(s.b)
		}
	}
}

// nnShape is the attention shape in train/nn's terms.
func nnShape(s backend.AttentionShape) nn.AttnShape {
	return nn.AttnShape{Heads: s.Heads, KVHeads: s.KVHeads, HeadDim: s.HeadDim, Scale: float64(s.Scale)}
}

func widenOrNil(v []float32) []float64 {
	if v == nil {
		return nil
	}
	return widen(v)
}

func absAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Abs(x)
	}
	return out
}
