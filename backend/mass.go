package backend

import (
	"fmt"
	"math"
)

// AttentionMasser is implemented by backends that compute how much
// attention each key receives: the statistic that attention-based KV-cache
// eviction (H2O) accumulates over a generation.
type AttentionMasser interface {
	// AttentionMass sets mass (nk×1: one row per key) to the attention
	// weight each key of k receives from the queries of q under
	// Attention's causal rule (query i stands at key index nk−nq+i and sees
	// keys 0..nk−nq+i), summed over the queries and the query heads:
	//
	//	mass[j] = Σ_i Σ_h softmax_j'(Scale·q_{i,h}·k_{j',g(h)})[j],
	//
	// g(h) the key/value head of query head h. Each query head's weights
	// sum to one, so the masses sum to nq·Heads. q and k are shaped as for
	// Attention.
	AttentionMass(mass, q, k Tensor, s AttentionShape)
}

// AttentionMass is AttentionMasser's op on a backend that has it, else the
// composition: q and k copied to the host, the masses computed there in
// float64 (HostAttentionMass) and copied into mass.
func AttentionMass(b Backend, mass, q, k Tensor, s AttentionShape) {
	checkMass(mass, q, k, s)
	if f, ok := b.(AttentionMasser); ok {
		f.AttentionMass(mass, q, k, s)
		return
	}
	qv := make([]float32, q.Rows()*q.Cols())
	kv := make([]float32, k.Rows()*k.Cols())
	b.ToHost(qv, q)
	b.ToHost(kv, k)
	m := HostAttentionMass(qv, kv, q.Rows(), k.Rows(), s)
	m32 := make([]float32, len(m))
	for i, v := range m {
		m32[i] = float32(v)
	}
	t := b.FromHost(m32, len(m32), 1)
	b.Copy(mass, t)
	b.Free(t)
}

// checkMass panics on operands AttentionMass cannot take (a programming error).
func checkMass(mass, q, k Tensor, s AttentionShape) {
	if s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 || s.Heads%s.KVHeads != 0 ||
		q.Cols() != s.Heads*s.HeadDim || k.Cols() != s.KVHeads*s.HeadDim || k.Rows() < q.Rows() ||
		mass.Rows() != k.Rows() || mass.Cols() != 1 {
		panic(fmt.Sprintf("backend: AttentionMass into %d×%d of q %d×%d over k %d×%d, shape %+v",
			mass.Rows(), mass.Cols(), q.Rows(), q.Cols(), k.Rows(), k.Cols(), s))
	}
}

// HostAttentionMass computes AttentionMasser's masses in float64 from q
// (nq×Heads·HeadDim) and k (nk×KVHeads·HeadDim) held on the host.
func HostAttentionMass(q, k []float32, nq, nk int, s AttentionShape) []float64 {
	hd := s.HeadDim
	qc, kc := s.Heads*hd, s.KVHeads*hd
	group := s.Heads / s.KVHeads
	mass := make([]float64, nk)
	p := make([]float64, nk)
	for i := range nq {
		lim := nk - nq + i
		for h := range s.Heads {
			qi := q[i*qc+h*hd : i*qc+(h+1)*hd]
			off := (h / group) * hd
			top := math.Inf(-1)
			for j := 0; j <= lim; j++ {
				kj := k[j*kc+off : j*kc+off+hd]
				var dot float64
				for e, x := range qi {
					dot += float64(x) * float64(kj[e])
				}
				p[j] = dot * float64(s.Scale)
				top = math.Max(top, p[j])
			}
			var sum float64
			for j := 0; j <= lim; j++ {
				p[j] = math.Exp(p[j] - top)
				sum += p[j]
			}
			for j := 0; j <= lim; j++ {
				mass[j] += p[j] / sum
			}
		}
	}
	return mass
}
