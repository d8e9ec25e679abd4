package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train/nn"
)

// Weights are the loss terms' weights; a zero weight switches a term off
// (the ablations --no-mse and --no-rank).
type Weights struct {
	// Cls weighs L_cls, the mean next-token cross-entropy of the model
	// under the simulated pruning.
	Cls float64 `json:"cls"`
	// MSE weighs L_mse, the squared error between the centred predicted
	// scores and the standardised saliency target.
	MSE float64 `json:"mse"`
	// Rank weighs L_rank, the pairwise logistic loss over token pairs
	// ordered by saliency.
	Rank float64 `json:"rank"`
	// Ratio weighs the keep-ratio loss, the squared gap between the
	// fraction of tokens alive after each stage and the schedule's.
	Ratio float64 `json:"ratio"`
}

// LossConfig sets how the training objective is computed.
type LossConfig struct {
	Weights Weights `json:"weights"`
	// Tau is the Gumbel-softmax temperature.
	Tau float64 `json:"tau"`
	// Target turns saliency into the importance that L_mse and L_rank fit.
	Target Target `json:"target"`
	// Continuation is the number of tokens at the end of each text that
	// play decoded tokens, as at inference: they are never pruned, only the
	// prompt before them is, and L_cls is the mean cross-entropy of their
	// predictions (those made at the last prompt token and at each
	// continuation token but the last). 0 makes the whole text the prompt
	// and L_cls the mean over every position.
	Continuation int `json:"continuation"`
	// WholeSequenceSaliency takes the saliency targets' T over the whole
	// sequence even with a continuation; by default T covers the same
	// rows as L_cls (the continuation's predictions).
	WholeSequenceSaliency bool `json:"saliency_whole_sequence"`
	// Teacher makes L_cls the cross-entropy against the unpruned model's
	// next-token distributions (soft labels, Example.Teacher) instead of
	// the text's own next tokens; its gradient is that of KL(unpruned ‖
	// pruned), the divergence the evaluation reports.
	Teacher bool `json:"teacher"`
	// MaxPairs bounds the ranking pairs per stage and text; when the
	// non-protected tokens have more pairs, MaxPairs are drawn at random.
	MaxPairs int `json:"max_pairs"`
}

// DefaultLossConfig is the configuration 'sdtp train' starts from.
func DefaultLossConfig() LossConfig {
	return LossConfig{Weights: Weights{Cls: 1, MSE: 1, Rank: 1, Ratio: 2}, Tau: 1, Target: TargetAbs, Continuation: 32, MaxPairs: 4096}
}

// Terms are the loss of one text (or the mean over several), each term
// before weighting, with the total after.
type Terms struct {
	Total float64 `json:"loss"`
	Cls   float64 `json:"cls"`
	MSE   float64 `json:"mse"`
	Rank  float64 `json:"rank"`
	Ratio float64 `json:"ratio"`
	// Alive is the fraction of prompt tokens alive after each stage under the
	// sampled masks.
	Alive []float64 `json:"alive"`
}

// add accumulates t scaled by w into s.
func (s *Terms) add(t Terms, w float64) {
	s.Total += w * t.Total
	s.Cls += w * t.Cls
	s.MSE += w * t.MSE
	s.Rank += w * t.Rank
	s.Ratio += w * t.Ratio
	if s.Alive == nil {
		s.Alive = make([]float64, len(t.Alive))
	}
	for i, v := range t.Alive {
		s.Alive[i] += w * v
	}
}

// Objective is SDTP's training loss for pruning modules in front of a
// frozen model: L = L_cls + L_mse + L_rank + keep-ratio loss (each
// weighted). Pruning is simulated with a hard straight-through
// Gumbel-softmax keep decision per token and stage, applied inside
// attention as a key mask; masks accumulate across stages (a token dropped
// at one stage stays dropped), protected tokens are always kept.
type Objective struct {
	Model    Frozen
	Schedule prune.Schedule
	Config   LossConfig
}

// Example is one training text: its token ids, its saliency (from the
// unpruned model) at each stage's location, and, for LossConfig.Teacher,
// the unpruned model's next-token log-probabilities at the rows L_cls
// covers (ClsRows).
type Example struct {
	IDs      []int
	Saliency [][]float64
	Teacher  [][]float32
}

