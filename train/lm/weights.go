// Package lm is the frozen language model on the host, in float64: the
// Llama-family decoder forward pass with a per-layer key keep mask inside
// attention, and the backward pass that carries gradients to every block's
// input and to the masks (never to the model's own weights, which stay
// frozen). Training pruning modules runs on it, and it is the one float64
// reference decoder the engine's tests check against (Blocks runs any
// range of blocks, so a test can prune between them by hand).
package lm

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/hfconfig"
	"github.com/sdtp/sdtp/model"
)

// Layer holds one decoder block's weights, row-major, as the Hugging Face
// names store them (a projection is out×in). Bq, Bk, Bv are nil without
// QKV biases.
type Layer = model.Block[[]float64]

// Model is a decoder's weights in float64 with its configuration.
type Model struct {
	Config model.Config
	model.Weights[[]float64]
	inv []float64
}

// Load reads a model's weights by their Hugging Face names from src,
// checking every shape against c.
func Load(c model.Config, src model.TensorSource) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c}
	m.Layers = make([]Layer, c.Layers)
	for _, t := range c.Tensors() {
		name, n := t.Name(), t.Rows*t.Cols
		st, err := src.Tensor(name)
		if err != nil {
			return nil, err
		}
		v, err := st.Float32s()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if len(v) != n {
			return nil, fmt.Errorf("tensor %q has %d values (shape %v), the config needs %d", name, len(v), st.Shape, n)
		}
		out := make([]float64, n)
		for i, f := range v {
			out[i] = float64(f)
		}
		*m.Slot(t) = out
	}
	if c.TiedEmbeddings {
		m.LMHead = m.Embed
	}
	m.init()
	return m, nil
}

// NewRandom makes a model of shape c with deterministic random weights
// (element i of each tensor is backend.RandomValue of a per-tensor seed,
// the seeds counting up from seed in the order of c.Tensors), scaled like
// an initialised network; tests use it.
func NewRandom(c model.Config, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c}
	m.Layers = make([]Layer, c.Layers)
	for i, t := range c.Tensors() {
		s := seed + uint64(i) + 1
		v := make([]float64, t.Rows*t.Cols)
		for j := range v {
			r := float64(backend.RandomValue(s, uint64(j)))
			switch {
			case t.Role.IsNorm():
				v[j] = 1 + 0.2*r
			case t.Role == hfconfig.Embed:
				v[j] = r * math.Sqrt(3)
			case t.Role.IsBias():
				v[j] = r * math.Sqrt(3/4.0)
			default:
				v[j] = r * math.Sqrt(3/float64(t.Cols))
			}
		}
		*m.Slot(t) = v
	}
	if c.TiedEmbeddings {
		m.LMHead = m.Embed
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

// Blocks returns the model made of blocks from..to−1 (with the same
// final norm and classifier), sharing the weights: running it from the
// hidden states entering block from continues the full model's pass up to
// block to; with to = Config.Layers, to the logits.
func (m *Model) Blocks(from, to int) *Model {
	t := *m
	t.Layers = m.Layers[from:to]
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
