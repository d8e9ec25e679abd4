package train

import (
	"context"
	"fmt"

	"github.com/sdtp/sdtp/prune"
)

// Scorer scores the alive prompt tokens at a pruning stage (higher: more
// worth keeping), as prune.Scorer does inside the engine. hidden holds
// their hidden states (one row of Hidden values per token) and pos their
// original positions.
type Scorer interface {
	Scores(stage int, hidden []float64, pos []int32) ([]float32, error)
}

// ModuleScorer scores with a pruning module's MLPs, through the module's
// own host reference (prune.Module.Scores on its float32 weights).
type ModuleScorer struct{ Module *prune.Module }

// Scores implements Scorer.
func (s ModuleScorer) Scores(stage int, hidden []float64, pos []int32) ([]float32, error) {
	if stage >= len(s.Module.Stages) {
		return nil, fmt.Errorf("module has %d stages, asked for stage %d", len(s.Module.Stages), stage)
	}
	return s.Module.Scores(stage, narrow(hidden), len(pos)), nil
}

// BaselineScorer adapts a prune.Scorer that reads only the positions and
// the row count (prune.RandomScorer, prune.RecentScorer), so the baselines
// are the engine's own.
type BaselineScorer struct {
	Scorer prune.Scorer
	Hidden int
}

// Scores implements Scorer.
func (s BaselineScorer) Scores(stage int, _ []float64, pos []int32) ([]float32, error) {
	return s.Scorer.Scores(context.Background(), nil, stage, shape{len(pos), s.Hidden}, pos)
}

// shape is a backend.Tensor that has a shape and no data.
type shape struct{ rows, cols int }

func (s shape) Rows() int { return s.rows }
func (s shape) Cols() int { return s.cols }

// importanceScorer scores by a fixed importance per stage and position
// (the saliency oracle).
type importanceScorer [][]float64

// Scores implements Scorer.
func (s importanceScorer) Scores(stage int, _ []float64, pos []int32) ([]float32, error) {
	out := make([]float32, len(pos))
	for i, p := range pos {
		out[i] = float32(s[stage][p])
	}
	return out, nil
}

// PrunedForward runs ids through m as the engine runs a pruned prompt
// followed by decoded tokens: the first promptLen tokens are the prompt,
// pruned before each location of the schedule with the scores of sc and
// prune.Select (protected tokens, keep counts, ties); the tokens after it
// are never pruned and see only the prompt tokens still alive at each
// block. Dropped tokens become invisible keys (their own rows are still
// computed and should be ignored). It returns the pass and the prompt
// tokens alive entering each block.
func PrunedForward(ctx context.Context, m Frozen, ids []int, promptLen int, s prune.Schedule, sc Scorer) (pass, []int, error) {
	return prunedForward(ctx, m, ids, promptLen, s, sc, nil)
}

// prunedForward is PrunedForward, calling onStage (when not nil) with the
// positions alive after each stage.
func prunedForward(ctx context.Context, m Frozen, ids []int, promptLen int, s prune.Schedule, sc Scorer, onStage func(alive []int32)) (pass, []int, error) {
	n, d := len(ids), m.Config().Hidden
	if promptLen < 1 || promptLen > n {
		return nil, nil, fmt.Errorf("prompt length %d outside 1..%d", promptLen, n)
	}
	alive := positions(promptLen)
	counts := make([]int, m.Config().Layers)
	var mask []float64
	var failed error
	stage := 0
	hook := func(l int, xh hidden) ([]float64, error) {
		if failed == nil && stage < len(s.Locations) && l == s.Locations[stage] {
			stage++
			keep := s.Keep(promptLen, stage)
			if keep < len(alive) {
				x, err := onHost(xh)
				if err != nil {
					return nil, err
				}
				rowsAlive := make([]float64, 0, len(alive)*d)
				for _, p := range alive {
					rowsAlive = append(rowsAlive, x[int(p)*d:int(p+1)*d]...)
				}
				scores, err := sc.Scores(stage-1, rowsAlive, alive)
				if err == nil {
					alive, err = selectStage(alive, scores, promptLen, keep)
				}
				if err != nil {
					failed = fmt.Errorf("pruning stage %d (block %d): %w", stage, l, err)
				}
				mask = make([]float64, n)
				for j := promptLen; j < n; j++ {
					mask[j] = 1
				}
				for _, p := range alive {
					mask[p] = 1
				}
			}
			if onStage != nil && failed == nil {
				onStage(alive)
			}
		}
		counts[l] = len(alive)
		return mask, nil
	}
	tr, err := m.forward(ctx, ids, hook)
	if err != nil {
		return nil, nil, err
	}
	if failed != nil {
		tr.free()
		return nil, nil, failed
	}
	return tr, counts, nil
}
