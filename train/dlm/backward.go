package dlm

import (
	"context"
	"fmt"
	"math"

	"github.com/sdtp/sdtp/backend"
)

// NextTokenLoss returns T, the mean next-token cross-entropy over rows
// [first, n−1) (the prediction at row i is scored against ids[i+1]), and,
// when dout (n×Hidden) is not nil, adds scale·∂T/∂out to its rows
// [first, n−1) (the caller zeroes it first). It returns 0 when no row
// counts.
func (t *Trace) NextTokenLoss(first int, dout backend.Tensor, scale float64) (float64, error) {
	last := t.n - 1 // rows [first, last)
	if first < 0 || first > last {
		return 0, fmt.Errorf("loss rows start at %d, outside 0..%d", first, last)
	}
	count := last - first
	if count == 0 {
		return 0, nil
	}
	return t.lossRows(first, last, dout, scale/float64(count), func(losses, logits backend.Tensor, r0, r1 int, s float32) {
		tg := make([]int32, r1-r0)
		for i := range tg {
			tg[i] = int32(t.ids[r0+i+1])
		}
		ids := t.d.B.Ints(tg)
		t.d.T.CrossEntropy(losses, logits, ids, s)
		t.d.B.FreeInts(ids)
	}, float64(count))
}

// DistillLoss returns the mean over rows of −Σ_v p_v·log q_v, the
// cross-entropy of the pass's next-token distribution q at each row
// against a teacher's p (teacher[k] holds log p for rows[k], which must be
// consecutive), and adds scale times its gradient to dout when dout is not
// nil. Its gradient is that of KL(p ‖ q).
func (t *Trace) DistillLoss(rows []int, teacher [][]float32, dout backend.Tensor, scale float64) (float64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	if len(teacher) != len(rows) {
		return 0, fmt.Errorf("teacher distributions for %d rows, %d rows given", len(teacher), len(rows))
	}
	first := rows[0]
	for k, r := range rows {
		if r != first+k || r >= t.n {
			return 0, fmt.Errorf("distillation rows must be consecutive within 0..%d, got %v", t.n-1, rows)
		}
	}
	vocab := t.d.Config().Vocab
	count := float64(len(rows))
	return t.lossRows(first, first+len(rows), dout, scale/count, func(losses, logits backend.Tensor, r0, r1 int, s float32) {
		p := make([]float32, 0, (r1-r0)*vocab)
		for r := r0; r < r1; r++ {
			p = append(p, teacher[r-first]...)
		}
		td := t.d.B.FromHost(p, r1-r0, vocab)
		t.d.T.SoftCrossEntropy(losses, logits, td, s)
		t.d.B.Free(td)
	}, count)
}

// lossRows runs the final norm, the classifier and loss over rows [r0,
// r1) in chunks: loss sets each chunk's per-row losses and turns its
// logits into their gradient (times s). The row losses' sum is divided by
// count; with dout the gradient flows back through the classifier and the
// final norm into dout's rows.
func (t *Trace) lossRows(r0, r1 int, dout backend.Tensor, s float64, loss func(losses, logits backend.Tensor, a, b int, s float32), count float64) (float64, error) {
	d, b := t.d, t.d.B
	c := d.Config()
	ch := d.lossChunk(r1 - r0)
	h := b.New(ch, c.Hidden)
	lg := b.New(ch, c.Vocab)
	ls := b.New(ch, 1)
	defer func() { b.Free(h); b.Free(lg); b.Free(ls) }()
	var dh backend.Tensor
	if dout != nil {
		dh = b.New(ch, c.Hidden)
		defer b.Free(dh)
	}
	var sum float64
	host := make([]float32, ch)
	for a := r0; a < r1; a += ch {
		rc := min(ch, r1-a)
		hv, lv, lsv := rows(b, h, rc), rows(b, lg, rc), rows(b, ls, rc)
		xr := b.View(t.out, a, rc)
		b.RMSNorm(hv, xr, d.M.Norm, float32(c.NormEps))
		b.MatMul(lv, hv, d.M.LMHead, nil)
		loss(lsv, lv, a, a+rc, float32(s))
		b.ToHost(host[:rc], lsv)
		for _, v := range host[:rc] {
			sum += float64(v)
		}
		if dout != nil {
			dhv := rows(b, dh, rc)
			d.T.MatMulBackInput(dhv, lv, d.M.LMHead, false)
			d.T.RMSNormBack(b.View(dout, a, rc), dhv, xr, d.M.Norm, float32(c.NormEps))
		}
	}
	if err := b.Sync(); err != nil {
		return 0, err
	}
	return sum / count, nil
}

// AtInput receives, during Backward, the gradient dx with respect to the
// input of block layer (n×Hidden; it may add to it, and what it adds flows
// on to earlier blocks) and dkeep, the gradient with respect to the key
// mask that block used (n×1; nil when it used none). Both are valid only
// during the call.
type AtInput func(layer int, dx, dkeep backend.Tensor) error

// Backward carries dout, the gradient with respect to the final hidden
// states, back through every block, recomputing each block's activations
// from its input, and calls at (which may be nil) with the gradient at
// each block's input, from the last block to the first. dout is
// overwritten: on return it holds the gradient with respect to the first
// block's input.
func (t *Trace) Backward(ctx context.Context, dout backend.Tensor, at AtInput) error {
	d, b := t.d, t.d.B
	c := d.Config()
	w := t.ws
	w.backwardBuffers(b, c, t.n, w.gate.Rows())
	for l := c.Layers - 1; l >= 0; l-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		dkeep := d.blockBack(w, l, t.inputs[l], t.keeps[l], t.posDev, dout)
		if at != nil {
			if err := at(l, dout, dkeep); err != nil {
				return err
			}
		}
	}
	return b.Sync()
}

