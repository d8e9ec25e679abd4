package cuda

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

// The optional fused ops of backend/fused.go. For one token (decode) each
// is one kernel; for more rows QKV and GateUp run cuBLAS GEMMs (GateUp
// then one SiLU-mul), and AddRMSNorm is one kernel for any row count.

var (
	_ backend.AddRMSNormer = (*Backend)(nil)
	_ backend.QKVer        = (*Backend)(nil)
	_ backend.GateUpper    = (*Backend)(nil)
)

// AddRMSNorm sets x = x + d, then dst = RMSNorm(x)·w; dst may alias d.
func (b *Backend) AddRMSNorm(dst, x, d backend.Tensor, w backend.Weight, eps float32) {
	dt, xt, dd, wt := asTensor("AddRMSNorm", dst), asTensor("AddRMSNorm", x), asTensor("AddRMSNorm", d), asWeight("AddRMSNorm", w)
	sameShape("AddRMSNorm", dt, xt, dd)
	if wt.rows*wt.cols != xt.cols {
		panic(fmt.Sprintf("cuda: AddRMSNorm: weight %s for rows of %d", wt, xt.cols))
	}
	b.enter()
	defer b.leave()
	vec := xt.cols%8 == 0 && aligned16(dt.ptr, xt.ptr, dd.ptr, wt.ptr)
	b.args().ptr(dt.ptr).ptr(xt.ptr).ptr(dd.ptr).ptr(wt.ptr).i32(xt.cols).f32(eps).i32(boolInt(vec)).
		launch("add_rmsnorm_bf16", dim3{dt.rows, 1, 1}, normBlock(xt.cols), 0)
}

// QKV sets q = x·wqᵀ+bq, k = x·wkᵀ+bk, v = x·wvᵀ+bv (biases may be nil);
// one kernel for one token.
func (b *Backend) QKV(q, k, v, x backend.Tensor, wq, wk, wv, bq, bk, bv backend.Weight) {
	qt, xt, wqt, bqt := checkMatMul("QKV", q, x, wq, bq)
	kt, _, wkt, bkt := checkMatMul("QKV", k, x, wk, bk)
	vt, _, wvt, bvt := checkMatMul("QKV", v, x, wv, bv)
	b.enter()
	defer b.leave()
	if b.err != nil || xt.rows == 0 {
		return
	}
	if !b.gemvOK(xt, wqt, wkt, wvt) {
		b.matmul(qt, xt, wqt, bqt)
		b.matmul(kt, xt, wkt, bkt)
		b.matmul(vt, xt, wvt, bvt)
		return
	}
	rows := wqt.rows + wkt.rows + wvt.rows
	b.args().ptr(qt.ptr).ptr(kt.ptr).ptr(vt.ptr).ptr(xt.ptr).
		ptr(wqt.ptr).ptr(wkt.ptr).ptr(wvt.ptr).ptr(bqt.addr()).ptr(bkt.addr()).ptr(bvt.addr()).
		i32(wqt.rows).i32(wkt.rows).i32(wvt.rows).i32(xt.cols).
		launch("gemv_qkv_bf16", dim3{(rows + 7) / 8, 1, 1}, block256, 4*xt.cols)
}

// GateUp sets dst = silu(x·gateᵀ) * (x·upᵀ); one kernel for one token.
func (b *Backend) GateUp(dst, x backend.Tensor, gate, up backend.Weight) {
	d, xt, gt, _ := checkMatMul("GateUp", dst, x, gate, nil)
	_, _, ut, _ := checkMatMul("GateUp", dst, x, up, nil)
	b.enter()
	defer b.leave()
	if b.err != nil || d.elems() == 0 {
		return
	}
	if b.gemvOK(xt, gt, ut) {
		b.args().ptr(d.ptr).ptr(xt.ptr).ptr(gt.ptr).ptr(ut.ptr).i32(gt.rows).i32(xt.cols).
			launch("gemv_gateup_bf16", dim3{(gt.rows + 7) / 8, 1, 1}, block256, 4*xt.cols)
		return
	}
	// Two GEMMs, the up product in a pool buffer freed in stream order.
	u := b.newTensor(d.rows, d.cols)
	if b.err != nil {
		return
	}
	defer b.free(u.ptr)
	b.matmul(d, xt, gt, nil)
	b.matmul(u, xt, ut, nil)
	n := uint64(d.elems())
	b.args().ptr(d.ptr).ptr(d.ptr).ptr(u.ptr).u64(n).i32(boolInt(aligned16(d.ptr, u.ptr))).
		launch("silu_mul_bf16", b.grid1((n+7)/8), block256, 0)
}
