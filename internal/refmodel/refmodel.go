// Package refmodel is a float64 reference decoder for tests: a plain,
// slow, independent re-implementation of the Llama-family forward pass
// over host weights, with explicit per-layer keep lists and KV caches, so
// pruned and cached paths of the real engine can be checked against it.
package refmodel

import (
	"fmt"
	"math"

	"github.com/sdtp/sdtp/model"
)

// Weights are the float64 weights of a model, row-major.
type Weights struct {
	Embed, Norm, LMHead []float64
	Layers              []Layer
}

// Layer holds one block's weights; biases are nil when absent.
type Layer struct {
	AttnNorm, Wq, Wk, Wv, Wo, Bq, Bk, Bv, MLPNorm, Gate, Up, Down []float64
}

// Load reads the weights from src as float64.
func Load(c *model.Config, src model.TensorSource) (*Weights, error) {
	get := func(name string) ([]float64, error) {
		t, err := src.Tensor(name)
		if err != nil {
			return nil, err
		}
		v, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(v))
		for i, f := range v {
			out[i] = float64(f)
		}
		return out, nil
	}
	w := &Weights{}
	var err error
	must := func(dst *[]float64, name string) {
		if err == nil {
			*dst, err = get(name)
		}
	}
	must(&w.Embed, "model.embed_tokens.weight")
	must(&w.Norm, "model.norm.weight")
	if c.TiedEmbeddings {
		w.LMHead = w.Embed
	} else {
		must(&w.LMHead, "lm_head.weight")
	}
	w.Layers = make([]Layer, c.Layers)
	for l := range w.Layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		ly := &w.Layers[l]
		must(&ly.AttnNorm, p+"input_layernorm.weight")
		must(&ly.Wq, p+"self_attn.q_proj.weight")
		must(&ly.Wk, p+"self_attn.k_proj.weight")
		must(&ly.Wv, p+"self_attn.v_proj.weight")
		must(&ly.Wo, p+"self_attn.o_proj.weight")
		if c.QKVBias {
			must(&ly.Bq, p+"self_attn.q_proj.bias")
			must(&ly.Bk, p+"self_attn.k_proj.bias")
			must(&ly.Bv, p+"self_attn.v_proj.bias")
		}
		must(&ly.MLPNorm, p+"post_attention_layernorm.weight")
		must(&ly.Gate, p+"mlp.gate_proj.weight")
		must(&ly.Up, p+"mlp.up_proj.weight")
		must(&ly.Down, p+"mlp.down_proj.weight")
	}
	return w, err
}

// Model runs the reference forward pass.
type Model struct {
	C *model.Config
	W *Weights
	// K and V are the cached keys and values per layer (one row per token),
	// P their positions.
	K, V [][][]float64
	P    [][]int
}

// New makes a reference model with an empty cache.
func New(c *model.Config, w *Weights) *Model {
	return &Model{C: c, W: w, K: make([][][]float64, c.Layers), V: make([][][]float64, c.Layers), P: make([][]int, c.Layers)}
}

// Forward runs ids at positions pos. keep, when not nil, gives for each
// layer the indices (into the rows alive at that layer) to keep before
// the block; nil entries keep all. It returns the logits of the last row.
func (m *Model) Forward(ids, pos []int, keep [][]int32) []float64 {
	c := m.C
	d := c.Hidden
	x := make([][]float64, len(ids))
	for i, id := range ids {
		x[i] = append([]float64(nil), m.W.Embed[id*d:(id+1)*d]...)
	}
	pos = append([]int(nil), pos...)
	for l := range m.W.Layers {
		if keep != nil && keep[l] != nil {
			nx, np := make([][]float64, len(keep[l])), make([]int, len(keep[l]))
			for i, k := range keep[l] {
				nx[i], np[i] = x[k], pos[k]
			}
			x, pos = nx, np
		}
		m.block(l, x, pos)
	}
	last := rmsnorm(x[len(x)-1], m.W.Norm, c.NormEps)
	return matvec(m.W.LMHead, last, nil, c.Vocab)
}

func (m *Model) block(l int, x [][]float64, pos []int) {
	c, ly := m.C, &m.W.Layers[l]
	d, hd := c.Hidden, c.HeadDim
	inv := c.InvFreq()
	qs := make([][]float64, len(x))
	for i, xi := range x {
		h := rmsnorm(xi, ly.AttnNorm, c.NormEps)
		q := matvec(ly.Wq, h, ly.Bq, c.QDim())
		k := matvec(ly.Wk, h, ly.Bk, c.KVDim())
		v := matvec(ly.Wv, h, ly.Bv, c.KVDim())
		rope(q, c.Heads, hd, pos[i], inv)
		rope(k, c.KVHeads, hd, pos[i], inv)
		qs[i] = q
		m.K[l] = append(m.K[l], k)
		m.V[l] = append(m.V[l], v)
		m.P[l] = append(m.P[l], pos[i])
	}
	nk := len(m.K[l])
	group := c.Heads / c.KVHeads
	scale := 1 / math.Sqrt(float64(hd))
	for i := range x {
		limit := nk - len(x) + i // the key index of this query
		att := make([]float64, c.QDim())
		for h := 0; h < c.Heads; h++ {
			kvh := h / group
			q := qs[i][h*hd : (h+1)*hd]
			s := make([]float64, limit+1)
			mx := math.Inf(-1)
			for j := 0; j <= limit; j++ {
				s[j] = dot(q, m.K[l][j][kvh*hd:(kvh+1)*hd]) * scale
				mx = math.Max(mx, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			for j := range s {
				vj := m.V[l][j][kvh*hd : (kvh+1)*hd]
				for e := 0; e < hd; e++ {
					att[h*hd+e] += s[j] / sum * vj[e]
				}
			}
		}
		o := matvec(ly.Wo, att, nil, d)
		for e := range o {
			x[i][e] += o[e]
		}
		h := rmsnorm(x[i], ly.MLPNorm, c.NormEps)
		g := matvec(ly.Gate, h, nil, c.FFN)
		u := matvec(ly.Up, h, nil, c.FFN)
		for e := range g {
			g[e] = g[e] / (1 + math.Exp(-g[e])) * u[e]
		}
		o = matvec(ly.Down, g, nil, d)
		for e := range o {
			x[i][e] += o[e]
		}
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func matvec(w, x, bias []float64, rows int) []float64 {
	k := len(x)
	out := make([]float64, rows)
	for r := range out {
		out[r] = dot(w[r*k:(r+1)*k], x)
		if bias != nil {
			out[r] += bias[r]
		}
	}
	return out
}

func rmsnorm(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	r := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * r * w[i]
	}
	return out
}

func rope(x []float64, heads, hd, pos int, inv []float32) {
	for h := 0; h < heads; h++ {
		v := x[h*hd : (h+1)*hd]
		for j := 0; j < hd/2; j++ {
			a := float64(pos) * float64(inv[j])
			cs, sn := math.Cos(a), math.Sin(a)
			i0, i1 := j, j+hd/2
			v0, v1 := v[i0], v[i1]
			v[i0] = v0*cs - v1*sn
			v[i1] = v0*sn + v1*cs
		}
	}
}
