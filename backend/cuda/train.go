package cuda

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

// The training ops (backend.Trainer): cuBLAS for the products, the kernels
// of kernels/train.cu for the rest.

var _ backend.Trainer = (*Backend)(nil)

// Zero sets every element of t to 0.
func (b *Backend) Zero(t backend.Tensor) {
	x := asTensor("Zero", t)
	b.enter()
	defer b.leave()
	if b.err != nil || x.elems() == 0 {
		return
	}
	b.zero(x.ptr, x.elems())
}

// alphaBeta returns the host addresses of the f32 scalars 1 (alpha) and 1
// or 0 (beta, for accumulate).
func (b *Backend) alphaBeta(accumulate bool) (alpha, beta uintptr) {
	alpha = b.params.addr() + scalarOffset
	if accumulate {
		return alpha, alpha
	}
	return alpha, alpha + 4
}

// MatMulBackInput sets (or adds to) dx the product dy·w.
func (b *Backend) MatMulBackInput(dx, dy backend.Tensor, w backend.Weight, accumulate bool) {
	d, g, wt := asTensor("MatMulBackInput", dx), asTensor("MatMulBackInput", dy), asWeight("MatMulBackInput", w)
	if g.cols != wt.rows || d.cols != wt.cols || d.rows != g.rows {
		panic(fmt.Sprintf("cuda: MatMulBackInput: dx %s, dy %s, w %s", d, g, wt))
	}
	b.enter()
	defer b.leave()
	if b.err != nil || d.elems() == 0 {
		return
	}
	if g.cols == 0 {
		if !accumulate {
			b.zero(d.ptr, d.elems())
		}
		return
	}
	// Column-major: dxᵀ (k×n) = w (k×m) · dyᵀ (m×n), w being row-major m×k
	// (column-major k×m) and dy row-major n×m (column-major m×n).
	alpha, beta := b.alphaBeta(accumulate)
	t := b.gemmType()
	b.gemm(gemmCall{opA: cublasOpN, opB: cublasOpN, m: wt.cols, n: d.rows, k: wt.rows,
		a: wt.ptr, lda: wt.cols, b: g.ptr, ldb: g.cols, c: d.ptr, ldc: d.cols,
		alpha: alpha, beta: beta, typeAB: t, typeC: t, batch: 1}, "MatMulBackInput")
}

// MatMulBackWeight sets dw = dyᵀ·x.
func (b *Backend) MatMulBackWeight(dw, dy, x backend.Tensor) {
	d, g, xt := asTensor("MatMulBackWeight", dw), asTensor("MatMulBackWeight", dy), asTensor("MatMulBackWeight", x)
	if g.rows != xt.rows || d.rows != g.cols || d.cols != xt.cols {
		panic(fmt.Sprintf("cuda: MatMulBackWeight: dw %s, dy %s, x %s", d, g, xt))
	}
	b.enter()
	defer b.leave()
	if b.err != nil || d.elems() == 0 {
		return
	}
	if g.rows == 0 {
		b.zero(d.ptr, d.elems())
		return
	}
	// Column-major: dwᵀ (k×m) = xᵀ (k×n) · dy (n×m).
	alpha, beta := b.alphaBeta(false)
	t := b.gemmType()
	b.gemm(gemmCall{opA: cublasOpN, opB: cublasOpT, m: xt.cols, n: g.cols, k: g.rows,
		a: xt.ptr, lda: xt.cols, b: g.ptr, ldb: g.cols, c: d.ptr, ldc: d.cols,
		alpha: alpha, beta: beta, typeAB: t, typeC: t, batch: 1}, "MatMulBackWeight")
}

// RMSNormBack adds the gradient of RMSNorm(x)·w with respect to x to dx.
func (b *Backend) RMSNormBack(dx, dy, x backend.Tensor, w backend.Weight, eps float32) {
	d, g, xt, wt := asTensor("RMSNormBack", dx), asTensor("RMSNormBack", dy), asTensor("RMSNormBack", x), asWeight("RMSNormBack", w)
	sameShape("RMSNormBack", xt, d, g)
	if wt.rows*wt.cols != xt.cols {
		panic(fmt.Sprintf("cuda: RMSNormBack: weight %s for rows of %d", wt, xt.cols))
	}
	b.enter()
	defer b.leave()
	if xt.cols == 0 {
		return
	}
	b.args().ptr(d.ptr).ptr(g.ptr).ptr(xt.ptr).ptr(wt.ptr).i32(xt.cols).f32(eps).
		launch("rmsnorm_back_bf16", dim3{d.rows, 1, 1}, normBlock(xt.cols), 0)
}