// blockBack turns dx, the gradient at block l's output, into the gradient
// at its input x (in place), recomputing the block from x, and returns
// the gradient with respect to the block's key mask (nil without one).
func (d *Model) blockBack(w *workspace, l int, x, keep backend.Tensor, pos backend.Ints, dx backend.Tensor) backend.Tensor {
	b, c, ly := d.B, d.Config(), &d.M.Layers[l]
	eps := float32(c.NormEps)
	d.attention(w, l, x, keep, pos)
	b.RMSNorm(w.h2, w.xm, ly.MLPNorm, eps)
	// MLP: out = xm + Down·(silu(gate) ⊙ up), in row chunks; w.dh
	// collects ∂/∂h2, then dx becomes ∂/∂xm.
	n := x.Rows()
	ch := w.gate.Rows()
	for r := 0; r < n; r += ch {
		rc := min(ch, n-r)
		g, u, a := rows(b, w.gate, rc), rows(b, w.up, rc), rows(b, w.act, rc)
		dg, du := rows(b, w.dgate, rc), rows(b, w.dup, rc)
		h2 := b.View(w.h2, r, rc)
		b.MatMul(g, h2, ly.Gate, nil)
		b.MatMul(u, h2, ly.Up, nil)
		d.T.MatMulBackInput(a, b.View(dx, r, rc), ly.Down, false) // ∂/∂(silu(g)⊙u)
		d.T.SiLUMulBack(dg, du, a, g, u)
		dh := b.View(w.dh, r, rc)
		d.T.MatMulBackInput(dh, dg, ly.Gate, false)
		d.T.MatMulBackInput(dh, du, ly.Up, true)
	}
	d.T.RMSNormBack(dx, w.dh, w.xm, ly.MLPNorm, eps)
	// Attention: xm = x + Wo·attn(q, k, v); dx becomes ∂/∂x.
	d.T.MatMulBackInput(w.da, dx, ly.Wo, false)
	var dkeep backend.Tensor
	if keep != nil {
		dkeep = w.dkeep
	}
	d.T.MaskedAttentionBack(w.dq, w.dk, w.dv, dkeep, w.da, w.q, w.k, w.v, keep, d.attnShape())
	b.RoPE(w.dq, pos, c.Heads, c.HeadDim, d.neg)
	b.RoPE(w.dk, pos, c.KVHeads, c.HeadDim, d.neg)
	d.T.MatMulBackInput(w.dh, w.dq, ly.Wq, false)
	d.T.MatMulBackInput(w.dh, w.dk, ly.Wk, true)
	d.T.MatMulBackInput(w.dh, w.dv, ly.Wv, true)
	d.T.RMSNormBack(dx, w.dh, x, ly.AttnNorm, eps)
	return dkeep
}

// Saliency computes SDTP's saliency of the pass's tokens: with T the mean
// next-token cross-entropy over rows [first, n−1), the saliency of token
// i at block ℓ is Σ_d ∂T/∂x_{i,d}·x_{i,d}, x the hidden states entering
// block ℓ; out[ℓ] holds the n values, for every block. loss is T. The
// trace must come from a pass without key masks.
func (t *Trace) Saliency(ctx context.Context, first int) (out [][]float64, loss float64, err error) {
	d, b := t.d, t.d.B
	c := d.Config()
	dout := b.New(t.n, c.Hidden)
	defer b.Free(dout)
	d.T.Zero(dout)
	loss, err = t.NextTokenLoss(first, dout, 1)
	if err != nil {
		return nil, 0, err
	}
	sal := b.New(t.n, 1)
	defer b.Free(sal)
	host := make([]float32, t.n)
	out = make([][]float64, c.Layers)
	err = t.Backward(ctx, dout, func(l int, dx, _ backend.Tensor) error {
		d.T.RowDot(sal, dx, t.inputs[l])
		b.ToHost(host, sal)
		s := make([]float64, t.n)
		for i, v := range host {
			s[i] = float64(v)
		}
		out[l] = s
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return nil, 0, fmt.Errorf("the loss is %v: the model's activations overflowed", loss)
	}
	return out, loss, nil
}

// LogProbs returns the next-token log-probabilities at each of rows (final
// norm and classifier on the backend, the log-softmax in float64 on the
// host).
func (t *Trace) LogProbs(rowIDs []int) ([][]float64, error) {
	d, b := t.d, t.d.B
	c := d.Config()
	h := b.New(1, c.Hidden)
	lg := b.New(1, c.Vocab)
	defer func() { b.Free(h); b.Free(lg) }()
	host := make([]float32, c.Vocab)
	out := make([][]float64, 0, len(rowIDs))
	for _, r := range rowIDs {
		if r < 0 || r >= t.n {
			return nil, fmt.Errorf("row %d outside 0..%d", r, t.n-1)
		}
		b.RMSNorm(h, b.View(t.out, r, 1), d.M.Norm, float32(c.NormEps))
		b.MatMul(lg, h, d.M.LMHead, nil)
		b.ToHost(host, lg)
		if err := b.Sync(); err != nil {
			return nil, err
		}
		top := math.Inf(-1)
		for _, v := range host {
			top = max(top, float64(v))
		}
		var z float64
		for _, v := range host {
			z += math.Exp(float64(v) - top)
		}
		lz := top + math.Log(z)
		row := make([]float64, c.Vocab)
		for i, v := range host {
			row[i] = float64(v) - lz
		}
		out = append(out, row)
	}
	return out, nil
}
