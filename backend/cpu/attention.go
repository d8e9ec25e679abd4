package cpu

import (
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
)

// Attention tiling: a task is one key/value head and a block of queries;
// its rows are (query, query head of the group) pairs, about attnRows of
// them, so a decode step still fills the kernels' row tiles.
const (
	attnRows = 48
	// attnMaxScores caps the floats of one task's score block.
	attnMaxScores = 1 << 22
	// attnTransposeK is the least number of queries for which K is
	// transposed so that the scores come from the nn kernel too; below
	// it (decode) the nt kernel reads K in place.
	attnTransposeK = 16
	// attnKeyBlock is the number of keys of V the weighted sum keeps in L1
	// while every row tile of the task passes by.
	attnKeyBlock = 128
)

// Attention computes causal grouped-query attention (see backend.Backend).
//
// For each task the scores S = Q·Kᵀ come from the nn kernel over K
// transposed once per call (prefill) or from the nt kernel over K in place
// (a few queries: decode); each row gets a max-subtracted softmax over the
// keys it may see (zeros beyond), and P·V comes from the nn kernel,
// normalised at the end. Every task writes only its own rows and heads
// of dst.
func (b *Backend) Attention(dst, q, k, v backend.Tensor, s backend.AttentionShape) {
	d, qt, kt, vt := asTensor(dst), asTensor(q), asTensor(k), asTensor(v)
	h, g, hd := s.Heads, s.KVHeads, s.HeadDim
	if h <= 0 || g <= 0 || hd <= 0 || h%g != 0 {
		panic(fmt.Sprintf("cpu backend: Attention shape %+v", s))
	}
	if qt.cols != h*hd || kt.cols != g*hd || vt.cols != g*hd || kt.rows != vt.rows || kt.rows < qt.rows {
		panic(fmt.Sprintf("cpu backend: Attention q %d×%d, k %d×%d, v %d×%d for shape %+v", qt.rows, qt.cols, kt.rows, kt.cols, vt.rows, vt.cols, s))
	}
	sameShape("Attention", qt, d)
	defer b.lock()()
	if qt.rows == 0 {
		return
	}
	b.attend(&attention{b: b, k: b.k, d: d, q: qt, kt: kt, s: s}, vt)
}

// attend runs a's tasks over every key/value head and query block: the
// whole attention, or with vt nil and a.mass set the scores and softmax
// only, each task adding its attention weights to a.mass (AttentionMass).
func (b *Backend) attend(a *attention, vt *tensor) {
	s := a.s
	g, hd := s.KVHeads, s.HeadDim
	a.group, a.nq, a.nk, a.off = s.Heads/g, a.q.rows, a.kt.rows, a.kt.rows-a.q.rows
	a.rowPad = lcm(a.k.ntRows, a.k.nnRows)
	// Shared scratch: V padded (when needed), then K transposed (when used).
	a.dp = (hd + a.k.nnCols - 1) / a.k.nnCols * a.k.nnCols
	vSize, kSize := 0, 0
	if vt != nil && a.dp != hd {
		vSize = g * a.nk * a.dp
	}
	if a.nq >= attnTransposeK {
		a.nkPad = (a.nk + a.k.nnCols - 1) / a.k.nnCols * a.k.nnCols
		kSize = g * hd * a.nkPad
	}
	shared := b.sharedScratch(vSize + kSize)
	if vt != nil {
		a.packV(vt, shared[:vSize])
	}
	if kSize > 0 {
		a.packKT(shared[vSize:])
	}
	a.qbs = max(1, (attnRows+a.group-1)/a.group)
	for a.qbs > 1 && a.rowsPadded(a.qbs)*(a.nk+a.k.nnCols) > attnMaxScores {
		a.qbs /= 2
	}
	blocks := (a.nq + a.qbs - 1) / a.qbs
	b.parallel(g*blocks, func(worker, t int) {
		// Latest query blocks have the most keys: hand them out first.
		a.task(worker, t%g, blocks-1-t/g)
	})
}

