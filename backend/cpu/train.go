package cpu

import (
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
)

// The training ops (backend.Trainer). They serve the conformance suite and
// the device decoder's tests on small models; the host's float64 decoder
// (train/lm) is what trains on the CPU, so these favour plain, exact code
// (float64 accumulation where a sum is long) over speed.

var _ backend.Trainer = (*Backend)(nil)

// Zero sets every element of t to 0.
func (b *Backend) Zero(t backend.Tensor) {
	x := asTensor(t)
	defer b.lock()()
	clear(x.data)
}

// backInputRows is the number of weight rows MatMulBackInput widens at once.
const backInputRows = 64

// MatMulBackInput sets (or adds to) dx the product dy·w.
func (b *Backend) MatMulBackInput(dx, dy backend.Tensor, w backend.Weight, accumulate bool) {
	d, g, wt := asTensor(dx), asTensor(dy), asWeight(w)
	if g.cols != wt.rows || d.cols != wt.cols || d.rows != g.rows {
		panic(fmt.Sprintf("cpu backend: MatMulBackInput dx %d×%d, dy %d×%d, w %d×%d", d.rows, d.cols, g.rows, g.cols, wt.rows, wt.cols))
	}
	defer b.lock()()
	if !accumulate {
		clear(d.data)
	}
	k := wt.cols
	if k == 0 {
		return
	}
	for j0 := 0; j0 < wt.rows; j0 += backInputRows {
		j1 := min(j0+backInputRows, wt.rows)
		block := b.sharedScratch((j1 - j0) * k)
		for j := j0; j < j1; j++ {
			b.k.widenRow(block[(j-j0)*k:(j-j0+1)*k], wt, j, 0)
		}
		b.rowsParallel(d.rows, 4, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dxr, dyr := d.row(i), g.row(i)
				for j := j0; j < j1; j++ {
					if c := dyr[j]; c != 0 {
						axpy32(dxr, c, block[(j-j0)*k:(j-j0+1)*k])
					}
				}
			}
		})
	}
}

// MatMulBackWeight sets dw = dyᵀ·x.
func (b *Backend) MatMulBackWeight(dw, dy, x backend.Tensor) {
	d, g, xt := asTensor(dw), asTensor(dy), asTensor(x)
	if g.rows != xt.rows || d.rows != g.cols || d.cols != xt.cols {
		panic(fmt.Sprintf("cpu backend: MatMulBackWeight dw %d×%d, dy %d×%d, x %d×%d", d.rows, d.cols, g.rows, g.cols, xt.rows, xt.cols))
	}
	defer b.lock()()
	b.parallel(d.rows, func(worker, j int) {
		acc := b.workerScratch64(worker, d.cols)
		clear(acc)
		for i := range g.rows {
			c := float64(g.data[i*g.cols+j])
			if c == 0 {
				continue
			}
			for e, v := range xt.row(i) {
				acc[e] += c * float64(v)
			}
		}
		for e, v := range acc {
			d.data[j*d.cols+e] = float32(v)
		}
	})
}

// RMSNormBack adds the gradient of RMSNorm(x)·w with respect to x to dx.
func (b *Backend) RMSNormBack(dx, dy, x backend.Tensor, w backend.Weight, eps float32) {
	d, g, xt, wt := asTensor(dx), asTensor(dy), asTensor(x), asWeight(w)
	sameShape("RMSNormBack", xt, d, g)
	if wt.rows*wt.cols != xt.cols {
		panic(fmt.Sprintf("cpu backend: RMSNormBack weight %d×%d for rows of %d", wt.rows, wt.cols, xt.cols))
	}
	defer b.lock()()
	n := xt.cols
	if n == 0 {
		return
	}
	wr := b.sharedScratch(n)
	b.k.widenRow(wr, wt, 0, 0)
	b.rowsParallel(xt.rows, 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr, gr, dr := xt.row(i), g.row(i), d.row(i)
			var ss, s float64
			for k, v := range xr {
				ss += float64(v) * float64(v)
				s += float64(gr[k]) * float64(wr[k]) * float64(v)
			}
			r := 1 / math.Sqrt(ss/float64(n)+float64(eps))
			c := r * r * r / float64(n) * s
			for j, v := range xr {
				dr[j] += float32(r*float64(wr[j])*float64(gr[j]) - c*float64(v))
			}
		}
	})
}

