// Package lm is the frozen language model on the host, in float64, for
// training pruning modules: the Llama-family decoder forward pass with a
// per-layer key keep mask inside attention, and the backward pass that
// carries gradients to every block's input and to the masks (never to the
// model's own weights, which stay frozen).
package lm

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/model"
)

// Layer holds one decoder block's weights, row-major, as the Hugging Face
// names store them (a projection is out×in). Bq, Bk, Bv are nil without
// QKV biases.
type Layer struct {
	AttnNorm, Wq, Wk, Wv, Wo []float64
	Bq, Bk, Bv               []float64
	MLPNorm, Gate, Up, Down  []float64
}

// Model is a decoder's weights in float64 with its configuration.
type Model struct {
	Config model.Config
	Embed  []float64 // Vocab×Hidden
	Layers []Layer
	Norm   []float64
	LMHead []float64 // Vocab×Hidden; the same slice as Embed when tied
	inv    []float64
}

// Load reads a model's weights by their Hugging Face names from src,
// checking every shape against c.
func Load(c model.Config, src model.TensorSource) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c}
	d, q, kv := c.Hidden, c.QDim(), c.KVDim()
	read := func(name string, n int) ([]float64, error) {
		t, err := src.Tensor(name)
		if err != nil {
			return nil, err
		}
		v, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if len(v) != n {
			return nil, fmt.Errorf("tensor %q has %d values (shape %v), the config needs %d", name, len(v), t.Shape, n)
		}
		out := make([]float64, n)
		for i, f := range v {
			out[i] = float64(f)
		}
		return out, nil
	}
	var err error
	if m.Embed, err = read("model.embed_tokens.weight", c.Vocab*d); err != nil {
		return nil, err
	}
	m.Layers = make([]Layer, c.Layers)
	for l := range m.Layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		ly := &m.Layers[l]
		parts := []struct {
			dst  *[]float64
			name string
			n    int
		}{
			{&ly.AttnNorm, "input_layernorm.weight", d},
			{&ly.Wq, "self_attn.q_proj.weight", q * d},
			{&ly.Wk, "self_attn.k_proj.weight", kv * d},
			{&ly.Wv, "self_attn.v_proj.weight", kv * d},
			{&ly.Wo, "self_attn.o_proj.weight", d * q},
			{&ly.MLPNorm, "post_attention_layernorm.weight", d},
			{&ly.Gate, "mlp.gate_proj.weight", c.FFN * d},
			{&ly.Up, "mlp.up_proj.weight", c.FFN * d},
			{&ly.Down, "mlp.down_proj.weight", d * c.FFN},
		}
		if c.QKVBias {
			parts = append(parts, []struct {
				dst  *[]float64
				name string
				n    int
			}{{&ly.Bq, "self_attn.q_proj.bias", q}, {&ly.Bk, "self_attn.k_proj.bias", kv}, {&ly.Bv, "self_attn.v_proj.bias", kv}}...)
		}
		for _, s := range parts {
			if *s.dst, err = read(p+s.name, s.n); err != nil {
				return nil, err
			}
		}
	}
	if m.Norm, err = read("model.norm.weight", d); err != nil {
		return nil, err
	}
	if c.TiedEmbeddings {
		m.LMHead = m.Embed
	} else if m.LMHead, err = read("lm_head.weight", c.Vocab*d); err != nil {
		return nil, err
	}
	m.init()
	return m, nil
}

// NewRandom makes a model of shape c with deterministic random weights
// (element i of each tensor is backend.RandomValue of a per-tensor seed),
// scaled like an initialised network; tests use it.
func NewRandom(c model.Config, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	d, q, kv := c.Hidden, c.QDim(), c.KVDim()
	next := seed
	rnd := func(n, fanIn int) []float64 {
		next++
		v := make([]float64, n)
		s := math.Sqrt(3 / float64(fanIn))
		for i := range v {
			v[i] = float64(backend.RandomValue(next, uint64(i))) * s
		}
		return v
	}
	norm := func(n int) []float64 {
		next++
		v := make([]float64, n)
		for i := range v {
			v[i] = 1 + 0.2*float64(backend.RandomValue(next, uint64(i)))
		}
		return v
	}
	m := &Model{Config: c, Embed: rnd(c.Vocab*d, 1)}
	for range c.Layers {
		ly := Layer{
			AttnNorm: norm(d), Wq: rnd(q*d, d), Wk: rnd(kv*d, d), Wv: rnd(kv*d, d), Wo: rnd(d*q, q),
			MLPNorm: norm(d), Gate: rnd(c.FFN*d, d), Up: rnd(c.FFN*d, d), Down: rnd(d*c.FFN, c.FFN),
		}
		if c.QKVBias {
			ly.Bq, ly.Bk, ly.Bv = rnd(q, 4), rnd(kv, 4), rnd(kv, 4)
		}
		m.Layers = append(m.Layers, ly)
	}
	m.Norm = norm(d)
	if c.TiedEmbeddings {
		m.LMHead = m.Embed
	} else {
		m.LMHead = rnd(c.Vocab*d, d)
	}
	m.init()
	return m, nil
}

func (m *Model) init() {
	inv := m.Config.InvFreq()
	m.inv = make([]float64, len(inv))
	for i, f := range inv {
		m.inv[i] = float64(f)
	}
}

// Tail returns the model made of blocks from..Layers−1 (with the same
// classifier), sharing the weights: running it from the hidden states
// entering block from continues the full model's pass.
func (m *Model) Tail(from int) *Model {
	t := *m
	t.Layers = m.Layers[from:]
	t.Config.Layers = len(t.Layers)
	return &t
}

// Digest is a SHA-256 over every weight, in a fixed order, with the
// configuration's shape: two models with the same digest compute the same
// function. Checkpoints use it to refuse another model's state.
func (m *Model) Digest() [sha256.Size]byte {
	h := sha256.New()
	c := m.Config
	c.Name = "" // a label, not part of the function
	if s := c.RopeScaling; s != nil {
		fmt.Fprintf(h, "%+v|", *s)
		c.RopeScaling = nil // %+v would print the pointer
	}
	// The config printed as before RopeLayout (always 0) left model.Config,
	// so that checkpoints written then still resume.
	io.WriteString(h, strings.Replace(fmt.Sprintf("%+v|", c), " RopeScaling:", " RopeLayout:0 RopeScaling:", 1))
	buf := make([]byte, 0, 1<<16)
	put := func(v []float64) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		for _, x := range v {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
		buf = buf[:0]
	}
	put(m.Embed)
	for i := range m.Layers {
		ly := &m.Layers[i]
		for _, v := range [][]float64{ly.AttnNorm, ly.Wq, ly.Wk, ly.Wv, ly.Wo, ly.Bq, ly.Bk, ly.Bv, ly.MLPNorm, ly.Gate, ly.Up, ly.Down} {
			put(v)
		}
	}
	put(m.Norm)
	if !m.Config.TiedEmbeddings {
		put(m.LMHead)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
