package cuda

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

// Masked attention (backend.Trainer) as chunked matrix products: keys and
// values are expanded to one head per query head, then for each chunk of
// c queries [i0, i0+c), which see the keys [0, L = i0+c), one strided
// batched GEMM over the heads gives the scores S = Q·Kᵀ (f32), a kernel
// turns them into the masked weights, and GEMMs give P·V (forward) or
// dP = dO·Vᵀ, dQ = dS·K, dK += dSᵀ·Q, dV += Pᵀ·dO (backward, dK and dV
// accumulated in f32). Every query's row is whole within its chunk, so
// the softmax needs no running statistics; memory is O(heads·c·n), never
// n×n: c is chosen so the chunk's buffers stay under maskedChunkBytes.

// maskedChunkBytes bounds the per-chunk score buffers.
const maskedChunkBytes = 1 << 30

// maskedChunk returns the queries per chunk for n tokens, heads heads and
// bytesPer bytes per score element.
func maskedChunk(n, heads, bytesPer int) int {
	c := maskedChunkBytes / (heads * max(n, 1) * bytesPer)
	c = c / 16 * 16
	return min(max(c, 16), n)
}

// maskedCheck checks MaskedAttention's operands.
func maskedCheck(op string, d, qt, kt, vt, kp *tensor, s backend.AttentionShape) {
	n := qt.rows
	if s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 || s.Heads%s.KVHeads != 0 ||
		qt.cols != s.Heads*s.HeadDim || kt.cols != s.KVHeads*s.HeadDim || vt.cols != kt.cols ||
		kt.rows != n || vt.rows != n || d.rows != n || d.cols != qt.cols {
		panic(fmt.Sprintf("cuda: %s: dst %s, q %s, k %s, v %s, shape %+v", op, d, qt, kt, vt, s))
	}
	if kp != nil && (kp.rows != n || kp.cols != 1) {
		panic(fmt.Sprintf("cuda: %s: keep %s for %d tokens", op, kp, n))
	}
}

func optTensor(op string, t backend.Tensor) *tensor {
	if t == nil {
		return nil
	}
	return asTensor(op, t)
}

// expandHeads returns a new rows×(heads·hd) copy of x with one head per
// query head.
func (b *Backend) expandHeads(x *tensor, s backend.AttentionShape) *tensor {
	out := b.newTensor(x.rows, s.Heads*s.HeadDim)
	n := uint64(out.elems())
	b.args().ptr(out.ptr).ptr(x.ptr).u64(uint64(x.rows)).i32(s.Heads).i32(s.KVHeads).i32(s.HeadDim).
		launch("expand_heads_bf16", b.grid1(n), block256, 0)
	return out
}

// scores sets dst ([head][row][key], f32) to the chunk's products
// queries_h·keys_hᵀ for its c queries (rows of queries, one head per query
// head) and the L keys of keys (expanded): one strided batched GEMM.
func (b *Backend) scores(dst uintptr, keys uintptr, queries uintptr, c, L int, s backend.AttentionShape, what string) {
	// dstᵀ (L×c, col-major, [head][row][key]) = Keys_h (L×D) · Queries_hᵀ (D×c).
	hd, w := s.HeadDim, s.Heads*s.HeadDim
	alpha, beta := b.alphaBeta(false)
	b.gemm(gemmCall{opA: cublasOpT, opB: cublasOpN, m: L, n: c, k: hd,
		a: keys, lda: w, strideA: int64(hd), b: queries, ldb: w, strideB: int64(hd),
		c: dst, ldc: L, strideC: int64(c) * int64(L), alpha: alpha, beta: beta,
		typeAB: b.gemmType(), typeC: cudaR32F, batch: s.Heads}, what)
}

