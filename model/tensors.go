package model

import "github.com/sdtp/sdtp/hfconfig"

// Weights are a decoder's tensors, of whatever type a loader keeps them in
// (backend weights here, float64 slices in the host decoder).
type Weights[T any] struct {
	Embed  T
	Layers []Block[T]
	Norm   T
	LMHead T // the embedding itself when tied
}

// Block holds the tensors of one decoder block. Bq, Bk, Bv stay zero
// unless the config has QKV biases.
type Block[T any] struct {
	AttnNorm, Wq, Wk, Wv, Wo T
	Bq, Bk, Bv               T
	MLPNorm, Gate, Up, Down  T
}

// Slot returns where tensor t is kept; Layers must hold t's block.
func (w *Weights[T]) Slot(t Tensor) *T {
	switch t.Role {
	case hfconfig.Embed:
		return &w.Embed
	case hfconfig.FinalNorm:
		return &w.Norm
	case hfconfig.LMHead:
		return &w.LMHead
	}
	return w.Layers[t.Layer].slot(t.Role)
}

// slot returns where the tensor of block role r is kept.
func (b *Block[T]) slot(r hfconfig.Role) *T {
	switch r {
	case hfconfig.AttnNorm:
		return &b.AttnNorm
	case hfconfig.Q:
		return &b.Wq
	case hfconfig.K:
		return &b.Wk
	case hfconfig.V:
		return &b.Wv
	case hfconfig.O:
		return &b.Wo
	case hfconfig.QBias:
		return &b.Bq
	case hfconfig.KBias:
		return &b.Bk
	case hfconfig.VBias:
		return &b.Bv
	case hfconfig.MLPNorm:
		return &b.MLPNorm
	case hfconfig.Gate:
		return &b.Gate
	case hfconfig.Up:
		return &b.Up
	case hfconfig.Down:
		return &b.Down
	}
	panic("model: " + hfconfig.TensorName(r, 0) + " is not a block tensor")
}

// Tensor is one stored tensor of a decoder: its role, its block (-1 for a
// model-wide tensor) and its shape as the config requires it (a vector is
// 1×n).
type Tensor struct {
	Role       hfconfig.Role
	Layer      int
	Rows, Cols int
}

// Name is the tensor's Hugging Face name.
func (t Tensor) Name() string { return hfconfig.TensorName(t.Role, t.Layer) }

// Shape returns the rows and columns the config gives a tensor of role r.
func (c *Config) Shape(r hfconfig.Role) (rows, cols int) {
	d, q, kv := c.Hidden, c.QDim(), c.KVDim()
	switch r {
	case hfconfig.Embed, hfconfig.LMHead:
		return c.Vocab, d
	case hfconfig.Q:
		return q, d
	case hfconfig.K, hfconfig.V:
		return kv, d
	case hfconfig.O:
		return d, q
	case hfconfig.QBias:
		return 1, q
	case hfconfig.KBias, hfconfig.VBias:
		return 1, kv
	case hfconfig.Gate, hfconfig.Up:
		return c.FFN, d
	case hfconfig.Down:
		return d, c.FFN
	}
	return 1, d // the norms
}

// Tensors lists every tensor a model of this config stores, in loading
// order: the embedding, each block's tensors (hfconfig.BlockRoles), the
// final norm, and the classifier unless it is tied to the embedding.
func (c *Config) Tensors() []Tensor {
	mk := func(r hfconfig.Role, layer int) Tensor {
		rows, cols := c.Shape(r)
		return Tensor{Role: r, Layer: layer, Rows: rows, Cols: cols}
	}
	ts := []Tensor{mk(hfconfig.Embed, -1)}
	roles := hfconfig.BlockRoles(c.QKVBias)
	for l := range c.Layers {
		for _, r := range roles {
			ts = append(ts, mk(r, l))
		}
	}
	ts = append(ts, mk(hfconfig.FinalNorm, -1))
	if !c.TiedEmbeddings {
		ts = append(ts, mk(hfconfig.LMHead, -1))
	}
	return ts
}
