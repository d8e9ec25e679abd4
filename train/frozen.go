package train

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/train/lm"
)

// Frozen is the frozen model that saliency, training and evaluation run
// through: Host, the float64 decoder on the host CPU (train/lm, the
// reference), or Device, the decoder on a compute backend such as CUDA
// (train/dlm). The objective, the optimiser, the losses on the modules'
// scores and every random draw are the same code for both.
type Frozen interface {
	// Config is the model's configuration.
	Config() *model.Config
	// Digest identifies the model's weights: a checkpoint made with one
	// model is refused by another.
	Digest() ([sha256.Size]byte, error)
	// Workers bounds the texts processed at once, given the caller's wish
	// (0: as many as the model likes).
	Workers(want int) int

	// saliency computes one text's saliency at every block (T over the
	// rows LossRows(n, cont)) and the unpruned model's next-token
	// log-probabilities at teacherRows.
	saliency(ctx context.Context, ids []int, cont int, teacherRows []int) ([][]float64, [][]float32, float64, error)
	// forward runs ids at positions 0..n−1 asking masks for each block's
	// key mask.
	forward(ctx context.Context, ids []int, masks maskFunc) (pass, error)
	// stage runs a pruning stage's MLP on block input x (as given to a
	// maskFunc, n rows).
	stage(p *Params, s int, x hidden, n int) (stageRun, error)
}

// hidden is a block's input as the model holds it: []float64 on the host,
// a deviceHidden on a device. Only the model that made it reads it, but
// onHost copies either to the host.
type hidden any

// onHost returns a block input as float64 values on the host.
func onHost(x hidden) ([]float64, error) {
	switch v := x.(type) {
	case []float64:
		return v, nil
	case deviceHidden:
		return v.host()
	}
	return nil, fmt.Errorf("hidden states of type %T", x)
}

// maskFunc returns, for block l with input x, the key mask (n values, nil
// for none).
type maskFunc func(l int, x hidden) ([]float64, error)

// pass is one forward pass, kept for losses and the backward pass.
type pass interface {
	// clsLoss returns L_cls over rows (consecutive: the next-token loss
	// against ids, or, with teacher, the cross-entropy against its
	// distributions) and, with grad, sets the pass's output gradient to
	// its gradient times weight, then times scale.
	clsLoss(ids, rows []int, teacher [][]float32, weight, scale float64, grad bool) (float64, error)
	// backward carries the output gradient (zero when clsLoss set none)
	// back, calling at with each block's key-mask gradient (nil for a
	// block without a mask), from the last block to the first.
	backward(ctx context.Context, at func(l int, dkeep []float64) error) error
	// logProbs returns the next-token log-probabilities at row.
	logProbs(row int) ([]float64, error)
	// input returns the hidden states entering block l on the host
	// (n×Hidden).
	input(l int) ([]float64, error)
	free()
}

// stageRun is one stage MLP's forward pass, kept for its backward pass.
type stageRun interface {
	// logits returns the (keep, drop) logits of every row (n×2).
	logits() []float64
	// backward adds the parameter gradients of dlogits (n×2) to g.
	backward(g *StageParams, dlogits []float64) error
	free()
}

// Host is the float64 reference decoder on the host CPU.
func Host(m *lm.Model) Frozen { return hostModel{m} }

type hostModel struct{ m *lm.Model }

func (h hostModel) Config() *model.Config { return &h.m.Config }

func (h hostModel) Digest() ([sha256.Size]byte, error) { return h.m.Digest(), nil }

func (h hostModel) Workers(want int) int { return want }

func (h hostModel) saliency(_ context.Context, ids []int, cont int, teacherRows []int) ([][]float64, [][]float32, float64, error) {
	return saliencyAndTeacher(h.m, ids, cont, teacherRows)
}

func (h hostModel) forward(_ context.Context, ids []int, masks maskFunc) (pass, error) {
	x, err := h.m.Embedding(ids)
	if err != nil {
		return nil, err
	}
	pos := make([]int, len(ids))
	for i := range pos {
		pos[i] = i
	}
	var failed error
	tr := h.m.ForwardFrom(x, pos, func(l int, x []float64) []float64 {
		if failed != nil || masks == nil {
			return nil
		}
		k, err := masks(l, x)
		if err != nil {
			failed = err
		}
		return k
	})
	if failed != nil {
		return nil, failed
	}
	return &hostPass{m: h.m, tr: tr}, nil
}

func (h hostModel) stage(p *Params, s int, x hidden, n int) (stageRun, error) {
	st := &p.Stages[s]
	return hostStage{st: st, p: st.forward(x.([]float64), n, p.Hidden, p.Width), d: p.Hidden, w: p.Width}, nil
}

type hostPass struct {
	m    *lm.Model
	tr   *lm.Trace
	dout []float64
}

func (p *hostPass) clsLoss(ids, rows []int, teacher [][]float32, weight, scale float64, grad bool) (float64, error) {
	n, d := len(ids), p.m.Config.Hidden
	var dcls []float64
	if grad {
		dcls = make([]float64, n*d)
	}
	var loss float64
	if teacher != nil {
		loss = p.tr.DistillLoss(rows, teacher, dcls)
	} else {
		count := make([]bool, n)
		for _, i := range rows {
			count[i] = true
		}
		loss = p.tr.NextTokenLoss(ids, count, dcls)
	}
	if grad {
		p.dout = make([]float64, n*d)
		for i, v := range dcls {
			p.dout[i] = weight * v
		}
		for i := range p.dout { // in two steps, as the results on record were made
			p.dout[i] *= scale
		}
	}
	return loss, nil
}

func (p *hostPass) backward(_ context.Context, at func(l int, dkeep []float64) error) error {
	if p.dout == nil {
		p.dout = make([]float64, p.tr.Len()*p.m.Config.Hidden)
	}
	var failed error
	p.tr.Backward(p.dout, func(l int, _, dkeep []float64) {
		if failed == nil {
			failed = at(l, dkeep)
		}
	})
	return failed
}

func (p *hostPass) logProbs(row int) ([]float64, error) { return p.tr.LogProbs(row), nil }

func (p *hostPass) input(l int) ([]float64, error) { return p.tr.Input(l), nil }

func (p *hostPass) free() {}

type hostStage struct {
	st   *StageParams
	p    *mlpPass
	d, w int
}

func (s hostStage) logits() []float64 { return s.p.logits }

func (s hostStage) backward(g *StageParams, dlogits []float64) error {
	s.st.backward(g, nil, s.p, dlogits, s.d, s.w)
	return nil
}

func (s hostStage) free() {}
