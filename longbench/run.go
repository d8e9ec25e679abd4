package longbench

import (
	"context"
	"errors"
	"fmt"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/internal/shard"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/tokenizer"
)

// The generation and run types are the shared runner's (package evalrun).
type (
	// GenRequest is one generation: greedy decoding of up to
	// MaxNewTokens tokens after Prompt; StopAtNewline is samsum's rule.
	GenRequest = evalrun.GenRequest
	// GenResult is what a generation produced and measured.
	GenResult = evalrun.GenResult
	// Generator runs the model.
	Generator = evalrun.Generator
	// ModelGenerator is the Generator of the inference engine, with
	// pred.py's decoding rules.
	ModelGenerator = evalrun.ModelGenerator
	// RunMeta describes a run (meta.json); a resumed run must have the
	// same Settings.
	RunMeta = evalrun.RunMeta
	// Progress counts the rows a run generates and reports them.
	Progress = evalrun.Progress
	// RunProgress reports one generated row.
	RunProgress = evalrun.RunProgress
	// RunStats counts what a Run did.
	RunStats = evalrun.Stats
)

// NewModelGenerator makes a generator for m with its tokenizer, the ids
// that end generation (model.Config.StopIDs) and a pruner (nil for none).
func NewModelGenerator(m *model.Model, tok tokenizer.Tokenizer, stop []int, pruner model.Pruner) *ModelGenerator {
	return evalrun.NewModelGenerator(m, tok, stop, pruner)
}

// ReadRunMeta reads the meta.json of a run folder; an error wrapping
// os.ErrNotExist means the folder has none (official prediction files).
func ReadRunMeta(dir string) (RunMeta, error) { return evalrun.ReadRunMeta(dir) }

// RunConfig is what Run needs.
type RunConfig struct {
	Data  string // folder holding data/<task>.jsonl (or the files themselves)
	Tasks []Task
	E     bool // LongBench-E files (<task>_e.jsonl)
	Limit int  // only the first Limit rows of each task; 0 for all
	Out   string
	// Prompt fits the prompts to the model: truncation length, chat
	// template, and the model's positions (see PromptOptions).
	Prompt    PromptOptions
	Generator Generator
	// InFlight rows generate at once (evalrun.Config.InFlight), so that a
	// batching generator decodes them together.
	InFlight int
	// Shard keeps one shard of the rows (evalrun.Config.Shard).
	Shard    shard.Spec
	Meta     RunMeta
	Progress *Progress // nil for none
}

// Run generates predictions for every row of every task into
// Out/<task>.jsonl with the shared runner (evalrun.Run): one line per row,
// written and synced one at a time, a stopped or killed run resuming where
// it was, a run with other settings refused. Rows whose _id is already in
// the file are skipped; a line whose _id is not in the task's data stops
// the run.
//
// A row whose prompt or generation fails does not stop the run: it is
// written with its error (Prediction.Error, an empty pred), which scores 0,
// and counted in RunStats.Failed. A resumed run drops those lines and tries
// the rows again.
func Run(ctx context.Context, cfg RunConfig) (RunStats, error) {
	var st RunStats
	if cfg.Generator == nil {
		return st, errors.New("longbench run: no generator")
	}
	// Everything that can be checked is checked before the output folder
	// is touched, so a mistake does not leave a folder locked to it.
	rc := evalrun.Config{Out: cfg.Out, Meta: cfg.Meta, Progress: cfg.Progress, InFlight: cfg.InFlight, Shard: cfg.Shard}
	for _, t := range cfg.Tasks {
		rows, err := ReadTaskRows(cfg.Data, t, cfg.E)
		if err != nil {
			return st, err
		}
		if len(rows) == 0 {
			return st, fmt.Errorf("task %s: the data file has no rows", t.Name)
		}
		known := map[string]bool{} // every _id of the task's data, --limit or not
		for i, r := range rows {
			if known[r.ID] {
				return st, fmt.Errorf("task %s: data row %d repeats _id %s", t.Name, i+1, r.ID)
			}
			known[r.ID] = true
		}
		if cfg.Limit > 0 && len(rows) > cfg.Limit {
			rows = rows[:cfg.Limit]
		}
		maxNew, err := cfg.Prompt.NewTokens(t)
		if err != nil {
			return st, err
		}
		if _, err := cfg.Prompt.MaxLengthFor(t); err != nil {
			return st, fmt.Errorf("task %s: %w", t.Name, err)
		}
		rc.Tasks = append(rc.Tasks, evalrun.Task{Name: t.Name, File: t.FileName(false), Parse: predictionHeader,
			Known: func(id string) bool { return known[id] }})
		for _, r := range rows {
			rc.Rows = append(rc.Rows, evalrun.Row{
				Task:    len(rc.Tasks) - 1,
				ID:      r.ID,
				Predict: func(ctx context.Context) (any, error) { return predict(ctx, cfg, t, r, maxNew) },
				Failed: func(err error) any {
					return Prediction{ID: r.ID, Answers: r.Answers, AllClasses: r.AllClasses, Length: r.Length, Error: err.Error()}
				},
			})
		}
	}
	return evalrun.Run(ctx, rc)
}

// predictionHeader reads a predictions line for the runner.
func predictionHeader(b []byte) (evalrun.Header, error) {
	p, err := ParsePrediction(b)
	return evalrun.Header{ID: p.ID, Error: p.Error}, err
}

// predict builds row r's prompt and generates its prediction.
func predict(ctx context.Context, cfg RunConfig, t Task, r Row, maxNew int) (Prediction, error) {
	prompt, err := BuildPrompt(t, r, cfg.Prompt)
	if err != nil {
		return Prediction{}, err
	}
	res, err := cfg.Generator.Generate(ctx, GenRequest{Prompt: prompt, MaxNewTokens: maxNew, StopAtNewline: t.StopAtNewline()})
	if err != nil {
		return Prediction{}, err
	}
	return Prediction{ID: r.ID, Pred: res.Text, Answers: r.Answers, AllClasses: r.AllClasses, Length: r.Length,
		PromptTokens: res.PromptTokens, AliveTokens: res.AliveTokens, Seconds: res.Seconds}, nil
}
