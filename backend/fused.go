package backend

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
