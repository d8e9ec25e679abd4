package train

import (
	"fmt"

	"github.com/sdtp/sdtp/train/lm"
)

// Saliency computes SDTP's token saliency for one text: with T the mean
// next-token cross-entropy of the unpruned model over the sequence, the
// saliency of token i at block ℓ is π̂ᵢ = Σ_d ∂T/∂x_{i,d}·x_{i,d}, x being
// the hidden states entering block ℓ. One backward pass gives every
// block; out[ℓ] holds the n values at block ℓ's input, for every block of
// the model. loss is T.
func Saliency(m *lm.Model, ids []int) (out [][]float64, loss float64, err error) {
	if len(ids) < 2 {
		return nil, 0, fmt.Errorf("saliency needs at least 2 tokens, got %d", len(ids))
	}
	tr, err := m.Forward(ids, nil)
	if err != nil {
		return nil, 0, err
	}
	out, loss = saliencyOf(m, tr, ids)
	return out, loss, nil
}

// saliencyAndTeacher computes a text's saliency and the unpruned model's
// next-token log-probabilities at rows (from the same forward pass).
func saliencyAndTeacher(m *lm.Model, ids, rows []int) ([][]float64, [][]float32, error) {
	if len(ids) < 2 {
		return nil, nil, fmt.Errorf("saliency needs at least 2 tokens, got %d", len(ids))
	}
	tr, err := m.Forward(ids, nil)
	if err != nil {
		return nil, nil, err
	}
	var teacher [][]float32
	for _, r := range rows {
		teacher = append(teacher, narrow(tr.LogProbs(r)))
	}
	sal, _ := saliencyOf(m, tr, ids)
	return sal, teacher, nil
}

// saliencyOf runs the backward pass of an unmasked trace of ids.
func saliencyOf(m *lm.Model, tr *lm.Trace, ids []int) ([][]float64, float64) {
	d, n := m.Config.Hidden, len(ids)
	dout := make([]float64, n*d)
	loss := tr.NextTokenLoss(ids, nil, dout)
	out := make([][]float64, m.Config.Layers)
	tr.Backward(dout, func(l int, dx, _ []float64) {
		x := tr.Input(l)
		s := make([]float64, n)
		for i := range s {
			var v float64
			for j := i * d; j < (i+1)*d; j++ {
				v += dx[j] * x[j]
			}
			s[i] = v
		}
		out[l] = s
	})
	return out, loss
}
