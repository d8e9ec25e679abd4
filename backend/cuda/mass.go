package cuda

import (
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
)

var _ backend.AttentionMasser = (*Backend)(nil)

// massTile returns the keys per block of attn_mass_acc for head size hd
// (its shared memory, tile·(hd+1) + MASS_QROWS·hd floats, stays within the
// default 48 KB), or 0 for a head size it does not take.
func massTile(hd int) int {
	switch {
	case hd <= 128:
		return 64
	case hd <= 256:
		return 32
	}
	return 0
}

// massQRows is MASS_QROWS in kernels/mass.cu.
const massQRows = 8

// AttentionMass sets mass[j] to the attention weight key j receives,
// summed over the queries and the query heads (see
// backend.AttentionMasser), with the kernels of kernels/mass.cu: the
// softmax denominators first (the keys split over blocks when there are
// few queries, as in a decode step), then one thread per key summing its
// weights. Head sizes above 256 take the composed host path.
func (b *Backend) AttentionMass(mass, q, k backend.Tensor, s backend.AttentionShape) {
	mt, qt, kt := asTensor("AttentionMass", mass), asTensor("AttentionMass", q), asTensor("AttentionMass", k)
	if s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 || s.Heads%s.KVHeads != 0 ||
		qt.cols != s.Heads*s.HeadDim || kt.cols != s.KVHeads*s.HeadDim || kt.rows < qt.rows || mt.rows != kt.rows || mt.cols != 1 {
		panic(fmt.Sprintf("cuda: AttentionMass into %s of q %s over k %s, shape %+v", mt, qt, kt, s))
	}
	tile := massTile(s.HeadDim)
	if tile == 0 {
		backend.AttentionMass(hostOnly{b}, mass, q, k, s)
		return
	}
	b.enter()
	defer b.leave()
	nq, nk, hd := qt.rows, kt.rows, s.HeadDim
	if nq == 0 || b.err != nil {
		return
	}
	rows := nq * s.Heads
	splits := 1
	if target := 4 * b.sms; rows < target {
		splits = min((target+rows-1)/rows, (nk+255)/256)
	}
	chunk := (nk + splits - 1) / splits
	splits = (nk + chunk - 1) / chunk
	ml, lse, part, ok := b.massWorkspace(rows, splits, s.KVHeads*nk)
	if !ok {
		return
	}
	scaleLog2 := s.Scale * float32(math.Log2E)
	b.args().ptr(qt.ptr).ptr(kt.ptr).ptr(ml).i32(nq).i32(nk).i32(s.Heads).i32(s.KVHeads).i32(hd).i32(chunk).f32(scaleLog2).
		launch("attn_mass_lse", dim3{nq, s.Heads, splits}, dim3{128, 1, 1}, 4*hd)
	b.args().ptr(ml).ptr(lse).i32(rows).i32(splits).launch("attn_mass_lse_combine", b.grid1(uint64(rows)), block256, 0)
	b.args().ptr(qt.ptr).ptr(kt.ptr).ptr(lse).ptr(part).i32(nq).i32(nk).i32(s.Heads).i32(s.KVHeads).i32(hd).f32(scaleLog2).
		launch("attn_mass_acc", dim3{(nk + tile - 1) / tile, s.KVHeads, 1}, dim3{tile, 1, 1}, 4*(tile*(hd+1)+massQRows*hd))
	b.args().ptr(mt.ptr).ptr(part).i32(nk).i32(s.KVHeads).launch("attn_mass_sum", b.grid1(uint64(nk)), block256, 0)
}

// massWorkspace returns device room (float32) for the split partials of
// rows softmax rows, their denominators and parts key sums.
func (b *Backend) massWorkspace(rows, splits, parts int) (ml, lse, part uintptr, ok bool) {
	need := 4 * (int64(rows)*int64(2*splits+1) + int64(parts))
	if need > b.massCap {
		if b.massWS != 0 {
			b.free(b.massWS)
			b.massWS, b.massCap = 0, 0
		}
		c := max(need, 1<<20)
		p, err := b.alloc(c)
		if err != nil {
			b.fail(err)
			return 0, 0, 0, false
		}
		b.massWS, b.massCap = p, c
	}
	ml = b.massWS
	lse = ml + uintptr(4*rows*2*splits)
	part = lse + uintptr(4*rows)
	return ml, lse, part, true
}

// hostOnly hides the backend's optional interfaces, so the package
// backend's composed paths run on it.
type hostOnly struct{ backend.Backend }