// SiLUMulBack sets da and db to the gradients of silu(a)·b given dy.
func (b *Backend) SiLUMulBack(da, db, dy, a, bt backend.Tensor) {
	ga, gb, g, at, btt := asTensor(da), asTensor(db), asTensor(dy), asTensor(a), asTensor(bt)
	sameShape("SiLUMulBack", g, ga, gb, at, btt)
	defer b.lock()()
	b.flatParallel(len(g.data), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(at.data[i])
			s := sigmoid64(v)
			gi := float64(g.data[i])
			ga.data[i] = float32(gi * float64(btt.data[i]) * s * (1 + v*(1-s)))
			gb.data[i] = float32(gi * v * s)
		}
	})
}

// GELUBack sets dx = dy·(Φ(x) + x·φ(x)).
func (b *Backend) GELUBack(dx, dy, x backend.Tensor) {
	d, g, xt := asTensor(dx), asTensor(dy), asTensor(x)
	sameShape("GELUBack", d, g, xt)
	defer b.lock()()
	b.flatParallel(len(d.data), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(xt.data[i])
			cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
			pdf := math.Exp(-0.5*v*v) / math.Sqrt(2*math.Pi)
			d.data[i] = float32(float64(g.data[i]) * (cdf + v*pdf))
		}
	})
}

// RowDot sets dst[i] = Σ_j a[i][j]·b[i][j].
func (b *Backend) RowDot(dst, a, bt backend.Tensor) {
	d, at, btt := asTensor(dst), asTensor(a), asTensor(bt)
	sameShape("RowDot", at, btt)
	if d.rows != at.rows || d.cols != 1 {
		panic(fmt.Sprintf("cpu backend: RowDot into %d×%d for %d rows", d.rows, d.cols, at.rows))
	}
	defer b.lock()()
	b.rowsParallel(at.rows, 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			br := btt.row(i)
			for j, v := range at.row(i) {
				s += float64(v) * float64(br[j])
			}
			d.data[i] = float32(s)
		}
	})
}

// CrossEntropy sets losses and turns each row of logits into its gradient.
func (b *Backend) CrossEntropy(losses, logits backend.Tensor, targets backend.Ints, scale float32) {
	l, lg, tg := asTensor(losses), asTensor(logits), asInts(targets)
	if l.rows != lg.rows || l.cols != 1 || len(tg) != lg.rows {
		panic(fmt.Sprintf("cpu backend: CrossEntropy losses %d×%d, logits %d×%d, %d targets", l.rows, l.cols, lg.rows, lg.cols, len(tg)))
	}
	checkIndices("CrossEntropy", tg, lg.cols)
	defer b.lock()()
	b.parallel(lg.rows, func(_, i int) {
		row := lg.row(i)
		lse := logSumExp(row)
		l.data[i] = float32(lse - float64(row[tg[i]]))
		for j, v := range row {
			row[j] = scale * float32(math.Exp(float64(v)-lse))
		}
		row[tg[i]] -= scale
	})
}

// SoftCrossEntropy sets losses against the teacher's log-probabilities and
// turns each row of logits into its gradient.
func (b *Backend) SoftCrossEntropy(losses, logits, teacher backend.Tensor, scale float32) {
	l, lg, tt := asTensor(losses), asTensor(logits), asTensor(teacher)
	sameShape("SoftCrossEntropy", lg, tt)
	if l.rows != lg.rows || l.cols != 1 {
		panic(fmt.Sprintf("cpu backend: SoftCrossEntropy losses %d×%d for %d rows", l.rows, l.cols, lg.rows))
	}
	defer b.lock()()
	b.parallel(lg.rows, func(_, i int) {
		row, tr := lg.row(i), tt.row(i)
		lse := logSumExp(row)
		var loss float64
		for j, v := range row {
			lq := float64(v) - lse
			p := math.Exp(float64(tr[j]))
			loss -= p * lq
			row[j] = scale * float32(math.Exp(lq)-p)
		}
		l.data[i] = float32(loss)
	})
}

// logSumExp returns log Σ exp(x) in float64.
func logSumExp(x []float32) float64 {
	top := math.Inf(-1)
	for _, v := range x {
		top = max(top, float64(v))
	}
	var z float64
	for _, v := range x {
		z += math.Exp(float64(v) - top)
	}
	return top + math.Log(z)
}

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// axpy32 adds alpha·x to y.
func axpy32(y []float32, alpha float32, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// workerScratch64 returns worker w's float64 scratch with at least n values.
func (b *Backend) workerScratch64(w, n int) []float64 {
	if cap(b.scratch64[w]) < n {
		b.account(8 * int64(n-cap(b.scratch64[w])))
		b.scratch64[w] = make([]float64, n)
	}
	return b.scratch64[w][:n]
}
