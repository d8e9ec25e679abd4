package cpu

import "github.com/sdtp/sdtp/backend"

// Decoding reads every weight once per step, so its speed is the rate at
// which the GEMV streams weights from memory. A row longer than dot1MaxK
// (the down projection's 4864 elements in a Qwen2-0.5B shape) is read with
// an activation row x too large to stay in L1 beside the streaming weights
// (19 KB in float32), and the stream slows to about two thirds
// (docs/PERFORMANCE.md, "Long rows"). Such a weight gets, at its first
// GEMV, a second copy laid out for decoding: per GEMV task (gemvBlock rows),
// the columns cut into panels of at most dot1MaxK, each panel's rows
// contiguous. A task then reads one contiguous stretch of memory while the
// x segment of the panel stays in L1. The copy costs the weight's size
// again, so the backend makes copies up to defaultPanelBudget bytes in all and
// reads longer rows in place beyond it. Prefill (the blocked GEMM) reads
// the original.
const defaultPanelBudget = 1 << 30

// panels is a weight's decoding copy.
type panels struct {
	width int // panel width: a multiple of 16; the last panel may be narrower
	block int // rows per GEMV task, as the copy is laid out
	f32   []float32
	u16   []uint16
}

// panelWidth is the width of the equal panels, a multiple of 16 and at most
// dot1MaxK, that cover cols columns with the fewest panels.
func panelWidth(cols int) int {
	n := (cols + dot1MaxK - 1) / dot1MaxK
	w := (cols + n - 1) / n
	return (w + 15) / 16 * 16
}

// panelsOf returns w's decoding copy, making it if w has long rows and the
// budget allows; nil means read w in place. The caller holds the op lock.
func (b *Backend) panelsOf(w *weight) *panels {
	if w.cols <= dot1MaxK || w.noPanels {
		return w.panels
	}
	if w.panels != nil {
		return w.panels
	}
	bytes := int64(w.rows) * int64(w.cols) * int64(w.dt.Size())
	if b.panelBytes.Load()+bytes > b.panelBudget {
		w.noPanels = true
		return nil
	}
	p := &panels{width: panelWidth(w.cols), block: b.gemvBlock(w.rows)}
	if w.dt == backend.F32 {
		p.f32 = make([]float32, 0, w.rows*w.cols)
		packPanels(&p.f32, w.f32, w.rows, w.cols, p.width, p.block)
	} else {
		p.u16 = make([]uint16, 0, w.rows*w.cols)
		packPanels(&p.u16, w.u16, w.rows, w.cols, p.width, p.block)
	}
	b.panelBytes.Add(bytes)
	w.panelBytes = bytes
	b.account(bytes)
	w.panels = p
	return p
}

// packPanels appends the rows×cols row-major src to dst in decoding
// order: blocks of block rows, in each the panels of width columns, in
// each the block's rows.
func packPanels[T float32 | uint16](dst *[]T, src []T, rows, cols, width, block int) {
	for r0 := 0; r0 < rows; r0 += block {
		r1 := min(rows, r0+block)
		for p := 0; p < cols; p += width {
			pw := min(width, cols-p)
			for r := r0; r < r1; r++ {
				*dst = append(*dst, src[r*cols+p:r*cols+p+pw]...)
			}
		}
	}
}

// gemvPanels computes columns [c0, c1) of o.d, c0 a multiple of p.block,
// from the decoding copy p: for every panel, the dot product of each row's
// segment with x's, in panel order.
func (b *Backend) gemvPanels(x *tensor, o gemvOut, p *panels, c0, c1 int) {
	n, k := x.rows, x.cols
	var acc [gemvRows][maxGemvBlock]float32
	off := c0 * k // the block's start: every block before it is full
	for p0 := 0; p0 < k; p0 += p.width {
		pw := min(p.width, k-p0)
		kv := pw / b.k.vec * b.k.vec
		for c := range c1 - c0 {
			for r := range n {
				xr := x.row(r)[p0 : p0+pw]
				acc[r][c] += b.spanDot(xr, o.w.dt, p.f32, p.u16, off, kv)
			}
			off += pw
		}
	}
	for r := range n {
		dr := o.d.row(r)
		for c := range c1 - c0 {
			dr[c0+c] = acc[r][c] + o.bias[c0+c]
		}
	}
}
