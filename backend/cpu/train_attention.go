package cpu

import (
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
)

// maskedOperands checks MaskedAttention's operands and returns them.
func maskedOperands(op string, dst, q, k, v, keep backend.Tensor, s backend.AttentionShape) (d, qt, kt, vt, kp *tensor) {
	d, qt, kt, vt = asTensor(dst), asTensor(q), asTensor(k), asTensor(v)
	h, g, hd := s.Heads, s.KVHeads, s.HeadDim
	if h <= 0 || g <= 0 || hd <= 0 || h%g != 0 {
		panic(fmt.Sprintf("cpu backend: %s shape %+v", op, s))
	}
	n := qt.rows
	if qt.cols != h*hd || kt.cols != g*hd || vt.cols != g*hd || kt.rows != n || vt.rows != n {
		panic(fmt.Sprintf("cpu backend: %s q %d×%d, k %d×%d, v %d×%d for shape %+v", op, qt.rows, qt.cols, kt.rows, kt.cols, vt.rows, vt.cols, s))
	}
	sameShape(op, qt, d)
	if keep != nil {
		kp = asTensor(keep)
		if kp.rows != n || kp.cols != 1 {
			panic(fmt.Sprintf("cpu backend: %s keep %d×%d for %d tokens", op, kp.rows, kp.cols, n))
		}
	}
	return d, qt, kt, vt, kp
}

// maskedHead is one query head's view of a masked attention call.
type maskedHead struct {
	q, k, v, keep *tensor
	s             backend.AttentionShape
	h, off        int // head, and its key/value column offset
}

func newMaskedHead(q, k, v, keep *tensor, s backend.AttentionShape, h int) maskedHead {
	return maskedHead{q: q, k: k, v: v, keep: keep, s: s, h: h, off: h / (s.Heads / s.KVHeads) * s.HeadDim}
}

// gate is g_ij: keep[j] for j < i, 1 on the diagonal.
func (m *maskedHead) gate(i, j int) float64 {
	if m.keep == nil || j == i {
		return 1
	}
	return float64(m.keep.data[j])
}

// weights fills e[0..i] with exp(s_ij − max) (the max over the keys whose
// gate is not 0) and returns Σ_j g_ij·e_j.
func (m *maskedHead) weights(e []float64, i int) float64 {
	hd := m.s.HeadDim
	qi := m.q.row(i)[m.h*hd : (m.h+1)*hd]
	top := math.Inf(-1)
	for j := 0; j <= i; j++ {
		kj := m.k.row(j)[m.off : m.off+hd]
		var dot float64
		for e, x := range qi {
			dot += float64(x) * float64(kj[e])
		}
		e[j] = dot * float64(m.s.Scale)
		if m.gate(i, j) != 0 {
			top = max(top, e[j])
		}
	}
	var z float64
	for j := 0; j <= i; j++ {
		e[j] = math.Exp(e[j] - top)
		z += e[j] * m.gate(i, j)
	}
	return z
}

// MaskedAttention is attention with a per-key keep mask (see backend.Trainer).
func (b *Backend) MaskedAttention(dst, q, k, v, keep backend.Tensor, s backend.AttentionShape) {
	d, qt, kt, vt, kp := maskedOperands("MaskedAttention", dst, q, k, v, keep, s)
	defer b.lock()()
	n, hd := qt.rows, s.HeadDim
	b.parallel(s.Heads, func(_, h int) {
		m := newMaskedHead(qt, kt, vt, kp, s, h)
		e := make([]float64, n)
		acc := make([]float64, hd)
		for i := range n {
			z := m.weights(e, i)
			clear(acc)
			for j := 0; j <= i; j++ {
				a := e[j] * m.gate(i, j) / z
				if a == 0 {
					continue
				}
				for c, x := range vt.row(j)[m.off : m.off+hd] {
					acc[c] += a * float64(x)
				}
			}
			out := d.row(i)[h*hd : (h+1)*hd]
			for c, x := range acc {
				out[c] = float32(x)
			}
		}
	})
}

// MaskedAttentionBack sets the gradients of MaskedAttention (see backend.Trainer).
func (b *Backend) MaskedAttentionBack(dq, dk, dv, dkeep, dout, q, k, v, keep backend.Tensor, s backend.AttentionShape) {
	gq, qt, kt, vt, kp := maskedOperands("MaskedAttentionBack", dq, q, k, v, keep, s)
	gk, gv, gout := asTensor(dk), asTensor(dv), asTensor(dout)
	sameShape("MaskedAttentionBack", kt, gk, gv)
	sameShape("MaskedAttentionBack", qt, gout)
	var gkeep *tensor
	if dkeep != nil {
		gkeep = asTensor(dkeep)
		if gkeep.rows != qt.rows || gkeep.cols != 1 {
			panic(fmt.Sprintf("cpu backend: MaskedAttentionBack dkeep %d×%d for %d tokens", gkeep.rows, gkeep.cols, qt.rows))
		}
	}
	defer b.lock()()
	n, hd, heads := qt.rows, s.HeadDim, s.Heads
	// Each head accumulates its own key, value and mask gradients; they are
	// summed over the heads of each group afterwards.
	hk := make([][]float64, heads)
	hv := make([][]float64, heads)
	hkeep := make([][]float64, heads)
	b.parallel(heads, func(_, h int) {
		m := newMaskedHead(qt, kt, vt, kp, s, h)
		sk, sv, skeep := make([]float64, n*hd), make([]float64, n*hd), make([]float64, n)
		e, da := make([]float64, n), make([]float64, n)
		dqi := make([]float64, hd)
		scale := float64(s.Scale)
		for i := range n {
			qi := qt.row(i)[h*hd : (h+1)*hd]
			doi := gout.row(i)[h*hd : (h+1)*hd]
			z := m.weights(e, i)
			var c float64
			for j := 0; j <= i; j++ {
				var dot float64
				for t, x := range vt.row(j)[m.off : m.off+hd] {
					dot += float64(doi[t]) * float64(x)
				}
				da[j] = dot
				c += e[j] * m.gate(i, j) / z * dot
			}
			clear(dqi)
			for j := 0; j <= i; j++ {
				a := e[j] * m.gate(i, j) / z
				kj := kt.row(j)[m.off : m.off+hd]
				if a != 0 {
					ds := scale * a * (da[j] - c)
					for t := range hd {
						sv[j*hd+t] += a * float64(doi[t])
						dqi[t] += ds * float64(kj[t])
						sk[j*hd+t] += ds * float64(qi[t])
					}
				}
				if j < i {
					skeep[j] += e[j] / z * (da[j] - c)
				}
			}
			out := gq.row(i)[h*hd : (h+1)*hd]
			for t, x := range dqi {
				out[t] = float32(x)
			}
		}
		hk[h], hv[h], hkeep[h] = sk, sv, skeep
	})
	group := heads / s.KVHeads
	for g := range s.KVHeads {
		for j := range n {
			kr, vr := gk.row(j)[g*hd:(g+1)*hd], gv.row(j)[g*hd:(g+1)*hd]
			for t := range hd {
				var sk, sv float64
				for h := g * group; h < (g+1)*group; h++ {
					sk += hk[h][j*hd+t]
					sv += hv[h][j*hd+t]
				}
				kr[t], vr[t] = float32(sk), float32(sv)
			}
		}
	}
	if gkeep != nil {
		for j := range n {
			var sum float64
			for h := range heads {
				sum += hkeep[h][j]
			}
			gkeep.data[j] = float32(sum)
		}
	}
}
