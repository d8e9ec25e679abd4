package cpu

import "github.com/sdtp/sdtp/backend"

// GEMV tiling: a task is a block of consecutive rows of one weight
// (gemvBlock). Rows of
// at most dot1MaxK elements are read one at a time, front to back, so a
// task streams one contiguous stretch of memory (the hardware prefetcher
// follows four short row streams poorly); longer rows are read from the
// weight's decoding copy in panels of at most dot1MaxK columns (panels.go),
// or, past the copies' budget, four rows at a time, which reads x once per
// four rows while x no longer fits beside a row in L1.
const (
	minGemvBlock = 32
	maxGemvBlock = 128
	dot1MaxK     = 2048
)

// gemvBlock is the rows per task of a GEMV over a weight of rows rows: as
// many as leave each worker four tasks or more, a multiple of 32 from 32 to
// 128. Longer tasks read longer contiguous stretches, which two cores
// stream about a tenth faster than 32-row ones; the four tasks per worker
// keep the work balanced. A function of the weight and the backend only, so
// a weight's decoding copy (panels.go) can be laid out by it.
func (b *Backend) gemvBlock(rows int) int {
	blk := rows / (4 * b.threads) / minGemvBlock * minGemvBlock
	return min(max(blk, minGemvBlock), maxGemvBlock)
}

// gemvOut is one product of a gemv call: d = x·wᵀ + bias.
type gemvOut struct {
	d    *tensor
	w    *weight
	bias []float32
}

// gemv computes every product of outs for the few rows of x (at most
// gemvRows), reading each weight once from memory for all rows; the
// products share one pass of the pool.
func (b *Backend) gemv(x *tensor, outs []gemvOut) {
	var first, block [4]int // first task and rows per task of each product; at most three products
	tasks := 0
	for j, o := range outs {
		b.panelsOf(o.w)
		first[j], block[j] = tasks, b.gemvBlock(o.w.rows)
		tasks += (o.w.rows + block[j] - 1) / block[j]
	}
	b.parallel(tasks, func(_, t int) {
		j := len(outs) - 1
		for t < first[j] {
			j--
		}
		o := outs[j]
		c0 := (t - first[j]) * block[j]
		b.gemvRows(x, o, c0, min(o.w.rows, c0+block[j]))
	})
}

// gemvRows computes columns [c0, c1) of o.d.
func (b *Backend) gemvRows(x *tensor, o gemvOut, c0, c1 int) {
	n, k, w := x.rows, x.cols, o.w
	if w.panels != nil {
		b.gemvPanels(x, o, w.panels, c0, c1)
		return
	}
	kv := k / b.k.vec * b.k.vec
	if k <= dot1MaxK {
		for c := c0; c < c1; c++ {
			for r := range n {
				o.d.row(r)[c] = b.spanDot(x.row(r), w.dt, w.f32, w.u16, c*k, kv) + o.bias[c]
			}
		}
		return
	}
	c := c0
	var out [4]float32
	for ; c+4 <= c1; c += 4 {
		for r := range n {
			xr := x.row(r)
			switch w.dt {
			case backend.F32:
				b.k.dot4F32(&xr[0], &w.f32[c*k], k, kv, &out)
			case backend.BF16:
				b.k.dot4BF16(&xr[0], &w.u16[c*k], k, kv, &out)
			case backend.F16:
				b.k.dot4F16(&xr[0], &w.u16[c*k], k, kv, &out)
			}
			dr := o.d.row(r)
			for q := range 4 {
				dr[c+q] = out[q] + tailDot(xr, w, c+q, kv) + o.bias[c+q]
			}
		}
	}
	for ; c < c1; c++ {
		for r := range n {
			o.d.row(r)[c] = tailDot(x.row(r), w, c, 0) + o.bias[c]
		}
	}
}

// spanDot returns the dot product of x with the len(x) stored values of
// type dt at off in f32 or u16 (a weight row, or a panel's segment of one):
// the one-row kernel over the first kv (a multiple of the kernels' vector
// width), plain Go over the rest, added after.
func (b *Backend) spanDot(x []float32, dt backend.DType, f32 []float32, u16 []uint16, off, kv int) float32 {
	var s float32
	if kv > 0 {
		switch dt {
		case backend.F32:
			s = b.k.dot1F32(&x[0], &f32[off], kv)
		case backend.BF16:
			s = b.k.dot1BF16(&x[0], &u16[off], kv)
		default:
			s = b.k.dot1F16(&x[0], &u16[off], kv)
		}
	}
	return s + restDot(x[kv:], dt, f32, u16, off+kv)
}

// tailDot returns the dot product of xr[from:] and weight row c from column
// from on, in plain Go.
func tailDot(xr []float32, w *weight, c, from int) float32 {
	return restDot(xr[from:], w.dt, w.f32, w.u16, c*w.cols+from)
}

// restDot returns the dot product of x with the len(x) stored values of
// type dt at off in f32 or u16, in plain Go.
func restDot(x []float32, dt backend.DType, f32 []float32, u16 []uint16, off int) float32 {
	var s float32
	switch dt {
	case backend.F32:
		s = dotGo(x, f32[off:off+len(x)])
	case backend.BF16:
		for i, u := range u16[off : off+len(x)] {
			s += x[i] * bf16(u)
		}
	case backend.F16:
		for i, u := range u16[off : off+len(x)] {
			s += x[i] * f16(u)
		}
	}
	return s
}