// SiLUMulBack sets da and db to the gradients of silu(a)·b given dy.
func (b *Backend) SiLUMulBack(da, db, dy, a, c backend.Tensor) {
	ga, gb, g, at, ct := asTensor("SiLUMulBack", da), asTensor("SiLUMulBack", db), asTensor("SiLUMulBack", dy), asTensor("SiLUMulBack", a), asTensor("SiLUMulBack", c)
	sameShape("SiLUMulBack", g, ga, gb, at, ct)
	b.enter()
	defer b.leave()
	n := uint64(g.elems())
	b.args().ptr(ga.ptr).ptr(gb.ptr).ptr(g.ptr).ptr(at.ptr).ptr(ct.ptr).u64(n).
		launch("silu_mul_back_bf16", b.grid1(n), block256, 0)
}

// GELUBack sets dx = dy·(Φ(x) + x·φ(x)).
func (b *Backend) GELUBack(dx, dy, x backend.Tensor) {
	d, g, xt := asTensor("GELUBack", dx), asTensor("GELUBack", dy), asTensor("GELUBack", x)
	sameShape("GELUBack", d, g, xt)
	b.enter()
	defer b.leave()
	n := uint64(d.elems())
	b.args().ptr(d.ptr).ptr(g.ptr).ptr(xt.ptr).u64(n).launch("gelu_back_bf16", b.grid1(n), block256, 0)
}

// RowDot sets dst[i] = Σ_j a[i][j]·b[i][j].
func (b *Backend) RowDot(dst, a, c backend.Tensor) {
	d, at, ct := asTensor("RowDot", dst), asTensor("RowDot", a), asTensor("RowDot", c)
	sameShape("RowDot", at, ct)
	if d.rows != at.rows || d.cols != 1 {
		panic(fmt.Sprintf("cuda: RowDot: dst %s for %s", d, at))
	}
	b.enter()
	defer b.leave()
	if at.cols == 0 {
		b.zero(d.ptr, d.elems())
		return
	}
	b.args().ptr(d.ptr).ptr(at.ptr).ptr(ct.ptr).i32(at.cols).launch("row_dot_bf16", dim3{d.rows, 1, 1}, normBlock(at.cols), 0)
}

// CrossEntropy sets losses and turns each row of logits into its gradient.
func (b *Backend) CrossEntropy(losses, logits backend.Tensor, targets backend.Ints, scale float32) {
	l, lg, tg := asTensor("CrossEntropy", losses), asTensor("CrossEntropy", logits), asInts("CrossEntropy", targets)
	if l.rows != lg.rows || l.cols != 1 || len(tg.host) != lg.rows {
		panic(fmt.Sprintf("cuda: CrossEntropy: losses %s, logits %s, %d targets", l, lg, len(tg.host)))
	}
	checkIndices("CrossEntropy", tg, lg.cols)
	b.enter()
	defer b.leave()
	b.args().ptr(l.ptr).ptr(lg.ptr).ptr(tg.ptr).i32(lg.cols).f32(scale).
		launch("cross_entropy_bf16", dim3{lg.rows, 1, 1}, dim3{1024, 1, 1}, 0)
}

// SoftCrossEntropy sets losses against the teacher's log-probabilities and
// turns each row of logits into its gradient.
func (b *Backend) SoftCrossEntropy(losses, logits, teacher backend.Tensor, scale float32) {
	l, lg, tt := asTensor("SoftCrossEntropy", losses), asTensor("SoftCrossEntropy", logits), asTensor("SoftCrossEntropy", teacher)
	sameShape("SoftCrossEntropy", lg, tt)
	if l.rows != lg.rows || l.cols != 1 {
		panic(fmt.Sprintf("cuda: SoftCrossEntropy: losses %s for logits %s", l, lg))
	}
	b.enter()
	defer b.leave()
	b.args().ptr(l.ptr).ptr(lg.ptr).ptr(tt.ptr).i32(lg.cols).f32(scale).
		launch("soft_cross_entropy_bf16", dim3{lg.rows, 1, 1}, dim3{1024, 1, 1}, 0)
}

// gemmCall is one cublasGemmStridedBatchedEx call (column-major; batch 1
// is a plain GEMM), computing in f32 with A and B of typeAB and C of typeC.
type gemmCall struct {
	opA, opB      int
	m, n, k       int
	a             uintptr
	lda           int
	strideA       int64
	b             uintptr
	ldb           int
	strideB       int64
	c             uintptr
	ldc           int
	strideC       int64
	alpha, beta   uintptr // host pointers to f32
	typeAB, typeC int
	batch         int
}

// gemm runs g, recording a failure (named by what) as the sticky error.
func (b *Backend) gemm(g gemmCall, what string) {
	if b.err != nil || g.m == 0 || g.n == 0 || g.batch == 0 {
		return
	}
	if r := b.blas.gemmStridedBatched(b.handle, g); r != 0 {
		b.fail(fmt.Errorf("cuBLAS GEMM (%s, m %d n %d k %d batch %d) failed with status %d", what, g.m, g.n, g.k, g.batch, r))
	}
}
