package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/sdtp/sdtp/internal/parallel"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train/nn"
)

// NamedScorer is one way of scoring tokens under evaluation; New makes its
// scorer for the text with the given index (so a random baseline can draw
// fresh scores per text).
type NamedScorer struct {
	Name string
	New  func(text int) Scorer
}

// OracleName names the saliency oracle that Evaluate always adds: tokens
// scored by their own saliency importance (an upper reference for what a
// module can learn).
const OracleName = "saliency-oracle"

// EvalConfig sets up an evaluation.
type EvalConfig struct {
	Schedule prune.Schedule
	// Continuation is the number of tokens at the end of each text that
	// play decoded tokens: the rest is the prompt, which is pruned; the
	// predictions compared are those of the last prompt token and of every
	// continuation token but the last.
	Continuation int
	// Target turns saliency into importance (as in training).
	Target Target
	// WholeSequenceSaliency takes the saliency's T over the whole text
	// instead of the continuation's predictions (as in training).
	WholeSequenceSaliency bool
	// Workers bounds the texts evaluated at once (0: GOMAXPROCS).
	Workers int
}

// LocationStats compares a scorer with the saliency at one location, on
// the unpruned model's hidden states and the prompt's unprotected tokens.
type LocationStats struct {
	Layer int `json:"layer"`
	// Spearman and Kendall are the rank correlations of the scores with
	// the importance, averaged over texts.
	Spearman float64 `json:"spearman"`
	Kendall  float64 `json:"kendall"`
	// Overlap is the fraction of the unprotected tokens that the scores
	// keep (with the stage's budget, by prune.Select) that the importance
	// keeps as well, averaged over texts.
	Overlap float64 `json:"kept_overlap"`
}

// MarshalJSON writes NaN statistics (no text had two distinct values) as
// null.
func (l LocationStats) MarshalJSON() ([]byte, error) {
	num := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		Layer    int      `json:"layer"`
		Spearman *float64 `json:"spearman"`
		Kendall  *float64 `json:"kendall"`
		Overlap  *float64 `json:"kept_overlap"`
	}{l.Layer, num(l.Spearman), num(l.Kendall), num(l.Overlap)})
}

// ScorerReport is one scorer's results.
type ScorerReport struct {
	Name      string          `json:"name"`
	Locations []LocationStats `json:"locations"`
	// Agreement is the fraction of predictions whose most likely token is
	// the unpruned model's.
	Agreement float64 `json:"next_token_agreement"`
	// KL is the mean KL(unpruned ‖ pruned) of the next-token distributions.
	KL float64 `json:"kl"`
	// Alive is the mean fraction of prompt tokens alive after the last stage.
	Alive float64 `json:"alive_fraction"`
}

// EvalReport is the outcome of Evaluate.
type EvalReport struct {
	Texts       int            `json:"texts"`
	Predictions int            `json:"predictions"`
	PromptMean  float64        `json:"mean_prompt_tokens"`
	Scorers     []ScorerReport `json:"scorers"`
}

// textResult is one text's contribution, per scorer.
type textResult struct {
	spearman, kendall, overlap [][]float64 // [scorer][stage]
	agree, kl, alive           []float64   // sums over predictions; alive fraction
	preds, prompt              int
}

// Evaluate compares the scorers on held-out texts: per location, rank
// correlation and kept-set overlap with the saliency; end to end, the
// next-token agreement and KL divergence between the pruned and the
// unpruned model. The saliency oracle is added as the last scorer.
func Evaluate(ctx context.Context, m Frozen, texts [][]int, cfg EvalConfig, scorers []NamedScorer, progress func(done, total int)) (*EvalReport, error) {
	if cfg.Continuation < 1 {
		return nil, fmt.Errorf("evaluation needs at least one continuation token")
	}
	if err := cfg.Schedule.Validate(m.Config().Layers); err != nil {
		return nil, err
	}
	for i, ids := range texts {
		if len(ids)-cfg.Continuation < 2 {
			return nil, fmt.Errorf("held-out text %d has %d tokens, too few for a %d-token continuation", i, len(ids), cfg.Continuation)
		}
	}
	results := make([]*textResult, len(texts))
	err := parallel.ForEach(ctx, len(texts), m.Workers(cfg.Workers), "held-out text", func(_, i int) error {
		var err error
		results[i], err = evalText(ctx, m, texts[i], i, cfg, scorers)
		return err
	}, progress)
	if err != nil {
		return nil, err
	}
	return summarise(results, cfg, append(names(scorers), OracleName)), nil
}

func names(s []NamedScorer) []string {
	var out []string
	for _, n := range s {
		out = append(out, n.Name)
	}
	return out
}