// ClsRows returns the rows whose next-token predictions L_cls covers for a
// text of n tokens: LossRows(n, Continuation).
func (c *LossConfig) ClsRows(n int) []int { return LossRows(n, c.Continuation) }

// SaliencyContinuation is the continuation the saliency targets' T is
// taken over: Continuation, or 0 (the whole sequence) with
// WholeSequenceSaliency.
func (c *LossConfig) SaliencyContinuation() int {
	if c.WholeSequenceSaliency {
		return 0
	}
	return c.Continuation
}

// stageState is what the forward pass of one stage keeps for backward.
type stageState struct {
	mlp        stageRun
	input      hidden    // the module's input (the block's)
	hard, soft []float64 // per token; protected tokens have hard 1 and soft NaN
	mask       []float64 // m^s: the mask values used (hard, or the surrogate)
	prev, cum  []float64 // M^{s-1} (nil for the first stage) and M^s
	dCum       []float64 // ∂L/∂M^s, accumulated during backward
	dScore     []float64 // ∂L/∂score from L_mse and L_rank
}

// decisions freezes the hard decisions, the soft values and the module
// inputs of a forward pass: with it, a pass scores the frozen inputs and
// uses the mask hard + (soft − soft₀), whose value is hard at the frozen
// point and whose true gradient is the gradient Loss computes (straight
// through the hard decisions, stopped at the module inputs). Tests check
// the gradient with it.
type decisions struct {
	hard, soft [][]float64
	inputs     []hidden
}

// Loss computes the loss of one example and adds its gradient, scaled by
// scale, to grad (which may be nil for the loss alone). noise seeds the
// Gumbel draws and the ranking-pair sample, so equal seeds give equal
// results.
func (o *Objective) Loss(p, grad *Params, ex Example, noise uint64, scale float64) (Terms, error) {
	t, _, err := o.run(context.Background(), p, grad, ex, noise, scale, nil)
	return t, err
}

func (o *Objective) check(p *Params, ex Example) error {
	n, stages := len(ex.IDs), len(o.Schedule.Locations)
	switch {
	case n-o.Config.Continuation < 2 || o.Config.Continuation < 0:
		return fmt.Errorf("a training text needs at least %d tokens (a 2-token prompt and a %d-token continuation), got %d", o.Config.Continuation+2, o.Config.Continuation, n)
	case len(p.Stages) != stages:
		return fmt.Errorf("%d module stages for %d locations", len(p.Stages), stages)
	case p.Hidden != o.Model.Config().Hidden:
		return fmt.Errorf("module hidden size %d, model %d", p.Hidden, o.Model.Config().Hidden)
	case len(ex.Saliency) != stages:
		return fmt.Errorf("saliency for %d stages, schedule has %d", len(ex.Saliency), stages)
	}
	if o.Config.Teacher && len(ex.Teacher) != len(o.Config.ClsRows(n)) {
		return fmt.Errorf("teacher distributions for %d rows, L_cls covers %d", len(ex.Teacher), len(o.Config.ClsRows(n)))
	}
	for s, v := range ex.Saliency {
		if len(v) != n {
			return fmt.Errorf("saliency of stage %d has %d values for %d tokens", s, len(v), n)
		}
	}
	return nil
}

// run computes the loss of ex and, when grad is not nil, adds its
// gradient scaled by scale: the forward pass with the stages' decisions,
// the loss terms, then the backward pass. frozen, when not nil, replays
// the decisions of an earlier pass (see decisions).
func (o *Objective) run(ctx context.Context, p, grad *Params, ex Example, noise uint64, scale float64, frozen *decisions) (Terms, *decisions, error) {
	if err := o.check(p, ex); err != nil {
		return Terms{}, nil, err
	}
	fw, err := o.forward(ctx, p, ex.IDs, noise, frozen)
	defer fw.free()
	if err != nil {
		return Terms{}, nil, err
	}
	t, err := o.losses(fw, ex, noise, scale, grad != nil)
	if err != nil {
		return Terms{}, nil, err
	}
	dec := fw.decisions()
	if grad != nil {
		if err := o.backward(ctx, grad, fw, scale); err != nil {
			return Terms{}, nil, err
		}
	}
	return t, dec, nil
}

