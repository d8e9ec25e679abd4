package cuda

import (
	"encoding/binary"
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

func sameShape(op string, ts ...*tensor) {
	for _, t := range ts[1:] {
		if t.rows != ts[0].rows || t.cols != ts[0].cols {
			panic(fmt.Sprintf("cuda: %s: shapes differ: %s and %s", op, ts[0], t))
		}
	}
}

func checkIndices(op string, idx *ints, limit int) {
	for i, v := range idx.host {
		if v < 0 || int(v) >= limit {
			panic(fmt.Sprintf("cuda: %s: index %d at %d is outside [0, %d)", op, v, i, limit))
		}
	}
}

// Embed sets dst[i] = table[ids[i]].
func (b *Backend) Embed(dst backend.Tensor, table backend.Weight, ids backend.Ints) {
	d, w, id := asTensor("Embed", dst), asWeight("Embed", table), asInts("Embed", ids)
	if d.rows != len(id.host) || d.cols != w.cols {
		panic(fmt.Sprintf("cuda: Embed: dst %s, table %s, %d ids", d, w, len(id.host)))
	}
	checkIndices("Embed", id, w.rows)
	b.enter()
	defer b.leave()
	b.gatherRows(d.ptr, w.ptr, id.ptr, d.rows, d.cols)
}

// Gather sets dst[i] = x[idx[i]].
func (b *Backend) Gather(dst, x backend.Tensor, idx backend.Ints) {
	d, s, id := asTensor("Gather", dst), asTensor("Gather", x), asInts("Gather", idx)
	if d.rows != len(id.host) || d.cols != s.cols {
		panic(fmt.Sprintf("cuda: Gather: dst %s, x %s, %d indices", d, s, len(id.host)))
	}
	checkIndices("Gather", id, s.rows)
	b.enter()
	defer b.leave()
	b.gatherRows(d.ptr, s.ptr, id.ptr, d.rows, d.cols)
}

func (b *Backend) gatherRows(dst, src, idx uintptr, rows, cols int) {
	vec := cols%8 == 0 && aligned16(dst, src)
	b.args().ptr(dst).ptr(src).ptr(idx).i32(cols).i32(boolInt(vec)).launch("gather_rows_bf16", dim3{rows, 1, 1}, dim3{128, 1, 1}, 0)
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// MatMul sets dst = x·wᵀ (+ bias) with cuBLAS (bf16 in, f32 accumulate).
func (b *Backend) MatMul(dst, x backend.Tensor, w, bias backend.Weight) {
	d, xt, wt, bt := checkMatMul("MatMul", dst, x, w, bias)
	b.enter()
	defer b.leave()
	b.matmul(d, xt, wt, bt)
}

// checkMatMul converts and checks MatMul's operands (bias may be nil).
func checkMatMul(op string, dst, x backend.Tensor, w, bias backend.Weight) (*tensor, *tensor, *weight, *weight) {
	d, xt, wt := asTensor(op, dst), asTensor(op, x), asWeight(op, w)
	if xt.cols != wt.cols || d.rows != xt.rows || d.cols != wt.rows {
		panic(fmt.Sprintf("cuda: %s: dst %s, x %s, w %s", op, d, xt, wt))
	}
	var bt *weight
	if bias != nil {
		bt = asWeight(op, bias)
		if bt.rows*bt.cols != wt.rows {
			panic(fmt.Sprintf("cuda: %s: bias %s for w %s", op, bt, wt))
		}
	}
	return d, xt, wt, bt
}

// gemvOK says whether the one-token kernels of ours take x·wᵀ for all ws.
func (b *Backend) gemvOK(xt *tensor, ws ...*weight) bool {
	if xt.rows != 1 || !b.useGEMV || xt.cols%8 != 0 || xt.cols > gemvSmemCols || !aligned16(xt.ptr) {
		return false
	}
	for _, w := range ws {
		if !aligned16(w.ptr) {
			return false
		}
	}
	return true
}

// matmul is MatMul on checked operands, with the backend entered.
func (b *Backend) matmul(d, xt *tensor, wt, bt *weight) {
	if b.err != nil || d.elems() == 0 {
		return
	}
	if xt.cols == 0 {
		b.zero(d.ptr, d.elems())
	} else if b.gemvOK(xt, wt) {
		// One token (decode): bandwidth-bound kernels of our own, bias fused.
		// Longer rows (the MLP down projection) go to cuBLAS, measured
		// faster there than a global-memory variant of this kernel
		// (2.49 vs 2.38 TB/s).
		b.args().ptr(d.ptr).ptr(xt.ptr).ptr(wt.ptr).ptr(bt.addr()).i32(wt.rows).i32(xt.cols).
			launch("gemv_bf16", dim3{(wt.rows + 7) / 8, 1, 1}, block256, 4*xt.cols)
		return
	} else {
		alpha := b.params.addr() + scalarOffset
		r := b.blas.gemmEx(b.handle, cublasOpT, cublasOpN, wt.rows, xt.rows, xt.cols,
			alpha, wt.ptr, xt.cols, xt.ptr, xt.cols, alpha+4, d.ptr, wt.rows, b.gemmType())
		if r != 0 {
			b.fail(fmt.Errorf("cublasGemmEx %s·%sᵀ failed with status %d", xt, wt, r))
			return
		}
	}
	if bt != nil {
		n := uint64(d.elems())
		vec := d.cols%8 == 0 && aligned16(d.ptr, bt.ptr)
		b.args().ptr(d.ptr).ptr(bt.ptr).u64(uint64(d.rows)).i32(d.cols).i32(boolInt(vec)).
			launch("add_bias_bf16", b.grid1((n+7)/8), block256, 0)
	}
}

// RMSNorm sets dst[i] = x[i] / sqrt(mean(x[i]²) + eps) * w.
func (b *Backend) RMSNorm(dst, x backend.Tensor, w backend.Weight, eps float32) {
	d, xt, wt := asTensor("RMSNorm", dst), asTensor("RMSNorm", x), asWeight("RMSNorm", w)
	sameShape("RMSNorm", d, xt)
	if wt.rows*wt.cols != xt.cols {
		panic(fmt.Sprintf("cuda: RMSNorm: weight %s for rows of %d", wt, xt.cols))
	}
	b.enter()
	defer b.leave()
	vec := xt.cols%8 == 0 && aligned16(d.ptr, xt.ptr, wt.ptr)
	b.args().ptr(d.ptr).ptr(xt.ptr).ptr(wt.ptr).i32(xt.cols).f32(eps).i32(boolInt(vec)).
		launch("rmsnorm_bf16", dim3{d.rows, 1, 1}, normBlock(xt.cols), 0)
}

// gemmType is the cuBLAS data type of activations and weights.
func (b *Backend) gemmType() int {
	if b.f32 {
		return cudaR32F
	}
	return cudaR16BF
}

// normBlock is the block of the row-norm kernels for rows of cols.
func normBlock(cols int) dim3 {
	if cols <= 1024 {
		return dim3{128, 1, 1}
	}
	return block256
}

// gemvSmemCols is the longest row gemv_bf16 stages in shared memory; longer
// rows go to cuBLAS.
const gemvSmemCols = 8192

// maxRopePairs is the size of the kernel's by-value frequency table.
const maxRopePairs = 256

// RoPE rotates the heads of every row of x in place.
func (b *Backend) RoPE(x backend.Tensor, pos backend.Ints, heads, headDim int, invFreq []float32) {
	xt, p := asTensor("RoPE", x), asInts("RoPE", pos)
	if len(p.host) != xt.rows || heads*headDim > xt.cols || headDim%2 != 0 || len(invFreq) != headDim/2 {
		panic(fmt.Sprintf("cuda: RoPE: x %s, %d positions, %d heads of %d, %d frequencies", xt, len(p.host), heads, headDim, len(invFreq)))
	}
	if len(invFreq) > maxRopePairs {
		panic(fmt.Sprintf("cuda: RoPE: head size %d is over the supported %d", headDim, 2*maxRopePairs))
	}
	b.enter()
	defer b.leave()
	n := uint64(xt.rows) * uint64(heads) * uint64(headDim/2)
	b.args().ptr(xt.ptr).ptr(p.ptr).u64(uint64(xt.rows)).i32(xt.cols).i32(heads).i32(headDim).
		floats(invFreq, maxRopePairs).launch("rope_bf16", b.grid1(n), block256, 0)
}

// SiLUMul sets dst = silu(a) * b.
func (b *Backend) SiLUMul(dst, a, c backend.Tensor) {
	b.binary("SiLUMul", "silu_mul_bf16", dst, a, c)
}

// Add sets dst = a + b; dst may be a or b.
func (b *Backend) Add(dst, a, c backend.Tensor) {
	b.binary("Add", "add_bf16", dst, a, c)
}

func (b *Backend) binary(op, kernel string, dst, a, c backend.Tensor) {
	d, x, y := asTensor(op, dst), asTensor(op, a), asTensor(op, c)
	sameShape(op, d, x, y)
	b.enter()
	defer b.leave()
	n := uint64(d.elems())
	vec := aligned16(d.ptr, x.ptr, y.ptr)
	b.args().ptr(d.ptr).ptr(x.ptr).ptr(y.ptr).u64(n).i32(boolInt(vec)).launch(kernel, b.grid1((n+7)/8), block256, 0)
}

// GELU sets dst = x·Φ(x) (erf form).
func (b *Backend) GELU(dst, x backend.Tensor) {
	d, xt := asTensor("GELU", dst), asTensor("GELU", x)
	sameShape("GELU", d, xt)
	b.enter()
	defer b.leave()
	n := uint64(d.elems())
	vec := aligned16(d.ptr, xt.ptr)
	b.args().ptr(d.ptr).ptr(xt.ptr).u64(n).i32(boolInt(vec)).launch("gelu_bf16", b.grid1((n+7)/8), block256, 0)
}

// Copy sets dst = src.
func (b *Backend) Copy(dst, src backend.Tensor) {
	d, s := asTensor("Copy", dst), asTensor("Copy", src)
	sameShape("Copy", d, s)
	b.enter()
	defer b.leave()
	if b.err != nil || d.elems() == 0 || d.ptr == s.ptr {
		return
	}
	n := uint64(d.elems())
	if n <= smallCopyElems {
		// A kernel: cheaper than a driver memcpy between kernels (the KV
		// cache append of every decode step is two of these per layer).
		b.args().ptr(d.ptr).ptr(s.ptr).u64(n).i32(boolInt(aligned16(d.ptr, s.ptr))).
			launch("copy_bf16", b.grid1((n+7)/8), block256, 0)
		return
	}
	b.fail(b.drv.check("cuMemcpyDtoDAsync", b.memcpyDtoDAsync(d.ptr, s.ptr, b.esize*d.elems())))
}

// ScatterRows copies row i of src into dst[i] (see backend.RowScatterer):
// one launch for every row, the destinations from a small device table.
func (b *Backend) ScatterRows(dst []backend.Tensor, src backend.Tensor) {
	s := asTensor("ScatterRows", src)
	if len(dst) != s.rows {
		panic(fmt.Sprintf("cuda: ScatterRows of %s into %d tensors", s, len(dst)))
	}
	table := make([]byte, 8*len(dst))
	vec := aligned16(s.ptr) && (s.cols*b.esize)%16 == 0
	for i, t := range dst {
		d := asTensor("ScatterRows", t)
		if d.rows != 1 || d.cols != s.cols {
			panic(fmt.Sprintf("cuda: ScatterRows: destination %d is %s, want 1×%d", i, d, s.cols))
		}
		vec = vec && aligned16(d.ptr)
		binary.LittleEndian.PutUint64(table[8*i:], uint64(d.ptr))
	}
	b.enter()
	defer b.leave()
	if b.err != nil || len(dst) == 0 || s.cols == 0 {
		return
	}
	ptrs, ok := b.decodeTable(len(table))
	if !ok {
		return
	}
	b.upload(ptrs, len(table), func(buf []byte, off int) { copy(buf, table[off:]) })
	b.args().ptr(ptrs).ptr(s.ptr).i32(s.cols).i32(boolInt(vec)).launch("scatter_rows", dim3{len(dst), 1, 1}, block256, 0)
}

// smallCopyElems is the largest Copy done by the copy_bf16 kernel.
const smallCopyElems = 1 << 20