func evalText(ctx context.Context, m Frozen, ids []int, index int, cfg EvalConfig, scorers []NamedScorer) (*textResult, error) {
	n, d := len(ids), m.Config().Hidden
	prompt := n - cfg.Continuation
	salCont := cfg.Continuation
	if cfg.WholeSequenceSaliency {
		salCont = 0
	}
	var refRows []int
	for row := prompt - 1; row < n-1; row++ {
		refRows = append(refRows, row)
	}
	sal, _, _, err := m.saliency(ctx, ids, salCont, nil)
	if err != nil {
		return nil, err
	}
	full, err := m.forward(ctx, ids, nil)
	if err != nil {
		return nil, err
	}
	defer full.free()
	locs := cfg.Schedule.Locations
	imp := make([][]float64, len(locs))
	inputs := make([][]float64, len(locs))
	for s, l := range locs {
		imp[s] = make([]float64, n)
		for j, v := range sal[l] {
			imp[s][j] = cfg.Target.Importance(v)
		}
		if inputs[s], err = full.input(l); err != nil {
			return nil, err
		}
	}
	var ref [][]float64
	for _, row := range refRows {
		lp, err := full.logProbs(row)
		if err != nil {
			return nil, err
		}
		ref = append(ref, lp)
	}
	all := make([]Scorer, 0, len(scorers)+1)
	for _, s := range scorers {
		all = append(all, s.New(index))
	}
	all = append(all, importanceScorer(imp))
	r := &textResult{preds: len(ref), prompt: prompt}
	pos := make([]int32, prompt)
	for i := range pos {
		pos[i] = int32(i)
	}
	u := free(prompt)
	for _, sc := range all {
		var sp, kd, ov []float64
		for s := range locs {
			scores, err := sc.Scores(s, inputs[s][:prompt*d], pos)
			if err != nil {
				return nil, err
			}
			a, b := make([]float64, len(u)), make([]float64, len(u))
			for k, j := range u {
				a[k], b[k] = float64(scores[j]), imp[s][j]
			}
			sp = append(sp, Spearman(a, b))
			kd = append(kd, Kendall(a, b))
			o, err := keptOverlap(scores, imp[s], prompt, cfg.Schedule.Keep(prompt, s+1))
			if err != nil {
				return nil, err
			}
			ov = append(ov, o)
		}
		r.spearman = append(r.spearman, sp)
		r.kendall = append(r.kendall, kd)
		r.overlap = append(r.overlap, ov)

		tr, alive, err := PrunedForward(ctx, m, ids, prompt, cfg.Schedule, sc)
		if err != nil {
			return nil, err
		}
		var agree, kl float64
		for k, row := range refRows {
			lp, err := tr.logProbs(row)
			if err != nil {
				tr.free()
				return nil, err
			}
			if nn.Argmax(lp) == nn.Argmax(ref[k]) {
				agree++
			}
			kl += nn.KL(ref[k], lp)
		}
		tr.free()
		r.agree = append(r.agree, agree)
		r.kl = append(r.kl, kl)
		r.alive = append(r.alive, float64(alive[len(alive)-1])/float64(prompt))
	}
	return r, nil
}

// keptOverlap returns the fraction of the unprotected tokens kept by
// scores (keep tokens in all, by prune.Select) that imp keeps too; 1 when
// the budget leaves room for no unprotected token.
func keptOverlap(scores []float32, imp []float64, n, keep int) (float64, error) {
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	impf := make([]float32, n)
	for i := range impf {
		impf[i] = float32(imp[i])
	}
	a, err := prune.Select(pos, scores[:n], n, keep)
	if err != nil {
		return 0, err
	}
	b, err := prune.Select(pos, impf, n, keep)
	if err != nil {
		return 0, err
	}
	inB := make(map[int32]bool, len(b))
	for _, i := range b {
		inB[i] = true
	}
	var both, total float64
	for _, i := range a {
		if prune.IsProtected(int(i), n) {
			continue
		}
		total++
		if inB[i] {
			both++
		}
	}
	if total == 0 {
		return 1, nil
	}
	return both / total, nil
}

// summarise averages the per-text results (NaN correlations of constant
// inputs are left out of their means).
func summarise(rs []*textResult, cfg EvalConfig, scorers []string) *EvalReport {
	rep := &EvalReport{Texts: len(rs)}
	for _, r := range rs {
		rep.Predictions += r.preds
		rep.PromptMean += float64(r.prompt)
	}
	rep.PromptMean /= float64(len(rs))
	for si, name := range scorers {
		sr := ScorerReport{Name: name}
		for s, l := range cfg.Schedule.Locations {
			var ls LocationStats
			ls.Layer = l
			ls.Spearman = meanOf(rs, func(r *textResult) float64 { return r.spearman[si][s] })
			ls.Kendall = meanOf(rs, func(r *textResult) float64 { return r.kendall[si][s] })
			ls.Overlap = meanOf(rs, func(r *textResult) float64 { return r.overlap[si][s] })
			sr.Locations = append(sr.Locations, ls)
		}
		var agree, kl float64
		for _, r := range rs {
			agree += r.agree[si]
			kl += r.kl[si]
		}
		sr.Agreement = agree / float64(rep.Predictions)
		sr.KL = kl / float64(rep.Predictions)
		sr.Alive = meanOf(rs, func(r *textResult) float64 { return r.alive[si] })
		rep.Scorers = append(rep.Scorers, sr)
	}
	return rep
}

func meanOf(rs []*textResult, f func(*textResult) float64) float64 {
	var s float64
	n := 0
	for _, r := range rs {
		if v := f(r); !math.IsNaN(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
