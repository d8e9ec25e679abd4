package prune

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/model"
)

// Scorer gives each alive token a score at a pruning stage (higher: more
// worth keeping).
type Scorer interface {
	// Scores returns one score per row of hidden; stage is the 0-based
	// index into the schedule's locations; pos are the tokens' original positions.
	Scores(ctx context.Context, b backend.Backend, stage int, hidden backend.Tensor, pos []int32) ([]float32, error)
}

// Pruner applies a schedule with a scorer; it implements model.Pruner.
type Pruner struct {
	Schedule Schedule
	Scorer   Scorer
}

var _ model.Pruner = (*Pruner)(nil)

// Keep implements model.Pruner.
func (p *Pruner) Keep(ctx context.Context, b backend.Backend, layer int, hidden backend.Tensor, pos []int32, n int) ([]int32, error) {
	st := p.Schedule.Stage(layer)
	if st == 0 {
		return nil, nil
	}
	keep := p.Schedule.Keep(n, st)
	if keep >= len(pos) {
		return nil, nil
	}
	scores, err := p.Scorer.Scores(ctx, b, st-1, hidden, pos)
	if err != nil {
		return nil, err
	}
	return Select(pos, scores, n, keep)
}

// String describes what the pruner runs: "locations 4,7 ratio 0.9 scorer
// module" (the scorer: module, random seed N or recent).
func (p *Pruner) String() string {
	return p.Schedule.String() + " scorer " + scorerName(p.Scorer)
}

func scorerName(s Scorer) string {
	switch s := s.(type) {
	case *ModuleScorer:
		return "module"
	case RandomScorer:
		return fmt.Sprintf("random seed %d", s.Seed)
	case RecentScorer:
		return "recent"
	}
	return fmt.Sprintf("%T", s)
}

// ModuleScorer scores tokens with a pruning module's MLPs on the backend.
type ModuleScorer struct {
	m *Module
	b backend.Backend
	w [][4]backend.Weight
}

// NewModuleScorer uploads the module's weights to b.
func NewModuleScorer(b backend.Backend, m *Module) (*ModuleScorer, error) {
	s := &ModuleScorer{m: m, b: b}
	d := m.Model.Hidden
	for i, st := range m.Stages {
		var ws [4]backend.Weight
		for j, a := range []struct {
			v    []float32
			r, c int
		}{{st.W1, m.Width, d}, {st.B1, 1, m.Width}, {st.W2, 2, m.Width}, {st.B2, 1, 2}} {
			w, err := b.NewWeight(backend.F32, a.r, a.c, f32Bytes(a.v))
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("pruning module stage %d: %w", i, err)
			}
			ws[j] = w
		}
		s.w = append(s.w, ws)
	}
	return s, nil
}

// Close frees the uploaded weights.
func (s *ModuleScorer) Close() {
	for _, ws := range s.w {
		for _, w := range ws {
			if w != nil {
				s.b.FreeWeight(w)
			}
		}
	}
	s.w = nil
}

// Scores implements Scorer.
func (s *ModuleScorer) Scores(_ context.Context, b backend.Backend, stage int, hidden backend.Tensor, _ []int32) ([]float32, error) {
	if b != s.b {
		return nil, fmt.Errorf("module scorer: weights live on another backend")
	}
	n := hidden.Rows()
	ws := s.w[stage]
	a := b.New(n, s.m.Width)
	o := b.New(n, 2)
	defer b.Free(a)
	defer b.Free(o)
	b.MatMul(a, hidden, ws[0], ws[1])
	b.GELU(a, a)
	b.MatMul(o, a, ws[2], ws[3])
	logits := make([]float32, 2*n)
	b.ToHost(logits, o)
	if err := b.Sync(); err != nil {
		return nil, err
	}
	scores := make([]float32, n)
	for i := range scores {
		scores[i] = logits[2*i] - logits[2*i+1]
	}
	return scores, nil
}

// RandomScorer gives uniform random scores: the "random" baseline.
type RandomScorer struct{ Seed uint64 }

// Scores implements Scorer.
func (r RandomScorer) Scores(_ context.Context, _ backend.Backend, stage int, hidden backend.Tensor, _ []int32) ([]float32, error) {
	rng := rand.New(rand.NewPCG(r.Seed, uint64(stage)))
	out := make([]float32, hidden.Rows())
	for i := range out {
		out[i] = rng.Float32()
	}
	return out, nil
}

// RecentScorer scores tokens by position, keeping the most recent: the
// "keep-most-recent" baseline.
type RecentScorer struct{}

// Scores implements Scorer.
func (RecentScorer) Scores(_ context.Context, _ backend.Backend, _ int, _ backend.Tensor, pos []int32) ([]float32, error) {
	out := make([]float32, len(pos))
	for i, p := range pos {
		out[i] = float32(p)
	}
	return out, nil
}

func f32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(f))
	}
	return out
}
