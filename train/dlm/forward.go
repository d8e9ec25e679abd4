package dlm

import (
	"context"
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/model"
)

// KeyMasks chooses, before each block, the key keep mask its attention
// uses: n values (1 keep, 0 drop; nil keeps every key). It receives the
// block index and the block's input hidden states (n×Hidden, the trace's
// own copy: valid until the trace is freed), which it must not modify; a
// pruning location scores tokens from them.
type KeyMasks func(layer int, x backend.Tensor) ([]float32, error)

// Trace is one forward pass over n tokens at positions 0..n−1: every
// block's input and key mask, and the final hidden states (before the
// final norm). Free releases it.
type Trace struct {
	d      *Model
	ids    []int
	n      int
	posDev backend.Ints
	inputs []backend.Tensor // block inputs, n×Hidden each
	keeps  []backend.Tensor // key masks per block (n×1, nil: none); shared between blocks
	out    backend.Tensor
	ws     *workspace
}

// workspace holds one block's recomputed activations and gradients.
type workspace struct {
	h, q, k, v, a, xm, h2 backend.Tensor // forward
	dq, dk, dv, da, dh    backend.Tensor // backward
	gate, up, act         backend.Tensor // MLP chunk
	dgate, dup            backend.Tensor
	dkeep                 backend.Tensor
	all                   []backend.Tensor
}

func (d *Model) newWorkspace(n int) *workspace {
	c := d.Config()
	b := d.B
	ch := d.mlpChunk(n)
	w := &workspace{}
	mk := func(rows, cols int) backend.Tensor {
		t := b.New(rows, cols)
		w.all = append(w.all, t)
		return t
	}
	w.h, w.q, w.k, w.v = mk(n, c.Hidden), mk(n, c.QDim()), mk(n, c.KVDim()), mk(n, c.KVDim())
	w.a, w.xm, w.h2 = mk(n, c.QDim()), mk(n, c.Hidden), mk(n, c.Hidden)
	w.gate, w.up, w.act = mk(ch, c.FFN), mk(ch, c.FFN), mk(ch, c.FFN)
	return w
}

// backwardBuffers adds the gradient buffers, made on the first backward.
func (w *workspace) backwardBuffers(b backend.Backend, c *model.Config, n, ch int) {
	if w.dq != nil {
		return
	}
	mk := func(rows, cols int) backend.Tensor {
		t := b.New(rows, cols)
		w.all = append(w.all, t)
		return t
	}
	w.dq, w.dk, w.dv, w.da, w.dh = mk(n, c.QDim()), mk(n, c.KVDim()), mk(n, c.KVDim()), mk(n, c.QDim()), mk(n, c.Hidden)
	w.dgate, w.dup = mk(ch, c.FFN), mk(ch, c.FFN)
	w.dkeep = mk(n, 1)
}

// Forward runs ids at positions 0..n−1 through every block, asking masks
// (which may be nil) for each block's key mask. The trace keeps each
// block's input on the backend.
func (d *Model) Forward(ctx context.Context, ids []int, masks KeyMasks) (*Trace, error) {
	c := d.Config()
	n := len(ids)
	if n == 0 {
		return nil, fmt.Errorf("forward: no tokens")
	}
	if w := c.SlidingWindow; w > 0 && n > w {
		return nil, fmt.Errorf("a text of %d tokens is longer than the model's sliding window of %d, which training does not implement (lower --max-tokens)", n, w)
	}
	if n > c.MaxPos {
		return nil, fmt.Errorf("a text of %d tokens is longer than the model's %d positions (lower --max-tokens)", n, c.MaxPos)
	}
	ids32, pos := make([]int32, n), make([]int32, n)
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return nil, fmt.Errorf("token id %d at %d outside the vocabulary (size %d)", id, i, c.Vocab)
		}
		ids32[i], pos[i] = int32(id), int32(i)
	}
	b := d.B
	t := &Trace{d: d, ids: ids, n: n, posDev: b.Ints(pos), inputs: make([]backend.Tensor, c.Layers), keeps: make([]backend.Tensor, c.Layers)}
	t.ws = d.newWorkspace(n)
	x := b.New(n, c.Hidden)
	idsDev := b.Ints(ids32)
	b.Embed(x, d.M.Embed, idsDev)
	b.FreeInts(idsDev)
	var keepHost []float32
	var keepDev backend.Tensor
	for l := range c.Layers {
		if err := ctx.Err(); err != nil {
			b.Free(x)
			t.Free()
			return nil, err
		}
		in := b.New(n, c.Hidden)
		b.Copy(in, x)
		t.inputs[l] = in
		if masks != nil {
			k, err := masks(l, in)
			if err != nil {
				b.Free(x)
				t.Free()
				return nil, err
			}
			if k != nil && len(k) != n {
				b.Free(x)
				t.Free()
				return nil, fmt.Errorf("block %d: key mask of %d values for %d tokens", l, len(k), n)
			}
			if !sameSlice(k, keepHost) {
				keepHost = k
				keepDev = nil
				if k != nil {
					keepDev = b.FromHost(k, n, 1)
				}
			}
		}
		t.keeps[l] = keepDev
		d.attention(t.ws, l, x, keepDev, t.posDev)
		d.mlpForward(t.ws, l, x)
	}
	t.out = x
	if err := b.Sync(); err != nil {
		t.Free()
		return nil, err
	}
	return t, nil
}

