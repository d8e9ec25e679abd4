package ablation

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train"
)

// Settings are what every point of a sweep shares; a results file is only
// resumed with the same settings.
type Settings struct {
	// Train is the training configuration of every point but its schedule
	// (Locations and Ratio are left empty) and loss weights, which are the
	// full loss's (each point's variant switches terms off).
	Train train.Config `json:"train"`
	// TrainData and HeldoutData name the text files; TrainTexts and
	// HeldoutTexts count the texts used; MaxTokens cut them.
	TrainData    string `json:"train_data"`
	TrainTexts   int    `json:"train_texts"`
	HeldoutData  string `json:"heldout_data"`
	HeldoutTexts int    `json:"heldout_texts"`
	MaxTokens    int    `json:"max_tokens"`
	// RandomSeed seeds the random-score baseline of the evaluation.
	RandomSeed uint64 `json:"random_seed"`
}

// Row is one point's outcome.
type Row struct {
	Name      string        `json:"name"`
	Locations []int         `json:"locations"`
	Ratio     float64       `json:"ratio"`
	Stages    int           `json:"stages"`
	Loss      Loss          `json:"loss"`
	Weights   train.Weights `json:"weights"`
	// FLOPsRatio is the analytic prefill FLOPs of the held-out prompts
	// pruned by the schedule (pruning modules included) over unpruned.
	FLOPsRatio float64 `json:"prefill_flops_ratio"`
	// Module is the module file, relative to the sweep's folder.
	Module string `json:"module"`
	// Steps, FirstEpoch and LastEpoch summarise the training.
	Steps      int         `json:"steps"`
	FirstEpoch train.Terms `json:"first_epoch"`
	LastEpoch  train.Terms `json:"last_epoch"`
	// Eval compares the module ("module") with random, keep-most-recent
	// and the saliency oracle at the same schedule.
	Eval    *train.EvalReport `json:"eval"`
	Seconds float64           `json:"seconds"`
}

// ModuleScorer is the evaluation's name for the trained module.
const ModuleScorer = "module"

// Scorer returns the evaluation of one scorer (ModuleScorer, "random",
// "recent", train.OracleName), or nil.
func (r *Row) Scorer(name string) *train.ScorerReport {
	if r.Eval == nil {
		return nil
	}
	for i := range r.Eval.Scorers {
		if r.Eval.Scorers[i].Name == name {
			return &r.Eval.Scorers[i]
		}
	}
	return nil
}

// Sweep trains and evaluates the points of a grid.
type Sweep struct {
	Model          train.Frozen
	Train, Heldout [][]int
	Settings       Settings
	Points         []Point
	// Dir receives the modules (modules/NAME.safetensors) and their loss
	// logs and checkpoints; an interrupted point resumes from its
	// checkpoint.
	Dir string
	// Workers bounds the texts processed at once (0: as the model likes);
	// it does not change the results.
	Workers int
	// Done holds the rows of points already finished (from the results
	// file), which are not run again.
	Done map[string]*Row
	// OnRow receives each new row as soon as it is finished.
	OnRow func(*Row) error
	// Progress reports each phase ("saliency", "train NAME", "eval NAME").
	Progress func(phase string, done, total int)
}

