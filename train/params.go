package train

import (
	"encoding/json"
	"fmt"

	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train/nn"
)

// Params holds the MLPs of every pruning stage in one flat float64 vector
// (what the optimiser updates), with per-stage views into it. The layout
// of stage s is fc1.weight (Width×Hidden), fc1.bias, fc2.weight (2×Width),
// fc2.bias, as in a prune.Module.
type Params struct {
	Hidden, Width int
	Flat          []float64
	Stages        []StageParams
	// Version counts changes of Flat: whoever changes it (the optimiser
	// step) increments it, so a device holding a copy of the weights knows
	// to upload them again.
	Version uint64
}

// StageParams are views into Params.Flat for one stage.
type StageParams struct {
	W1, B1, W2, B2 []float64
}

// NewParams makes zeroed parameters for stages MLPs.
func NewParams(hidden, width, stages int) *Params {
	per := width*hidden + width + 2*width + 2
	p := &Params{Hidden: hidden, Width: width, Flat: make([]float64, per*stages)}
	for s := range stages {
		v := p.Flat[s*per : (s+1)*per]
		w1, rest := v[:width*hidden], v[width*hidden:]
		b1, rest := rest[:width], rest[width:]
		w2, b2 := rest[:2*width], rest[2*width:]
		p.Stages = append(p.Stages, StageParams{W1: w1, B1: b1, W2: w2, B2: b2})
	}
	return p
}

// ZeroLike returns zeroed parameters of the same shape (for gradients).
func (p *Params) ZeroLike() *Params { return NewParams(p.Hidden, p.Width, len(p.Stages)) }

// ParamsFromModule widens a module's float32 weights.
func ParamsFromModule(m *prune.Module) (*Params, error) {
	if err := m.Check(m.Model.Hidden, m.Model.Layers); err != nil {
		return nil, err
	}
	p := NewParams(m.Model.Hidden, m.Width, len(m.Stages))
	for s, st := range m.Stages {
		widen(p.Stages[s].W1, st.W1)
		widen(p.Stages[s].B1, st.B1)
		widen(p.Stages[s].W2, st.W2)
		widen(p.Stages[s].B2, st.B2)
	}
	return p, nil
}

// ToModule rounds the parameters to float32 into a module with the given
// schedule, model description and training record.
func (p *Params) ToModule(s prune.Schedule, info prune.ModelInfo, training json.RawMessage) (*prune.Module, error) {
	if info.Hidden != p.Hidden {
		return nil, fmt.Errorf("module hidden size %d, parameters have %d", info.Hidden, p.Hidden)
	}
	if len(s.Locations) != len(p.Stages) {
		return nil, fmt.Errorf("schedule has %d locations, parameters have %d stages", len(s.Locations), len(p.Stages))
	}
	m := &prune.Module{Schedule: s, Width: p.Width, Model: info, Training: training}
	for _, st := range p.Stages {
		m.Stages = append(m.Stages, prune.Stage{W1: narrow(st.W1), B1: narrow(st.B1), W2: narrow(st.W2), B2: narrow(st.B2)})
	}
	return m, m.Check(info.Hidden, info.Layers)
}

func widen(dst []float64, src []float32) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}

func narrow(src []float64) []float32 {
	out := make([]float32, len(src))
	for i, v := range src {
		out[i] = float32(v)
	}
	return out
}

// mlpPass is one stage MLP's forward pass over n rows, kept for backward.
type mlpPass struct {
	x, pre, act, logits []float64
	n                   int
}

// forward computes the (keep, drop) logits of the n rows of x (n×Hidden).
func (st *StageParams) forward(x []float64, n, d, w int) *mlpPass {
	p := &mlpPass{x: x, n: n, pre: make([]float64, n*w), act: make([]float64, n*w), logits: make([]float64, 2*n)}
	nn.Linear(p.pre, x, st.W1, st.B1, n, d, w)
	nn.GELU(p.act, p.pre)
	nn.Linear(p.logits, p.act, st.W2, st.B2, n, w, 2)
	return p
}

// backward adds the parameter gradients of dlogits (n×2) to g and the
// input gradient to dx (n×Hidden) when dx is not nil.
func (st *StageParams) backward(g *StageParams, dx []float64, p *mlpPass, dlogits []float64, d, w int) {
	n := p.n
	nn.LinearBackParams(g.W2, g.B2, dlogits, p.act, n, w, 2)
	dact := make([]float64, n*w)
	nn.LinearBackInput(dact, dlogits, st.W2, n, w, 2)
	dpre := make([]float64, n*w)
	nn.GELUBack(dpre, dact, p.pre)
	nn.LinearBackParams(g.W1, g.B1, dpre, p.x, n, d, w)
	if dx != nil {
		nn.LinearBackInput(dx, dpre, st.W1, n, d, w)
	}
}

// score is keep − drop for row i.
func (p *mlpPass) score(i int) float64 { return p.logits[2*i] - p.logits[2*i+1] }
