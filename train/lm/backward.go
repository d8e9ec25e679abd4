package lm

import (
	"math"

	"github.com/sdtp/sdtp/train/nn"
)

// NextTokenLoss returns the mean next-token cross-entropy of the pass,
// T = mean over i < n−1 of −log p(ids[i+1] | tokens ≤ i), counting only
// rows where count is nil or count[i] is true, and adds ∂T/∂out to dout
// (n×Hidden) when dout is not nil. It returns 0 when no row counts.
func (t *Trace) NextTokenLoss(ids []int, count []bool, dout []float64) float64 {
	rows := 0
	for i := 0; i+1 < t.n; i++ {
		if count == nil || count[i] {
			rows++
		}
	}
	if rows == 0 {
		return 0
	}
	c := &t.m.Config
	d, vocab := c.Hidden, c.Vocab
	h := make([]float64, d)
	lg := make([]float64, vocab)
	dlg := make([]float64, vocab)
	dh := make([]float64, d)
	scale := 1 / float64(rows)
	var sum float64
	for i := 0; i+1 < t.n; i++ {
		if count != nil && !count[i] {
			continue
		}
		x := t.out[i*d : (i+1)*d]
		nn.RMSNorm(h, x, t.m.Norm, 1, d, c.NormEps)
		nn.Linear(lg, h, t.m.LMHead, nil, 1, d, vocab)
		if dout == nil {
			sum += nn.CrossEntropy(nil, lg, ids[i+1], 0)
			continue
		}
		clear(dlg)
		sum += nn.CrossEntropy(dlg, lg, ids[i+1], scale)
		clear(dh)
		nn.LinearBackInput(dh, dlg, t.m.LMHead, 1, d, vocab)
		nn.RMSNormBack(dout[i*d:(i+1)*d], dh, x, t.m.Norm, 1, d, c.NormEps)
	}
	return sum * scale
}

// AtInput receives, during Backward, the gradient dx with respect to the
// input of block layer (n×Hidden; it may add to it, and what it adds flows
// on to earlier blocks) and dkeep, the gradient with respect to the key
// mask that block used (nil when it used none).
type AtInput func(layer int, dx, dkeep []float64)

// Backward carries dout, the gradient with respect to the final hidden
// states, back through every block, calling at (which may be nil) with the
// gradient at each block's input, from the last block to the first. dout
// is overwritten; on return it holds the gradient with respect to the
// first block's input.
func (t *Trace) Backward(dout []float64, at AtInput) {
	for l := len(t.blocks) - 1; l >= 0; l-- {
		dkeep := t.m.blockBack(&t.blocks[l], &t.m.Layers[l], dout, t.pos)
		if at != nil {
			at(l, dout, dkeep)
		}
	}
}

// blockBack turns dx, the gradient at the block's output, into the
// gradient at its input (in place), and returns the gradient with respect
// to the block's key mask.
func (m *Model) blockBack(bt *blockTrace, ly *Layer, dx []float64, pos []int) []float64 {
	c := &m.Config
	n, d, qd, kvd, f := len(pos), c.Hidden, c.QDim(), c.KVDim(), c.FFN
	eps := c.NormEps
	// MLP: out = xm + Down·(silu(gate) ⊙ up); dx becomes ∂/∂xm.
	dact := make([]float64, n*f)
	nn.LinearBackInput(dact, dx, ly.Down, n, f, d)
	dgate, dup := make([]float64, n*f), make([]float64, n*f)
	nn.SiLUMulBack(dgate, dup, dact, bt.gate, bt.up)
	dh2 := make([]float64, n*d)
	nn.LinearBackInput(dh2, dgate, ly.Gate, n, d, f)
	nn.LinearBackInput(dh2, dup, ly.Up, n, d, f)
	nn.RMSNormBack(dx, dh2, bt.xm, ly.MLPNorm, n, d, eps)
	// Attention: xm = x + Wo·attn(q, k, v); dx becomes ∂/∂x.
	da := make([]float64, n*qd)
	nn.LinearBackInput(da, dx, ly.Wo, n, qd, d)
	dq, dk, dv := make([]float64, n*qd), make([]float64, n*kvd), make([]float64, n*kvd)
	var dkeep []float64
	if bt.keep != nil {
		dkeep = make([]float64, n)
	}
	nn.AttentionBack(dq, dk, dv, dkeep, da, bt.q, bt.k, bt.v, bt.keep, n, m.attnShape())
	nn.RoPEBack(dq, pos, c.Heads, c.HeadDim, m.inv)
	nn.RoPEBack(dk, pos, c.KVHeads, c.HeadDim, m.inv)
	dh1 := make([]float64, n*d)
	nn.LinearBackInput(dh1, dq, ly.Wq, n, d, qd)
	nn.LinearBackInput(dh1, dk, ly.Wk, n, d, kvd)
	nn.LinearBackInput(dh1, dv, ly.Wv, n, d, kvd)
	nn.RMSNormBack(dx, dh1, bt.x, ly.AttnNorm, n, d, eps)
	return dkeep
}

// DistillLoss returns the mean over rows of −Σ_v p_v·log q_v, the
// cross-entropy of the pass's next-token distribution q at each row
// against a teacher's p (teacher[k] holds log p for rows[k]), and adds
// its gradient to dout when dout is not nil. Its gradient is that of
// KL(p ‖ q), which differs from it by p's entropy.
func (t *Trace) DistillLoss(rows []int, teacher [][]float32, dout []float64) float64 {
	if len(rows) == 0 {
		return 0
	}
	c := &t.m.Config
	d, vocab := c.Hidden, c.Vocab
	h := make([]float64, d)
	lg := make([]float64, vocab)
	dlg := make([]float64, vocab)
	dh := make([]float64, d)
	scale := 1 / float64(len(rows))
	var sum float64
	for k, i := range rows {
		x := t.out[i*d : (i+1)*d]
		nn.RMSNorm(h, x, t.m.Norm, 1, d, c.NormEps)
		nn.Linear(lg, h, t.m.LMHead, nil, 1, d, vocab)
		nn.LogSoftmax(lg, lg)
		for v, lp := range teacher[k] {
			p := math.Exp(float64(lp))
			sum -= p * lg[v]
			dlg[v] = scale * (math.Exp(lg[v]) - p)
		}
		if dout == nil {
			continue
		}
		clear(dh)
		nn.LinearBackInput(dh, dlg, t.m.LMHead, 1, d, vocab)
		nn.RMSNormBack(dout[i*d:(i+1)*d], dh, x, t.m.Norm, 1, d, c.NormEps)
	}
	return sum * scale
}