// MaskedAttention is attention with a per-key keep mask (see backend.Trainer).
func (b *Backend) MaskedAttention(dst, q, k, v, keep backend.Tensor, s backend.AttentionShape) {
	d, qt, kt, vt := asTensor("MaskedAttention", dst), asTensor("MaskedAttention", q), asTensor("MaskedAttention", k), asTensor("MaskedAttention", v)
	kp := optTensor("MaskedAttention", keep)
	maskedCheck("MaskedAttention", d, qt, kt, vt, kp, s)
	if kp == nil {
		b.Attention(dst, q, k, v, s) // no mask: the inference kernels
		return
	}
	b.enter()
	defer b.leave()
	n := qt.rows
	if n == 0 || b.err != nil {
		return
	}
	hd, w := s.HeadDim, s.Heads*s.HeadDim
	kx, vx := b.expandHeads(kt, s), b.expandHeads(vt, s)
	chunk := maskedChunk(n, s.Heads, 4+b.esize)
	sBuf, err := b.alloc(int64(s.Heads) * int64(chunk) * int64(n) * 4)
	b.fail(err)
	pBuf, err := b.alloc(int64(s.Heads) * int64(chunk) * int64(n) * int64(b.esize))
	b.fail(err)
	alpha, beta := b.alphaBeta(false)
	for i0 := 0; i0 < n && b.err == nil; i0 += chunk {
		c := min(chunk, n-i0)
		L := i0 + c
		b.scores(sBuf, kx.ptr, qt.ptr+uintptr(i0*w*b.esize), c, L, s, "MaskedAttention S")
		b.args().ptr(pBuf).ptr(sBuf).ptr(kp.ptr).i32(i0).i32(c).i32(L).f32(s.Scale).
			launch("masked_softmax_bf16", dim3{c, s.Heads, 1}, block256, 0)
		// outᵀ (D×c) = V_hᵀ (D×L) · P_hᵀ (L×c).
		b.gemm(gemmCall{opA: cublasOpN, opB: cublasOpN, m: hd, n: c, k: L,
			a: vx.ptr, lda: w, strideA: int64(hd), b: pBuf, ldb: L, strideB: int64(c) * int64(L),
			c: d.ptr + uintptr(i0*w*b.esize), ldc: w, strideC: int64(hd), alpha: alpha, beta: beta,
			typeAB: b.gemmType(), typeC: b.gemmType(), batch: s.Heads}, "MaskedAttention P·V")
	}
	b.free(sBuf)
	b.free(pBuf)
	b.free(kx.ptr)
	b.free(vx.ptr)
}