// objectivePass is the forward pass of one text under simulated pruning:
// the frozen model's pass and each stage's decisions and masks.
type objectivePass struct {
	tr        pass
	states    []*stageState
	n, prompt int
}

// free releases the pass and the stages' MLP runs (on a device, their
// memory).
func (fw *objectivePass) free() {
	if fw.tr != nil {
		fw.tr.free()
	}
	for _, st := range fw.states {
		if st != nil {
			st.mlp.free()
		}
	}
}

// decisions returns what a replay of this pass needs.
func (fw *objectivePass) decisions() *decisions {
	dec := &decisions{}
	for _, st := range fw.states {
		dec.hard = append(dec.hard, st.hard)
		dec.inputs = append(dec.inputs, st.input)
		dec.soft = append(dec.soft, st.soft)
	}
	return dec
}

// forward runs the frozen model over ids; at each pruning location the
// stage's module scores the hidden states entering the block and draws
// its keep decisions, and the accumulated mask M^s = M^{s-1} ⊙ m^s is the
// key mask of every block from there on. The pass it returns, even with
// an error, is to be freed.
func (o *Objective) forward(ctx context.Context, p *Params, ids []int, noise uint64, frozen *decisions) (*objectivePass, error) {
	n := len(ids)
	locs := o.Schedule.Locations
	fw := &objectivePass{n: n, prompt: n - o.Config.Continuation, states: make([]*stageState, len(locs))}
	var cum []float64
	stage := 0
	masks := func(l int, x hidden) ([]float64, error) {
		if stage < len(locs) && l == locs[stage] {
			st, err := o.decide(p, stage, x, n, fw.prompt, noise, frozen)
			if err != nil {
				return nil, err
			}
			st.prev = cum
			st.cum = make([]float64, n)
			for j := range st.cum {
				st.cum[j] = st.mask[j]
				if cum != nil {
					st.cum[j] *= cum[j]
				}
			}
			cum = st.cum
			fw.states[stage] = st
			stage++
		}
		return cum, nil
	}
	tr, err := o.Model.forward(ctx, ids, masks)
	if err != nil {
		return fw, err
	}
	fw.tr = tr
	return fw, nil
}

// losses computes the loss terms of a forward pass, and each stage's
// ∂L/∂score (L_mse, L_rank) and ∂L/∂M^s (keep-ratio loss) for backward;
// with grad, the pass keeps L_cls's gradient, scaled by scale.
func (o *Objective) losses(fw *objectivePass, ex Example, noise uint64, scale float64, grad bool) (Terms, error) {
	cfg := &o.Config
	n, prompt := fw.n, fw.prompt
	var t Terms
	if cfg.Weights.Cls != 0 {
		var teacher [][]float32
		if cfg.Teacher {
			teacher = ex.Teacher
		}
		var err error
		if t.Cls, err = fw.tr.clsLoss(ex.IDs, cfg.ClsRows(n), teacher, cfg.Weights.Cls, scale, grad); err != nil {
			return Terms{}, err
		}
	}
	nst := float64(len(fw.states))
	for s, st := range fw.states {
		lg := st.mlp.logits()
		scores, imp := make([]float64, n), make([]float64, n)
		for i := range scores {
			scores[i] = lg[2*i] - lg[2*i+1]
			imp[i] = cfg.Target.Importance(ex.Saliency[s][i])
		}
		st.dScore = make([]float64, n)
		if cfg.Weights.MSE != 0 {
			t.MSE += mseLoss(st.dScore, scores, imp, prompt, cfg.Weights.MSE/nst) / nst
		}
		if cfg.Weights.Rank != 0 {
			rng := rand.New(rand.NewPCG(noise, 1<<32|uint64(s)))
			t.Rank += rankLoss(st.dScore, scores, imp, prompt, cfg.MaxPairs, rng, cfg.Weights.Rank/nst) / nst
		}
		var alive float64
		for _, v := range st.cum[:prompt] {
			alive += v
		}
		alive /= float64(prompt)
		t.Alive = append(t.Alive, alive)
		target := float64(o.Schedule.Keep(prompt, s+1)) / float64(prompt)
		st.dCum = make([]float64, n)
		if cfg.Weights.Ratio != 0 {
			t.Ratio += (alive - target) * (alive - target) / nst
			g := cfg.Weights.Ratio * 2 * (alive - target) / float64(prompt) / nst
			for j := range st.dCum[:prompt] {
				st.dCum[j] = g
			}
		}
	}
	t.Total = cfg.Weights.Cls*t.Cls + cfg.Weights.MSE*t.MSE + cfg.Weights.Rank*t.Rank + cfg.Weights.Ratio*t.Ratio
	return t, nil
}