// attention holds one Attention call's operands and tiling.
type attention struct {
	b           *Backend
	k           *kernels
	d, q, kt    *tensor
	s           backend.AttentionShape
	group       int // query heads per key/value head
	nq, nk, off int // query i stands at key index off+i
	rowPad      int // task rows are padded to a multiple of this
	qbs         int // queries per task
	vb          []float32
	ldv, dp     int // v row stride and padded head width in vb
	vHeadOffset int // offset of kv head 1 from kv head 0 in vb
	// kT is K transposed, per kv head HeadDim rows of nkPad keys; nil when
	// the scores read K in place.
	kT    []float32
	nkPad int
	// mass, when set, receives each task's attention weights instead of
	// the weighted sum of values being computed.
	mass *massSums
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

func (a *attention) rowsPadded(queries int) int {
	return (queries*a.group + a.rowPad - 1) / a.rowPad * a.rowPad
}

// packV makes V readable by the nn kernel: in place when the head width is
// a multiple of the kernel's columns, else copied into buf with zero
// padding to a.dp columns.
func (a *attention) packV(v *tensor, buf []float32) {
	hd := a.s.HeadDim
	if a.dp == hd {
		a.vb, a.ldv, a.vHeadOffset = v.data, v.cols, hd
		return
	}
	a.ldv, a.vHeadOffset = a.dp, a.nk*a.dp
	a.vb = buf
	a.b.rowsParallel(a.nk, 64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			for g := range a.s.KVHeads {
				row := a.vb[g*a.vHeadOffset+j*a.dp : g*a.vHeadOffset+(j+1)*a.dp]
				copy(row, v.row(j)[g*hd:(g+1)*hd])
				clear(row[hd:])
			}
		}
	})
}

// packKT transposes K, per key/value head, into HeadDim rows of nkPad
// keys (zero beyond nk) in buf, the layout the nn kernel reads.
func (a *attention) packKT(buf []float32) {
	hd, g := a.s.HeadDim, a.s.KVHeads
	a.kT = buf
	const block = 64 // keys per task
	blocks := (a.nkPad + block - 1) / block
	a.b.parallel(g*blocks, func(_, t int) {
		gi, j0 := t/blocks, (t%blocks)*block
		j1 := min(a.nkPad, j0+block)
		dst := a.kT[gi*hd*a.nkPad:]
		for j := j0; j < j1; j++ {
			if j >= a.nk {
				for e := range hd {
					dst[e*a.nkPad+j] = 0
				}
				continue
			}
			kr := a.kt.row(j)[gi*hd : (gi+1)*hd]
			for e, x := range kr {
				dst[e*a.nkPad+j] = x
			}
		}
	})
}