// sameSlice says whether a and b are the same slice (the same mask
// returned again), not merely equal.
func sameSlice(a, b []float32) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// attnShape is the attention shape with the float32 scale the inference
// model uses.
func (d *Model) attnShape() backend.AttentionShape {
	c := d.Config()
	return backend.AttentionShape{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: float32(1 / math.Sqrt(float64(c.HeadDim)))}
}

// attention runs block l's attention half on x (not modified): it leaves
// the normed input, q, k, v (after RoPE), the attention output and xm =
// x + attention·Woᵀ in w.
func (d *Model) attention(w *workspace, l int, x, keep backend.Tensor, pos backend.Ints) {
	b, c, ly := d.B, d.Config(), &d.M.Layers[l]
	b.RMSNorm(w.h, x, ly.AttnNorm, float32(c.NormEps))
	b.MatMul(w.q, w.h, ly.Wq, ly.Bq)
	b.MatMul(w.k, w.h, ly.Wk, ly.Bk)
	b.MatMul(w.v, w.h, ly.Wv, ly.Bv)
	b.RoPE(w.q, pos, c.Heads, c.HeadDim, d.inv)
	b.RoPE(w.k, pos, c.KVHeads, c.HeadDim, d.inv)
	d.T.MaskedAttention(w.a, w.q, w.k, w.v, keep, d.attnShape())
	b.MatMul(w.xm, w.a, ly.Wo, nil)
	b.Add(w.xm, w.xm, x)
}

// mlpForward sets x to block l's output from w.xm: xm + MLP(RMSNorm(xm)),
// in row chunks. It leaves the normed xm in w.h2.
func (d *Model) mlpForward(w *workspace, l int, x backend.Tensor) {
	b, c, ly := d.B, d.Config(), &d.M.Layers[l]
	b.RMSNorm(w.h2, w.xm, ly.MLPNorm, float32(c.NormEps))
	n := x.Rows()
	ch := w.gate.Rows()
	for r := 0; r < n; r += ch {
		rc := min(ch, n-r)
		g, u, a := rows(b, w.gate, rc), rows(b, w.up, rc), rows(b, w.act, rc)
		h2 := b.View(w.h2, r, rc)
		b.MatMul(g, h2, ly.Gate, nil)
		b.MatMul(u, h2, ly.Up, nil)
		b.SiLUMul(a, g, u)
		xr := b.View(x, r, rc)
		b.MatMul(xr, a, ly.Down, nil)
		b.Add(xr, xr, b.View(w.xm, r, rc))
	}
}

// rows returns the first n rows of t.
func rows(b backend.Backend, t backend.Tensor, n int) backend.Tensor {
	if t.Rows() == n {
		return t
	}
	return b.View(t, 0, n)
}

// Len returns the number of tokens of the pass.
func (t *Trace) Len() int { return t.n }

// Input returns the hidden states entering block layer (n×Hidden), on the
// backend; do not modify them.
func (t *Trace) Input(layer int) backend.Tensor { return t.inputs[layer] }

// Output returns the final hidden states (before the final norm).
func (t *Trace) Output() backend.Tensor { return t.out }

// Free releases the trace's tensors.
func (t *Trace) Free() {
	b := t.d.B
	seen := map[backend.Tensor]bool{}
	for _, k := range t.keeps {
		if k != nil && !seen[k] {
			seen[k] = true
			b.Free(k)
		}
	}
	for _, x := range t.inputs {
		if x != nil {
			b.Free(x)
		}
	}
	if t.out != nil {
		b.Free(t.out)
	}
	if t.ws != nil {
		for _, x := range t.ws.all {
			b.Free(x)
		}
	}
	if t.posDev != nil {
		b.FreeInts(t.posDev)
	}
	*t = Trace{d: t.d}
}
