package cpu

import (
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
)

// flatChunk is the number of elements of one task of an element-wise op.
const flatChunk = 1 << 14

// flatParallel runs fn over [0, n) in chunks on the pool.
func (b *Backend) flatParallel(n int, fn func(lo, hi int)) {
	b.parallel((n+flatChunk-1)/flatChunk, func(_, t int) {
		fn(t*flatChunk, min(n, (t+1)*flatChunk))
	})
}

// Embed sets dst[i] = table[ids[i]].
func (b *Backend) Embed(dst backend.Tensor, table backend.Weight, ids backend.Ints) {
	d, w, idx := asTensor(dst), asWeight(table), asInts(ids)
	if d.rows != len(idx) || d.cols != w.cols {
		panic(fmt.Sprintf("cpu backend: Embed %d ids of a %d×%d table into %d×%d", len(idx), w.rows, w.cols, d.rows, d.cols))
	}
	checkIndices("Embed", idx, w.rows)
	defer b.lock()()
	b.rowsParallel(d.rows, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			b.k.widenRow(d.row(i), w, int(idx[i]), 0)
		}
	})
}

func checkIndices(op string, idx []int32, rows int) {
	for i, v := range idx {
		if v < 0 || int(v) >= rows {
			panic(fmt.Sprintf("cpu backend: %s index %d is %d, outside [0, %d)", op, i, v, rows))
		}
	}
}

// Gather sets dst[i] = x[idx[i]].
func (b *Backend) Gather(dst, x backend.Tensor, idx backend.Ints) {
	d, xt, ix := asTensor(dst), asTensor(x), asInts(idx)
	if d.rows != len(ix) || d.cols != xt.cols {
		panic(fmt.Sprintf("cpu backend: Gather %d rows of %d×%d into %d×%d", len(ix), xt.rows, xt.cols, d.rows, d.cols))
	}
	checkIndices("Gather", ix, xt.rows)
	defer b.lock()()
	for i, r := range ix {
		copy(d.row(i), xt.row(int(r)))
	}
}

// RMSNorm sets dst[i] = x[i] / sqrt(mean(x[i]²) + eps) * w. dst may be x.
func (b *Backend) RMSNorm(dst, x backend.Tensor, w backend.Weight, eps float32) {
	d, xt, wt := asTensor(dst), asTensor(x), asWeight(w)
	sameShape("RMSNorm", xt, d)
	b.normRows("RMSNorm", xt, wt, func(lo, hi int, wr []float32) {
		for i := lo; i < hi; i++ {
			rmsNormRow(d.row(i), xt.row(i), wr, eps)
		}
	})
}

// normRows runs fn over ranges of x's rows on the pool, with the norm
// weight w widened into wr, under the op lock; op names the caller in the
// panic for a w that does not fit x's rows.
func (b *Backend) normRows(op string, x *tensor, w *weight, fn func(lo, hi int, wr []float32)) {
	if w.rows*w.cols != x.cols {
		panic(fmt.Sprintf("cpu backend: %s weight %d×%d for rows of %d", op, w.rows, w.cols, x.cols))
	}
	defer b.lock()()
	if x.cols == 0 {
		return
	}
	wr := b.sharedScratch(x.cols)
	b.k.widenRow(wr, w, 0, 0)
	b.rowsParallel(x.rows, 8, func(lo, hi int) { fn(lo, hi, wr) })
}

// RoPE rotates each head of every row of x in place by pos[row]·invFreq[j]
// for pair j. The angle is the float32 product, as Hugging Face computes
// it; its cosine and sine are rounded from float64.
func (b *Backend) RoPE(x backend.Tensor, pos backend.Ints, heads, headDim int, invFreq []float32) {
	xt, p := asTensor(x), asInts(pos)
	if heads*headDim != xt.cols || headDim%2 != 0 || len(invFreq) != headDim/2 || len(p) != xt.rows {
		panic(fmt.Sprintf("cpu backend: RoPE of %d×%d with %d positions, %d heads of %d, %d frequencies", xt.rows, xt.cols, len(p), heads, headDim, len(invFreq)))
	}
	defer b.lock()()
	half := headDim / 2
	b.rowsParallel(xt.rows, 8, func(lo, hi int) {
		cs := make([]float32, 2*half)
		cos, sin := cs[:half], cs[half:]
		for i := lo; i < hi; i++ {
			ps := float32(p[i])
			for j, f := range invFreq {
				s, c := math.Sincos(float64(ps * f))
				cos[j], sin[j] = float32(c), float32(s)
			}
			xr := xt.row(i)
			for h := range heads {
				hv := xr[h*headDim : (h+1)*headDim]
				for j := range half {
					x0, x1 := hv[j], hv[j+half]
					hv[j] = x0*cos[j] - x1*sin[j]
					hv[j+half] = x1*cos[j] + x0*sin[j]
				}
			}
		}
	})
}

// SiLUMul sets dst = silu(a)·b element-wise.
func (b *Backend) SiLUMul(dst, a, bt backend.Tensor) {
	d, at, btt := asTensor(dst), asTensor(a), asTensor(bt)
	sameShape("SiLUMul", d, at, btt)
	defer b.lock()()
	b.flatParallel(len(d.data), func(lo, hi int) {
		b.k.siluMul(d.data[lo:hi], at.data[lo:hi], btt.data[lo:hi])
	})
}

// GELU sets dst = x·Φ(x) (exact, with erf).
func (b *Backend) GELU(dst, x backend.Tensor) {
	d, xt := asTensor(dst), asTensor(x)
	sameShape("GELU", d, xt)
	defer b.lock()()
	b.flatParallel(len(d.data), func(lo, hi int) {
		for i, v := range xt.data[lo:hi] {
			d.data[lo+i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	})
}

// Add sets dst = a + b; dst may be a or b.
func (b *Backend) Add(dst, a, bt backend.Tensor) {
	d, at, btt := asTensor(dst), asTensor(a), asTensor(bt)
	sameShape("Add", d, at, btt)
	defer b.lock()()
	b.flatParallel(len(d.data), func(lo, hi int) {
		dd, aa, bb := d.data[lo:hi], at.data[lo:hi], btt.data[lo:hi]
		for i := range dd {
			dd[i] = aa[i] + bb[i]
		}
	})
}

// Copy sets dst = src.
func (b *Backend) Copy(dst, src backend.Tensor) {
	d, s := asTensor(dst), asTensor(src)
	sameShape("Copy", d, s)
	defer b.lock()()
	copy(d.data, s.data)
}