// backward scales the stages' loss gradients by scale and carries every
// gradient back: through the frozen model to each block's key mask, from
// the masks through the straight-through keep decisions to each stage's
// logits, and from there (with the scores' own gradient) into the stage's
// parameter gradients in grad.
func (o *Objective) backward(ctx context.Context, grad *Params, fw *objectivePass, scale float64) error {
	n, locs, states := fw.n, o.Schedule.Locations, fw.states
	for _, st := range states {
		for j := range st.dCum {
			st.dCum[j] *= scale
			st.dScore[j] *= scale
		}
	}
	stageAt := func(l int) int { // the stage whose mask block l uses, or -1
		s := -1
		for i, loc := range locs {
			if loc <= l {
				s = i
			}
		}
		return s
	}
	return fw.tr.backward(ctx, func(l int, dkeep []float64) error {
		s := stageAt(l)
		if s < 0 {
			return nil
		}
		st := states[s]
		for j, v := range dkeep {
			st.dCum[j] += v
		}
		if l != locs[s] {
			return nil
		}
		// M^s = M^{s-1} ⊙ m^s.
		dlogits := make([]float64, 2*n)
		for j := range st.dCum {
			dm := st.dCum[j]
			if st.prev != nil {
				dm *= st.prev[j]
				states[s-1].dCum[j] += st.dCum[j] * st.mask[j]
			}
			if !math.IsNaN(st.soft[j]) {
				dk, dd := nn.KeepDecisionBack(dm, st.soft[j], o.Config.Tau)
				dlogits[2*j] += dk
				dlogits[2*j+1] += dd
			}
			dlogits[2*j] += st.dScore[j]
			dlogits[2*j+1] -= st.dScore[j]
		}
		// The gradient stops at the module's input: each module learns from
		// its own decisions and scores, not by reshaping the hidden states
		// that later modules see (that path only added noise).
		return st.mlp.backward(&grad.Stages[s], dlogits)
	})
}

// decide runs stage s's MLP on x and draws each token's keep decision
// (tokens after the prompt and protected prompt tokens are always kept).
func (o *Objective) decide(p *Params, s int, x hidden, n, prompt int, noise uint64, frozen *decisions) (*stageState, error) {
	if frozen != nil {
		x = frozen.inputs[s]
	}
	run, err := o.Model.stage(p, s, x, n)
	if err != nil {
		return nil, err
	}
	lg := run.logits()
	st := &stageState{mlp: run, input: x, hard: make([]float64, n), soft: make([]float64, n), mask: make([]float64, n)}
	rng := rand.New(rand.NewPCG(noise, uint64(s)))
	for j := 0; j < n; j++ {
		gk, gd := nn.Gumbel(uniform(rng)), nn.Gumbel(uniform(rng))
		if j >= prompt || prune.IsProtected(j, prompt) {
			st.hard[j], st.soft[j], st.mask[j] = 1, math.NaN(), 1
			continue
		}
		st.hard[j], st.soft[j] = nn.KeepDecision(lg[2*j], lg[2*j+1], gk, gd, o.Config.Tau)
		st.mask[j] = st.hard[j]
		if frozen != nil {
			st.hard[j] = frozen.hard[s][j]
			st.mask[j] = st.hard[j] + (st.soft[j] - frozen.soft[s][j])
		}
	}
	return st, nil
}

// uniform draws from the open interval (0, 1).
func uniform(rng *rand.Rand) float64 {
	return (float64(rng.Uint64()>>11) + 0.5) / (1 << 53)
}
