package backend

// Trainer is the optional interface of backends that run the ops SDTP
// training needs besides the forward ones: the backward passes of the
// decoder's ops with respect to their inputs (the frozen model gets no
// weight gradients), attention with a per-key keep mask and its backward,
// the next-token losses with their gradients, and the small pieces the
// pruning modules' own training takes (a weight gradient, GELU's
// backward). The conformance suite checks every op against float64
// references (train/nn's, whose gradients are checked by finite
// differences), on every backend that has it.
//
// Conventions are the forward ops': 2-D row-major tensors, a destination
// the caller allocated, shape mismatches panic, device errors are sticky.
// An op "sets" its destination unless it says it adds to it.
type Trainer interface {
	// Zero sets every element of t to 0.
	Zero(t Tensor)
	// MatMulBackInput sets dx = dy·w, or adds dy·w to dx when accumulate
	// is set: the gradient of MatMul with respect to x. dy is n×m, w is
	// m×k (as given to MatMul), dx is n×k.
	MatMulBackInput(dx, dy Tensor, w Weight, accumulate bool)
	// MatMulBackWeight sets dw = dyᵀ·x, the gradient of MatMul with
	// respect to its weight: dy is n×m, x is n×k, dw is m×k. With x a
	// column of ones it gives the bias gradient (the column sums of dy).
	MatMulBackWeight(dw, dy, x Tensor)
	// RMSNormBack adds to dx the gradient of RMSNorm(x)·w with respect to
	// x given dy, the gradient at its output (w is frozen):
	// dx_j += r·w_j·dy_j − r³/d·x_j·Σ_k dy_k·w_k·x_k, r = (mean(x²)+eps)^-½.
	RMSNormBack(dx, dy, x Tensor, w Weight, eps float32)
	// SiLUMulBack sets da and db to the gradients of silu(a)·b given dy.
	SiLUMulBack(da, db, dy, a, b Tensor)
	// GELUBack sets dx to the gradient of GELU (erf form) given dy:
	// dy·(Φ(x) + x·φ(x)).
	GELUBack(dx, dy, x Tensor)
	// RowDot sets dst[i] = Σ_j a[i][j]·b[i][j]; dst is n×1.
	RowDot(dst, a, b Tensor)
	// MaskedAttention is causal grouped-query attention over n tokens
	// (q, k, v hold the same n rows) in which query i weighs key j ≤ i by
	// g_ij·exp(s_ij), g_ij = keep[j] for j < i and g_ii = 1 (a token always
	// sees itself), normalised to sum to one: pruning simulated as SDTP's
	// training does, a dropped token invisible to later queries while its
	// own row is still computed. keep is n×1 (values in [0, 1]); nil keeps
	// every key, which is Attention's prefill.
	MaskedAttention(dst, q, k, v, keep Tensor, s AttentionShape)
	// MaskedAttentionBack sets dq, dk, dv and, when dkeep (n×1) is not nil,
	// dkeep to the gradients of MaskedAttention given dout, recomputing the
	// attention weights. The gradient with respect to keep[j] is taken at
	// the given values, keys whose keep is 0 included (the weights'
	// derivative there is not 0): what a straight-through estimator needs.
	// A nil keep counts as all ones, for dkeep too. Backends may bound the
	// weight an ungated key would have (CUDA caps its exponent at 60 above
	// the gated maximum, where float32 would overflow soon after; the CPU
	// is exact), and may sum dkeep in a run-dependent order (CUDA adds
	// query slices atomically), so dkeep is reproducible to rounding only.
	MaskedAttentionBack(dq, dk, dv, dkeep, dout, q, k, v, keep Tensor, s AttentionShape)
	// CrossEntropy sets, for each row i of logits (n×V), losses[i] (n×1)
	// to −log softmax(logits[i])[targets[i]] and replaces logits[i] by
	// scale·(softmax(logits[i]) − onehot(targets[i])), the gradient of
	// scale times the loss.
	CrossEntropy(losses, logits Tensor, targets Ints, scale float32)
	// SoftCrossEntropy is CrossEntropy against distributions: teacher
	// (n×V) holds log p per row; losses[i] = −Σ_v p_v·log q_v with q =
	// softmax(logits[i]), and logits[i] becomes scale·(q − p).
	SoftCrossEntropy(losses, logits, teacher Tensor, scale float32)
}