// task computes the output of key/value head g for query block qb.
func (a *attention) task(worker, g, qb int) {
	hd, dp, group := a.s.HeadDim, a.dp, a.group
	i0, i1 := qb*a.qbs, min(a.nq, (qb+1)*a.qbs)
	nr := (i1 - i0) * group
	nrp := a.rowsPadded(i1 - i0)
	// Score rows hold whole key tiles: quads for nt, nnCols for nn.
	tile := 4
	if a.kT != nil {
		tile = a.k.nnCols
	}
	ldS := (a.off + i1 + tile - 1) / tile * tile
	buf := a.b.workerScratch(worker, nrp*(hd+ldS+dp+1))
	qp, buf := buf[:nrp*hd], buf[nrp*hd:]
	sc, buf := buf[:nrp*ldS], buf[nrp*ldS:]
	o, inv := buf[:nrp*dp], buf[nrp*dp:nrp*dp+nrp]

	// rowKeys is the number of keys rows [r, r+n) need together.
	rowKeys := func(r, n int) int { return a.off + i0 + (min(r+n, nr)-1)/group + 1 }

	// Pack the queries: row (i-i0)*group+hh is query i, head g*group+hh.
	for i := i0; i < i1; i++ {
		qr := a.q.row(i)
		for hh := range group {
			copy(qp[((i-i0)*group+hh)*hd:][:hd], qr[(g*group+hh)*hd:][:hd])
		}
	}
	clear(qp[nr*hd:])

	// Scores.
	clear(sc)
	if a.kT != nil {
		a.scoresNN(g, qp, sc, ldS, nr, rowKeys)
	} else {
		a.scoresNT(g, qp, sc, ldS, nr, rowKeys)
	}

	// Softmax over the keys each row may see; zeros beyond.
	scale := a.s.Scale
	for r := range nr {
		lim := a.off + i0 + r/group + 1
		row := sc[r*ldS : r*ldS+lim]
		var top float32
		if scale >= 0 {
			top = a.k.maxOf(row) * scale
		} else {
			top = minOf(row) * scale
		}
		inv[r] = 1 / a.k.expScaleSum(row, scale, top)
		clear(sc[r*ldS+lim : (r+1)*ldS])
	}
	if a.mass != nil {
		a.mass.add(worker, sc, ldS, inv[:nr], rowKeys)
		return
	}

	// Weighted sum of values, a block of keys at a time so that the block
	// stays in L1 while every row tile passes by.
	clear(o)
	vd := a.vb[g*a.vHeadOffset:]
	nn := a.k.nnRows
	last := rowKeys(nr-1, 1)
	for k0 := 0; k0 < last; k0 += attnKeyBlock {
		for r := 0; r < nr; r += nn {
			keys := min(rowKeys(r, nn), k0+attnKeyBlock) - k0
			if keys <= 0 {
				continue
			}
			for cb := 0; cb < dp; cb += a.k.nnCols {
				a.k.nn(&sc[r*ldS+k0], ldS, &vd[k0*a.ldv+cb], a.ldv, keys, &o[r*dp+cb], dp)
			}
		}
	}

	for i := i0; i < i1; i++ {
		dr := a.d.row(i)
		for hh := range group {
			r := (i-i0)*group + hh
			out := dr[(g*group+hh)*hd:][:hd]
			for j, x := range o[r*dp : r*dp+hd] {
				out[j] = x * inv[r]
			}
		}
	}
}

func minOf(x []float32) float32 {
	m := float32(math.Inf(1))
	for _, v := range x {
		m = min(m, v)
	}
	return m
}

// scoresNT adds Q·Kᵀ to the score rows with the nt kernel, reading K of
// key/value head g in place.
func (a *attention) scoresNT(g int, qp, sc []float32, ldS, nr int, rowKeys func(r, n int) int) {
	hd := a.s.HeadDim
	ldk := a.kt.cols
	kd := a.kt.data[g*hd:]
	kv := hd / a.k.vec * a.k.vec
	nt := a.k.ntRows
	for r := 0; r < nr; r += nt {
		keys := rowKeys(r, nt)
		c := 0
		for ; c+4 <= keys; c += 4 {
			if kv > 0 {
				a.k.nt(&qp[r*hd], hd, &kd[c*ldk], ldk, kv, &sc[r*ldS+c], ldS)
			}
			if kv < hd {
				for rr := r; rr < r+nt; rr++ {
					for cc := c; cc < c+4; cc++ {
						sc[rr*ldS+cc] += dotGo(qp[rr*hd+kv:(rr+1)*hd], kd[cc*ldk+kv:])
					}
				}
			}
		}
		for ; c < keys; c++ {
			for rr := r; rr < r+nt; rr++ {
				sc[rr*ldS+c] = dotGo(qp[rr*hd:(rr+1)*hd], kd[c*ldk:])
			}
		}
	}
}

// scoresNN adds Q·Kᵀ to the score rows with the nn kernel over the
// transposed K, one tile of keys at a time (kept in L1 for every row tile).
func (a *attention) scoresNN(g int, qp, sc []float32, ldS, nr int, rowKeys func(r, n int) int) {
	hd, cols, nn := a.s.HeadDim, a.k.nnCols, a.k.nnRows
	kt := a.kT[g*hd*a.nkPad:]
	last := rowKeys(nr-1, 1)
	for c := 0; c < last; c += cols {
		for r := 0; r < nr; r += nn {
			if rowKeys(r, nn) <= c {
				continue
			}
			a.k.nn(&qp[r*hd], hd, &kt[c], a.nkPad, hd, &sc[r*ldS+c], ldS)
		}
	}
}
