// Package dlm is the frozen decoder with gradients on a compute backend:
// what train/lm does on the host in float64, done with the inference
// model's own weights (one copy, bf16 on a GPU) and the backend's training
// ops (backend.Trainer).
//
// A forward pass keeps only each block's input (activation
// checkpointing); the backward pass recomputes one block at a time from
// it, so memory grows with layers × tokens × hidden, not with every
// intermediate. The MLP is recomputed and differentiated in row chunks,
// and attention's backward never holds an n×n matrix (the backend's
// MaskedAttentionBack). Gradients flow to the block inputs and to the
// per-block key keep masks only: the frozen model gets no weight
// gradients.
package dlm

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/model"
)

// Model is a loaded decoder prepared for gradients.
type Model struct {
	M *model.Model
	B backend.Backend
	T backend.Trainer
	// inv and neg are RoPE's frequencies and their negations (the
	// backward rotation).
	inv, neg []float32
	// MLPChunk bounds the rows the MLP recomputes and differentiates at
	// once (0: 4096).
	MLPChunk int
	// LossChunk bounds the rows whose logits exist at once (0: 256).
	LossChunk int
}

// New prepares m, whose backend must implement backend.Trainer.
func New(m *model.Model) (*Model, error) {
	tr, ok := m.B.(backend.Trainer)
	if !ok {
		return nil, fmt.Errorf("backend %s has no training ops", m.B.Name())
	}
	inv := m.Config.InvFreq()
	neg := make([]float32, len(inv))
	for i, f := range inv {
		neg[i] = -f
	}
	return &Model{M: m, B: m.B, T: tr, inv: inv, neg: neg}, nil
}

// Config returns the model's configuration.
func (d *Model) Config() *model.Config { return &d.M.Config }

func (d *Model) mlpChunk(n int) int {
	c := d.MLPChunk
	if c <= 0 {
		c = 4096
	}
	return min(c, n)
}

func (d *Model) lossChunk(n int) int {
	c := d.LossChunk
	if c <= 0 {
		c = 256
	}
	return min(c, max(n, 1))
}
