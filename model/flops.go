package model

// Analytic floating-point operation counts, by the rule the instrumented
// backend (backend/count) uses: a matrix product of n×k by k×m costs 2·n·m·k,
// a bias n·m; attention costs 4·HeadDim per query head per (query, key) pair
// it attends (q·k and p·v); norms, RoPE, activations, softmax and the
// embedding lookup are not counted.

// LayerFLOPs counts one decoder block with nq new tokens attending nk keys
// (nk includes the new tokens, which attend causally).
func (c *Config) LayerFLOPs(nq, nk int) float64 {
	n := float64(nq)
	d, q, kv, f := float64(c.Hidden), float64(c.QDim()), float64(c.KVDim()), float64(c.FFN)
	lin := 2 * n * (d*q + 2*d*kv + q*d + 3*d*f)
	if c.QKVBias {
		lin += n * (q + 2*kv)
	}
	pairs := n*float64(nk-nq) + n*(n+1)/2
	return lin + pairs*float64(c.Heads)*4*float64(c.HeadDim)
}

// HeadFLOPs counts the classifier over rows rows.
func (c *Config) HeadFLOPs(rows int) float64 {
	return 2 * float64(rows) * float64(c.Hidden) * float64(c.Vocab)
}

// PrefillFLOPs counts a prefill in which alive[l] tokens enter block l
// (all equal to the prompt length without pruning), with last-token logits.
func (c *Config) PrefillFLOPs(alive []int) float64 {
	var s float64
	for _, a := range alive {
		s += c.LayerFLOPs(a, a)
	}
	return s + c.HeadFLOPs(1)
}

// DecodeFLOPs counts one decode step when layer l already caches cached[l] tokens.
func (c *Config) DecodeFLOPs(cached []int) float64 {
	var s float64
	for _, k := range cached {
		s += c.LayerFLOPs(1, k+1)
	}
	return s + c.HeadFLOPs(1)
}