// MaskedAttentionBack sets the gradients of MaskedAttention (see backend.Trainer).
func (b *Backend) MaskedAttentionBack(dq, dk, dv, dkeep, dout, q, k, v, keep backend.Tensor, s backend.AttentionShape) {
	const op = "MaskedAttentionBack"
	gq, qt, kt, vt := asTensor(op, dq), asTensor(op, q), asTensor(op, k), asTensor(op, v)
	gk, gv, gout := asTensor(op, dk), asTensor(op, dv), asTensor(op, dout)
	kp, gkeep := optTensor(op, keep), optTensor(op, dkeep)
	maskedCheck(op, gq, qt, kt, vt, kp, s)
	sameShape(op, kt, gk, gv)
	sameShape(op, qt, gout)
	if gkeep != nil && (gkeep.rows != qt.rows || gkeep.cols != 1) {
		panic(fmt.Sprintf("cuda: %s: dkeep %s for %d tokens", op, gkeep, qt.rows))
	}
	b.enter()
	defer b.leave()
	n := qt.rows
	if n == 0 || b.err != nil {
		return
	}
	hd, w := s.HeadDim, s.Heads*s.HeadDim
	kx, vx := b.expandHeads(kt, s), b.expandHeads(vt, s)
	// Per chunk: S and dP in f32, P and dS in the activation type.
	chunk := maskedChunk(n, s.Heads, 8+2*b.esize)
	area := int64(s.Heads) * int64(chunk) * int64(n)
	var bufs [4]uintptr
	for i, size := range []int64{4, 4, int64(b.esize), int64(b.esize)} {
		p, err := b.alloc(area * size)
		b.fail(err)
		bufs[i] = p
	}
	sBuf, dpBuf, pBuf, dsBuf := bufs[0], bufs[1], bufs[2], bufs[3]
	accK, err := b.alloc(int64(n) * int64(w) * 4)
	b.fail(err)
	accV, err := b.alloc(int64(n) * int64(w) * 4)
	b.fail(err)
	accKeep, err := b.alloc(int64(n) * 4)
	b.fail(err)
	if b.err == nil {
		b.fail(b.drv.check("cuMemsetD32Async", b.memsetD32Async(accK, 0, n*w)))
		b.fail(b.drv.check("cuMemsetD32Async", b.memsetD32Async(accV, 0, n*w)))
		b.fail(b.drv.check("cuMemsetD32Async", b.memsetD32Async(accKeep, 0, n)))
	}
	var keepPtr uintptr
	if kp != nil {
		keepPtr = kp.ptr
	}
	at := b.gemmType()
	alpha, zero := b.alphaBeta(false)
	_, one := b.alphaBeta(true)
	for i0 := 0; i0 < n && b.err == nil; i0 += chunk {
		c := min(chunk, n-i0)
		L := i0 + c
		rowOff := uintptr(i0 * w * b.esize)
		stride := int64(c) * int64(L)
		b.scores(sBuf, kx.ptr, qt.ptr+rowOff, c, L, s, op+" S")
		b.scores(dpBuf, vx.ptr, gout.ptr+rowOff, c, L, s, op+" dP")
		b.args().ptr(pBuf).ptr(dsBuf).ptr(dpBuf).ptr(sBuf).ptr(keepPtr).i32(i0).i32(c).i32(L).f32(s.Scale).i32(boolInt(gkeep != nil)).
			launch("masked_softmax_back_bf16", dim3{c, s.Heads, 1}, block256, 0)
		// dQᵀ (D×c) = K_hᵀ (D×L) · dS_hᵀ (L×c).
		b.gemm(gemmCall{opA: cublasOpN, opB: cublasOpN, m: hd, n: c, k: L,
			a: kx.ptr, lda: w, strideA: int64(hd), b: dsBuf, ldb: L, strideB: stride,
			c: gq.ptr + rowOff, ldc: w, strideC: int64(hd), alpha: alpha, beta: zero,
			typeAB: at, typeC: at, batch: s.Heads}, op+" dQ")
		// dKᵀ (D×L) += Q_hᵀ (D×c) · dS_h (c×L); dVᵀ += dO_hᵀ · P_h.
		b.gemm(gemmCall{opA: cublasOpN, opB: cublasOpT, m: hd, n: L, k: c,
			a: qt.ptr + rowOff, lda: w, strideA: int64(hd), b: dsBuf, ldb: L, strideB: stride,
			c: accK, ldc: w, strideC: int64(hd), alpha: alpha, beta: one,
			typeAB: at, typeC: cudaR32F, batch: s.Heads}, op+" dK")
		b.gemm(gemmCall{opA: cublasOpN, opB: cublasOpT, m: hd, n: L, k: c,
			a: gout.ptr + rowOff, lda: w, strideA: int64(hd), b: pBuf, ldb: L, strideB: stride,
			c: accV, ldc: w, strideC: int64(hd), alpha: alpha, beta: one,
			typeAB: at, typeC: cudaR32F, batch: s.Heads}, op+" dV")
		if gkeep != nil {
			rows := uint64(s.Heads) * uint64(c)
			slices := min(int(rows), 64)
			b.args().ptr(accKeep).ptr(dpBuf).u64(rows).i32(L).
				launch("col_sum_add_f32", dim3{(L + 255) / 256, slices, 1}, block256, 0)
		}
	}
	total := uint64(n) * uint64(s.KVHeads*hd)
	b.args().ptr(gk.ptr).ptr(accK).u64(uint64(n)).i32(s.Heads).i32(s.KVHeads).i32(hd).
		launch("reduce_heads_bf16", b.grid1(total), block256, 0)
	b.args().ptr(gv.ptr).ptr(accV).u64(uint64(n)).i32(s.Heads).i32(s.KVHeads).i32(hd).
		launch("reduce_heads_bf16", b.grid1(total), block256, 0)
	if gkeep != nil {
		b.args().ptr(gkeep.ptr).ptr(accKeep).u64(uint64(n)).launch("f32_to_bf16", b.grid1(uint64(n)), block256, 0)
	}
	for _, p := range []uintptr{sBuf, dpBuf, pBuf, dsBuf, accK, accV, accKeep, kx.ptr, vx.ptr} {
		b.free(p)
	}
}
