package train

import (
	"fmt"

	"github.com/sdtp/sdtp/train/lm"
)

// LossRows returns the rows whose next-token predictions a loss over a
// text of n tokens averages: with a continuation of cont tokens (cont >
// 0), the predictions made at the prompt's last token and at each
// continuation token but the last (rows n−cont−1 … n−2), the only ones
// pruning the prompt affects at inference; with cont = 0, every row but
// the last (the whole sequence).
func LossRows(n, cont int) []int {
	first := 0
	if cont > 0 {
		first = max(n-cont-1, 0)
	}
	var rows []int
	for i := first; i < n-1; i++ {
		rows = append(rows, i)
	}
	return rows
}

// Saliency computes SDTP's token saliency for one text: with T the mean
// next-token cross-entropy of the unpruned model over the rows
// LossRows(n, cont) (cont = 0: the whole sequence), the saliency of token
// i at block ℓ is π̂ᵢ = Σ_d ∂T/∂x_{i,d}·x_{i,d}, x being the hidden states
// entering block ℓ. One backward pass gives every block; out[ℓ] holds the
// n values at block ℓ's input, for every block of the model. loss is T.
func Saliency(m *lm.Model, ids []int, cont int) (out [][]float64, loss float64, err error) {
	out, _, loss, err = saliencyAndTeacher(m, ids, cont, nil)
	return out, loss, err
}

// saliencyAndTeacher computes a text's saliency (as Saliency) and the
// unpruned model's next-token log-probabilities at teacherRows, from one
// forward pass.
func saliencyAndTeacher(m *lm.Model, ids []int, cont int, teacherRows []int) ([][]float64, [][]float32, float64, error) {
	if len(ids) < cont+2 || cont < 0 {
		return nil, nil, 0, fmt.Errorf("saliency needs at least %d tokens (a prompt of 2 or more and a %d-token continuation), got %d", cont+2, cont, len(ids))
	}
	tr, err := m.Forward(ids, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	var teacher [][]float32
	for _, r := range teacherRows {
		teacher = append(teacher, narrow(tr.LogProbs(r)))
	}
	sal, loss := saliencyOf(m, tr, ids, LossRows(len(ids), cont))
	return sal, teacher, loss, nil
}

// saliencyOf runs the backward pass of an unmasked trace of ids, for the
// mean next-token loss over rows.
func saliencyOf(m *lm.Model, tr *lm.Trace, ids, rows []int) ([][]float64, float64) {
	d, n := m.Config.Hidden, len(ids)
	count := make([]bool, n)
	for _, r := range rows {
		count[r] = true
	}
	dout := make([]float64, n*d)
	loss := tr.NextTokenLoss(ids, count, dout)
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