// Run trains and evaluates every point not yet done, in order, and
// returns the rows of all points.
func (s *Sweep) Run(ctx context.Context) ([]*Row, error) {
	var todo []Point
	for _, p := range s.Points {
		if s.Done[p.Name()] == nil {
			todo = append(todo, p)
		}
	}
	var sal [][][]float64
	if len(todo) > 0 {
		if err := os.MkdirAll(filepath.Join(s.Dir, "modules"), 0o755); err != nil {
			return nil, fmt.Errorf("sweep folder: %w", err)
		}
		var err error
		sal, err = train.Saliencies(ctx, s.Model, s.Train, s.Settings.Train.Loss.SaliencyContinuation(), s.Workers, s.progress("saliency"))
		if err != nil {
			return nil, fmt.Errorf("saliency of the training texts: %w", err)
		}
	}
	var rows []*Row
	for _, p := range s.Points {
		if r := s.Done[p.Name()]; r != nil {
			rows = append(rows, r)
			continue
		}
		r, err := s.point(ctx, p, sal)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", p.Name(), err)
		}
		if s.OnRow != nil {
			if err := s.OnRow(r); err != nil {
				return rows, err
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func (s *Sweep) progress(phase string) func(done, total int) {
	if s.Progress == nil {
		return nil
	}
	return func(done, total int) { s.Progress(phase, done, total) }
}

// point trains p's module (resuming its checkpoint), saves it, evaluates
// it and counts its FLOPs.
func (s *Sweep) point(ctx context.Context, p Point, sal [][][]float64) (*Row, error) {
	started := time.Now()
	cfg := s.Settings.Train
	cfg.Locations, cfg.Ratio = p.Schedule.Locations, p.Schedule.Ratio
	cfg.Loss.Weights = p.Loss.Weights(cfg.Loss.Weights)
	rel := filepath.Join("modules", p.FileName()+".safetensors")
	path := filepath.Join(s.Dir, rel)
	ckpt := path + ".ckpt"
	run := &train.Run{Model: s.Model, Texts: s.Train, Config: cfg, Checkpoint: ckpt, CheckpointEvery: 25, Resume: true,
		LogPath: path + ".log.jsonl", Workers: s.Workers, Saliency: sal,
		Progress: func(pr train.Progress) {
			if pr.Phase == "train" && s.Progress != nil {
				s.Progress("train "+p.Name(), pr.Done, pr.Total)
			}
		}}
	res, err := run.Train(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := train.NewRecord(s.Settings.TrainData, len(s.Train), s.Settings.MaxTokens, cfg, res).JSON()
	if err != nil {
		return nil, err
	}
	mod, err := res.Params.ToModule(p.Schedule, train.ModelInfo(s.Model), rec)
	if err != nil {
		return nil, err
	}
	if err := mod.Save(path); err != nil {
		return nil, err
	}
	if err := os.Remove(ckpt); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing the finished checkpoint: %w", err)
	}
	c := s.Model.Config()
	scorers := train.EvalScorers([]*prune.Module{mod}, []string{ModuleScorer}, s.Settings.RandomSeed, c.Hidden)
	ev := train.EvalConfig{Schedule: p.Schedule, Continuation: cfg.Loss.Continuation, Target: cfg.Loss.Target, WholeSequenceSaliency: cfg.Loss.WholeSequenceSaliency, Workers: s.Workers}
	rep, err := train.Evaluate(ctx, s.Model, s.Heldout, ev, scorers, s.progress("eval "+p.Name()))
	if err != nil {
		return nil, fmt.Errorf("evaluation: %w", err)
	}
	return &Row{
		Name: p.Name(), Locations: p.Schedule.Locations, Ratio: p.Schedule.Ratio, Stages: len(p.Schedule.Locations),
		Loss: p.Loss, Weights: cfg.Loss.Weights, FLOPsRatio: FLOPsRatio(s.Model, p.Schedule, mod.Width, s.Heldout, cfg.Loss.Continuation),
		Module: rel, Steps: res.Steps, FirstEpoch: res.First, LastEpoch: res.Last, Eval: rep, Seconds: time.Since(started).Seconds(),
	}, nil
}

// FLOPsRatio is the analytic prefill FLOPs of the texts' prompts (each
// text but its last cont tokens) pruned by s, with modules of the given
// width, over their unpruned prefill FLOPs, by the rule of model/flops.go
// and bench.ModuleFLOPs.
func FLOPsRatio(m train.Frozen, s prune.Schedule, width int, texts [][]int, cont int) float64 {
	c := m.Config()
	var pruned, full float64
	for _, ids := range texts {
		n := len(ids) - cont
		alive := s.Alive(n, c.Layers)
		all := make([]int, c.Layers)
		for l := range all {
			all[l] = n
		}
		pruned += c.PrefillFLOPs(alive) + bench.ModuleFLOPs(c, s, width, n, alive)
		full += c.PrefillFLOPs(all)
	}
	return pruned / full
}
