package nn

import "math"

// AttnShape describes grouped-query attention: Heads query heads share
// KVHeads key/value heads, each HeadDim wide; Scale multiplies q·k.
type AttnShape struct {
	Heads, KVHeads, HeadDim int
	Scale                   float64
}

// Attention computes causal grouped-query attention over n tokens with a
// per-key keep mask, as SDTP simulates pruning during training: query i
// weighs key j ≤ i by g_ij·exp(s_ij) with s_ij = Scale·q_i·k_j, where
// g_ij = keep[j] for j < i and g_ii = 1 (a token always sees itself), and
// normalises the weights to sum to one. With keep[j] = 0 a dropped token is
// invisible to later queries, while its own row is still computed. keep
// may be nil (every key kept). q and out are n×(Heads·HeadDim); k and v are
// n×(KVHeads·HeadDim).
func Attention(out, q, k, v, keep []float64, n int, s AttnShape) {
	qw, kw := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	group := s.Heads / s.KVHeads
	e := make([]float64, n)
	for i := 0; i < n; i++ {
		for h := 0; h < s.Heads; h++ {
			off := (h / group) * s.HeadDim
			qi := q[i*qw+h*s.HeadDim : i*qw+(h+1)*s.HeadDim]
			z := expScores(e, qi, k, keep, i, kw, off, s)
			o := out[i*qw+h*s.HeadDim : i*qw+(h+1)*s.HeadDim]
			clear(o)
			for j := 0; j <= i; j++ {
				if a := e[j] * gate(keep, i, j) / z; a != 0 {
					axpy(o, a, v[j*kw+off:])
				}
			}
		}
	}
}

// gate is g_ij: the key's keep value, except 1 on the diagonal.
func gate(keep []float64, i, j int) float64 {
	if keep == nil || j == i {
		return 1
	}
	return keep[j]
}

// expScores fills e[0..i] with exp(s_ij − max_j s_ij) for query row qi
// (keys read at column off of rows kw wide) and returns Σ_j g_ij·e_j.
func expScores(e, qi, k, keep []float64, i, kw, off int, s AttnShape) float64 {
	mx := math.Inf(-1)
	for j := 0; j <= i; j++ {
		e[j] = s.Scale * dot(qi, k[j*kw+off:j*kw+off+s.HeadDim])
		mx = max(mx, e[j])
	}
	var z float64
	for j := 0; j <= i; j++ {
		e[j] = math.Exp(e[j] - mx)
		z += e[j] * gate(keep, i, j)
	}
	return z
}

// AttentionBack adds to dq, dk, dv and dkeep (skipped when nil or when keep
// is nil) the gradients of Attention given dout, recomputing the attention
// weights from q and k. The gradient with respect to keep[j] is taken at
// the given mask values, including keys whose mask is 0 (the weights'
// derivative there is not 0), which is what a straight-through estimator
// needs.
func AttentionBack(dq, dk, dv, dkeep, dout, q, k, v, keep []float64, n int, s AttnShape) {
	qw, kw := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	group := s.Heads / s.KVHeads
	e := make([]float64, n)
	da := make([]float64, n)
	for i := 0; i < n; i++ {
		for h := 0; h < s.Heads; h++ {
			off := (h / group) * s.HeadDim
			qi := q[i*qw+h*s.HeadDim : i*qw+(h+1)*s.HeadDim]
			doi := dout[i*qw+h*s.HeadDim : i*qw+(h+1)*s.HeadDim]
			z := expScores(e, qi, k, keep, i, kw, off, s)
			// c = Σ_j a_ij·dA_ij with dA_ij = dout_i·v_j.
			var c float64
			for j := 0; j <= i; j++ {
				da[j] = dot(doi, v[j*kw+off:j*kw+off+s.HeadDim])
				c += e[j] * gate(keep, i, j) / z * da[j]
			}
			dqi := dq[i*qw+h*s.HeadDim : i*qw+(h+1)*s.HeadDim]
			for j := 0; j <= i; j++ {
				a := e[j] * gate(keep, i, j) / z
				if a != 0 {
					axpy(dv[j*kw+off:j*kw+off+s.HeadDim], a, doi)
				}
				if ds := a * (da[j] - c); ds != 0 {
					axpy(dqi, s.Scale*ds, k[j*kw+off:])
					axpy(dk[j*kw+off:j*kw+off+s.HeadDim], s.Scale*ds, qi)
				}
				if j < i && keep != nil && dkeep != nil {
					// ∂L/∂g_ij = e_ij/Z_i · (dA_ij − c_i).
					dkeep[j] += e[j] / z * (da[j] - c)
				}
			}
		}
	}
}
