package backend

import "fmt"

// Optional fused operations. A backend may implement any of them to save
// launches and memory traffic; the model checks with a type assertion and
// falls back to the composed ops, so results must equal the composition
// (to the backend's rounding). The conformance suite checks each one a
// backend has against its composition.

// AddRMSNormer fuses a residual add with the RMSNorm that follows it.
type AddRMSNormer interface {
	// AddRMSNorm sets x = x + d, then dst = RMSNorm(x)·w (as RMSNorm).
	AddRMSNorm(dst, x, d Tensor, w Weight, eps float32)
}

// QKVer computes the three attention projections in one call.
type QKVer interface {
	// QKV sets q = x·wqᵀ+bq, k = x·wkᵀ+bk, v = x·wvᵀ+bv (biases may be nil).
	QKV(q, k, v, x Tensor, wq, wk, wv, bq, bk, bv Weight)
}

// GateUpper fuses the gated MLP's two input projections with SiLU-mul.
type GateUpper interface {
	// GateUp sets dst = silu(x·gateᵀ) * (x·upᵀ).
	GateUp(dst, x Tensor, gate, up Weight)
}

// BatchAttender computes one decode step's attention for several sequences
// at once, each over its own cache (a batched decode step: the sequences'
// caches differ in length, by layer under pruning, and live apart).
type BatchAttender interface {
	// BatchAttention sets row i of dst to the attention of row i of q (one
	// decode query) over every key of k[i] and v[i]: what
	// Attention(View(dst, i, 1), View(q, i, 1), k[i], v[i], s) computes,
	// for each i, to the backend's rounding.
	BatchAttention(dst, q Tensor, k, v []Tensor, s AttentionShape)
}

// DecodeAttention is BatchAttention on a backend that has it, else the
// composition: one Attention per sequence.
func DecodeAttention(b Backend, dst, q Tensor, k, v []Tensor, s AttentionShape) {
	if len(k) != q.Rows() || len(v) != q.Rows() || dst.Rows() != q.Rows() {
		panic(fmt.Sprintf("backend: DecodeAttention of %d queries into %d rows over %d key and %d value caches", q.Rows(), dst.Rows(), len(k), len(v)))
	}
	if f, ok := b.(BatchAttender); ok {
		f.BatchAttention(dst, q, k, v, s)
		return
	}
	for i := range k {
		b.Attention(b.View(dst, i, 1), b.View(q, i, 1), k[i], v[i], s)
	}
}

// RowScatterer copies the rows of one tensor into as many others at once
// (a batched decode step's new keys and values into each sequence's
// cache: one call instead of one Copy per sequence).
type RowScatterer interface {
	// ScatterRows sets dst[i] (one row as wide as src) to row i of src.
	ScatterRows(dst []Tensor, src Tensor)
}

// ScatterRows is RowScatterer's op on a backend that has it, else one
// Copy per row.
func ScatterRows(b Backend, dst []Tensor, src Tensor) {
	if len(dst) != src.Rows() {
		panic(fmt.Sprintf("backend: ScatterRows of %d rows into %d tensors", src.Rows(), len(dst)))
	}
	if f, ok := b.(RowScatterer); ok {
		f.ScatterRows(dst, src)
		return
	}
	for i, d := range dst {
		b.Copy(d, b.View(src, i, 1))
	}
}
