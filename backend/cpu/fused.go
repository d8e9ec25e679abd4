package cpu

import (
	"math"

	"github.com/sdtp/sdtp/backend"
)

// The optional fused ops of backend/fused.go. Their results are those of
// the composed ops bit for bit: the same kernels run on the same operands
// in the same order; fusing saves passes of the worker pool (a decode step
// makes hundreds) and passes over memory.

// gateUpRows bounds the rows GateUp multiplies at once when it composes
// (more than gemvRows rows): the up projection's rows wait in a buffer of
// gateUpRows×m floats.
const gateUpRows = 1024

// QKV sets q = x·wqᵀ+bq, k = x·wkᵀ+bk, v = x·wvᵀ+bv (biases may be nil).
// A decode step's three products share one pass of the pool.
func (b *Backend) QKV(q, k, v, x backend.Tensor, wq, wk, wv, bq, bk, bv backend.Weight) {
	xt := asTensor(x)
	if xt.rows > gemvRows {
		b.MatMul(q, x, wq, bq)
		b.MatMul(k, x, wk, bk)
		b.MatMul(v, x, wv, bv)
		return
	}
	outs := make([]gemvOut, 3)
	biases := [3]*weight{}
	m := 0
	for j, p := range []struct {
		d    backend.Tensor
		w, b backend.Weight
	}{{q, wq, bq}, {k, wk, bk}, {v, wv, bv}} {
		d, w := asTensor(p.d), asWeight(p.w)
		checkMatMul(d, xt, w)
		if p.b != nil {
			biases[j] = asWeight(p.b)
			checkBias(biases[j], w)
		}
		outs[j] = gemvOut{d: d, w: w}
		m += w.rows
	}
	defer b.lock()()
	if xt.rows == 0 {
		return
	}
	row := b.sharedScratch(m)
	for j := range outs {
		outs[j].bias = b.biasRow(row[:outs[j].w.rows], biases[j])
		row = row[outs[j].w.rows:]
	}
	b.gemv(xt, outs)
}

// GateUp sets dst = silu(x·gateᵀ) * (x·upᵀ). For a decode step each task
// computes a block of both products and applies SiLU-mul to it while it
// is in cache; more rows compose MatMul, MatMul and SiLUMul, gateUpRows
// rows at a time.
func (b *Backend) GateUp(dst, x backend.Tensor, gate, up backend.Weight) {
	d, xt, gw, uw := asTensor(dst), asTensor(x), asWeight(gate), asWeight(up)
	checkMatMul(d, xt, gw)
	checkMatMul(d, xt, uw)
	n, m := xt.rows, gw.rows
	// SiLUMul's SIMD kernels may differ from its Go tail in the last bit;
	// blocks of one row put the tail where the composed op does when
	// there is one row, or no tail at all.
	if n <= gemvRows && (n == 1 || m%8 == 0) {
		b.gateUpGemv(d, xt, gw, uw)
		return
	}
	defer b.lock()()
	if n == 0 || m == 0 {
		return
	}
	zero := b.biasRow(b.sharedScratch(m), nil)
	for r := 0; r < n; r += gateUpRows {
		rc := min(gateUpRows, n-r)
		xr := &tensor{data: xt.data[r*xt.cols : (r+rc)*xt.cols], rows: rc, cols: xt.cols, view: true}
		dr := &tensor{data: d.data[r*m : (r+rc)*m], rows: rc, cols: m, view: true}
		u := b.gateUpBuffer(rc, m)
		b.matMul(dr, xr, gw, zero)
		b.matMul(u, xr, uw, zero)
		b.flatParallel(len(dr.data), func(lo, hi int) {
			b.k.siluMul(dr.data[lo:hi], dr.data[lo:hi], u.data[lo:hi])
		})
	}
}

// gateUpGemv is GateUp for at most gemvRows rows.
func (b *Backend) gateUpGemv(d, x *tensor, gate, up *weight) {
	defer b.lock()()
	n, m := x.rows, gate.rows
	if n == 0 || m == 0 {
		return
	}
	buf := b.sharedScratch(m + n*m)
	zero, u := buf[:m], &tensor{data: buf[m:], rows: n, cols: m, view: true}
	clear(zero)
	g := gemvOut{d: d, w: gate, bias: zero}
	uo := gemvOut{d: u, w: up, bias: zero}
	b.panelsOf(gate)
	b.panelsOf(up)
	blk := b.gemvBlock(m)
	b.parallel((m+blk-1)/blk, func(_, t int) {
		c0, c1 := t*blk, min(m, (t+1)*blk)
		b.gemvRows(x, g, c0, c1)
		b.gemvRows(x, uo, c0, c1)
		for r := range n {
			dr := d.row(r)[c0:c1]
			b.k.siluMul(dr, dr, u.row(r)[c0:c1])
		}
	})
}

// gateUpBuffer returns a rows×cols tensor over the backend's GateUp buffer.
func (b *Backend) gateUpBuffer(rows, cols int) *tensor {
	if cap(b.gateUp) < rows*cols {
		b.account(4 * int64(rows*cols-cap(b.gateUp)))
		b.gateUp = make([]float32, rows*cols)
	}
	return &tensor{data: b.gateUp[:rows*cols], rows: rows, cols: cols, view: true}
}

// AddRMSNorm sets x = x + d, then dst = RMSNorm(x)·w, in one pass over
// the rows. dst may be d.
func (b *Backend) AddRMSNorm(dst, x, d backend.Tensor, w backend.Weight, eps float32) {
	dt, xt, dd := asTensor(dst), asTensor(x), asTensor(d)
	sameShape("AddRMSNorm", dt, xt, dd)
	b.normRows("AddRMSNorm", xt, asWeight(w), func(lo, hi int, wr []float32) {
		for i := lo; i < hi; i++ {
			xr, ar := xt.row(i), dd.row(i)
			for j := range xr {
				xr[j] += ar[j]
			}
			rmsNormRow(dt.row(i), xr, wr, eps)
		}
	})
}

// rmsNormRow sets dr = xr / sqrt(mean(xr²) + eps) * w; dr may be xr.
func rmsNormRow(dr, xr, w []float32, eps float32) {
	var ss float64
	for _, v := range xr {
		ss += float64(v) * float64(v)
	}
	inv := float32(1 / math.Sqrt(ss/float64(len(xr))+float64(eps)))
	for j, v := range xr {
		dr[j] = v * inv * w[j]
	}
}
