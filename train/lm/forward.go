package lm

import (
	"fmt"
	"math"

	"github.com/sdtp/sdtp/train/nn"
)

// KeyMasks chooses, before each block, the key keep mask its attention
// uses (one value per token, 1 keep, 0 drop; nil keeps every key). It
// receives the block index and the block's input hidden states (n×Hidden),
// which it must not modify; a pruning location scores tokens from them.
type KeyMasks func(layer int, x []float64) []float64

// blockTrace holds the activations of one block that the backward pass
// reads.
type blockTrace struct {
	x, h1, q, k, v, a, xm, h2, gate, up []float64
	keep                                []float64
}

// Trace is one forward pass over n tokens: every block's activations and
// the final hidden states (before the final norm).
type Trace struct {
	m      *Model
	n      int
	pos    []int
	blocks []blockTrace
	out    []float64
}

// Embedding returns the embedding rows of ids (n×Hidden).
func (m *Model) Embedding(ids []int) ([]float64, error) {
	d := m.Config.Hidden
	if w := m.Config.SlidingWindow; w > 0 && len(ids) > w {
		return nil, fmt.Errorf("a text of %d tokens is longer than the model's sliding window of %d, which training does not implement (lower --max-tokens)", len(ids), w)
	}
	x := make([]float64, len(ids)*d)
	for i, id := range ids {
		if id < 0 || id >= m.Config.Vocab {
			return nil, fmt.Errorf("token id %d at %d outside the vocabulary (size %d)", id, i, m.Config.Vocab)
		}
		copy(x[i*d:(i+1)*d], m.EmbedRow(id))
	}
	return x, nil
}

// EmbedRow returns the embedding of one token (shared, not a copy).
func (m *Model) EmbedRow(id int) []float64 {
	d := m.Config.Hidden
	return m.Embed[id*d : (id+1)*d]
}

// Forward runs ids at positions 0..n−1 through every block, asking masks
// (which may be nil) for each block's key mask.
func (m *Model) Forward(ids []int, masks KeyMasks) (*Trace, error) {
	x, err := m.Embedding(ids)
	if err != nil {
		return nil, err
	}
	pos := make([]int, len(ids))
	for i := range pos {
		pos[i] = i
	}
	return m.ForwardFrom(x, pos, masks), nil
}

// ForwardFrom runs the hidden states x (n×Hidden, not modified) at the
// given positions through every block.
func (m *Model) ForwardFrom(x []float64, pos []int, masks KeyMasks) *Trace {
	c := &m.Config
	n := len(pos)
	t := &Trace{m: m, n: n, pos: pos, blocks: make([]blockTrace, c.Layers)}
	cur := x
	for l := range m.Layers {
		var keep []float64
		if masks != nil {
			keep = masks(l, cur)
		}
		cur = m.block(&t.blocks[l], &m.Layers[l], cur, keep, pos)
	}
	t.out = cur
	return t
}

// attnShape is the attention shape, with the scale rounded to float32 as
// the inference backends use it.
func (m *Model) attnShape() nn.AttnShape {
	c := &m.Config
	return nn.AttnShape{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: float64(float32(1 / math.Sqrt(float64(c.HeadDim))))}
}

// block runs one decoder block on x, recording its activations in bt, and
// returns its output.
func (m *Model) block(bt *blockTrace, ly *Layer, x, keep []float64, pos []int) []float64 {
	c := &m.Config
	n, d, qd, kvd, f := len(pos), c.Hidden, c.QDim(), c.KVDim(), c.FFN
	eps := c.NormEps
	bt.x, bt.keep = x, keep
	bt.h1 = make([]float64, n*d)
	nn.RMSNorm(bt.h1, x, ly.AttnNorm, n, d, eps)
	bt.q, bt.k, bt.v = make([]float64, n*qd), make([]float64, n*kvd), make([]float64, n*kvd)
	nn.Linear(bt.q, bt.h1, ly.Wq, ly.Bq, n, d, qd)
	nn.Linear(bt.k, bt.h1, ly.Wk, ly.Bk, n, d, kvd)
	nn.Linear(bt.v, bt.h1, ly.Wv, ly.Bv, n, d, kvd)
	nn.RoPE(bt.q, pos, c.Heads, c.HeadDim, m.inv)
	nn.RoPE(bt.k, pos, c.KVHeads, c.HeadDim, m.inv)
	bt.a = make([]float64, n*qd)
	nn.Attention(bt.a, bt.q, bt.k, bt.v, keep, n, m.attnShape())
	bt.xm = make([]float64, n*d)
	nn.Linear(bt.xm, bt.a, ly.Wo, nil, n, qd, d)
	for i, v := range x {
		bt.xm[i] += v
	}
	bt.h2 = make([]float64, n*d)
	nn.RMSNorm(bt.h2, bt.xm, ly.MLPNorm, n, d, eps)
	bt.gate, bt.up = make([]float64, n*f), make([]float64, n*f)
	nn.Linear(bt.gate, bt.h2, ly.Gate, nil, n, d, f)
	nn.Linear(bt.up, bt.h2, ly.Up, nil, n, d, f)
	act := make([]float64, n*f)
	nn.SiLUMul(act, bt.gate, bt.up)
	out := make([]float64, n*d)
	nn.Linear(out, act, ly.Down, nil, n, f, d)
	for i, v := range bt.xm {
		out[i] += v
	}
	return out
}

// Len returns the number of tokens of the pass.
func (t *Trace) Len() int { return t.n }

// Input returns the hidden states entering block layer (n×Hidden); do not
// modify them.
func (t *Trace) Input(layer int) []float64 { return t.blocks[layer].x }

// Output returns the final hidden states, before the final norm.
func (t *Trace) Output() []float64 { return t.out }

// Logits returns the next-token logits at row i (final norm, classifier).
func (t *Trace) Logits(i int) []float64 {
	c := &t.m.Config
	d := c.Hidden
	h := make([]float64, d)
	nn.RMSNorm(h, t.out[i*d:(i+1)*d], t.m.Norm, 1, d, c.NormEps)
	lg := make([]float64, c.Vocab)
	nn.Linear(lg, h, t.m.LMHead, nil, 1, d, c.Vocab)
	return lg
}

// LogProbs returns the next-token log-probabilities at row i (the
// log-softmax of Logits).
func (t *Trace) LogProbs(i int) []float64 {
	lg := t.Logits(i)
	nn.LogSoftmax(lg, lg)
	return lg
}
