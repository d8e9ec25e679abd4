package ruler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/internal/shard"
)

// RunConfig is what Run needs.
type RunConfig struct {
	Out     string
	Tasks   []Task
	Lengths []int // target lengths in the model's tokens
	Samples int   // samples per task and length: indices 0 to Samples-1
	// Data makes the samples (the model's tokenizer and chat template,
	// the seed).
	Data *Generator
	// Generator runs the model.
	Generator evalrun.Generator
	// InFlight samples generate at once (evalrun.Config.InFlight), so
	// that a batching generator decodes them together.
	InFlight int
	// Shard keeps one shard of the samples (evalrun.Config.Shard).
	Shard    shard.Spec
	Meta     evalrun.RunMeta
	Progress *evalrun.Progress // nil for none
}

// Run generates predictions for every sample of every task at every
// length into Out/<task>.jsonl with the shared runner (evalrun.Run): one
// line per sample, written and synced one at a time, a stopped or killed
// run resuming where it was, a run with other settings refused. Samples
// run length by length, shortest first, every task at one length before
// the next length. A run may be extended with more tasks, lengths or
// samples in the same folder: a sample is the same whatever else is run.
//
// A sample whose generation fails does not stop the run: it is written
// with its error (and an empty pred), scores 0 and is counted in
// Stats.Failed; a resumed run tries it again.
func Run(ctx context.Context, cfg RunConfig) (evalrun.Stats, error) {
	var st evalrun.Stats
	switch {
	case cfg.Data == nil || cfg.Generator == nil:
		return st, errors.New("ruler run: no sample generator or model")
	case cfg.Samples < 1:
		return st, fmt.Errorf("ruler run: %d samples per task and length", cfg.Samples)
	case len(cfg.Tasks) == 0 || len(cfg.Lengths) == 0:
		return st, errors.New("ruler run: no task or no length")
	}
	lengths := slices.Clone(cfg.Lengths)
	slices.Sort(lengths)
	lengths = slices.Compact(lengths)
	// Every task must fit at every length before the folder is touched.
	for _, l := range lengths {
		for _, t := range cfg.Tasks {
			if err := cfg.Data.CheckLength(ctx, t, l); err != nil {
				return st, err
			}
		}
	}
	rc := evalrun.Config{Out: cfg.Out, Meta: cfg.Meta, Progress: cfg.Progress, InFlight: cfg.InFlight, Shard: cfg.Shard}
	for _, t := range cfg.Tasks {
		rc.Tasks = append(rc.Tasks, evalrun.Task{Name: t.Name, File: t.Name + ".jsonl", Parse: predictionHeader,
			Known: func(id string) bool {
				task, _, _, err := ParseID(id)
				return err == nil && task == t.Name
			}})
	}
	for _, l := range lengths {
		for i, t := range cfg.Tasks {
			for index := range cfg.Samples {
				var outputs []string // the sample's, once made
				rc.Rows = append(rc.Rows, evalrun.Row{
					Task: i,
					ID:   SampleID(t.Name, l, index),
					Predict: func(ctx context.Context) (any, error) {
						s, err := cfg.Data.Generate(ctx, t, l, index)
						if err != nil {
							return nil, err
						}
						outputs = s.Outputs
						return predict(ctx, cfg.Generator, s)
					},
					Failed: func(err error) any {
						return Prediction{ID: SampleID(t.Name, l, index), Task: t.Name, Length: l, Index: index, Outputs: outputs, Error: err.Error()}
					},
				})
			}
		}
	}
	return evalrun.Run(ctx, rc)
}

// predict runs the model on a sample.
func predict(ctx context.Context, g evalrun.Generator, s Sample) (Prediction, error) {
	res, err := g.Generate(ctx, evalrun.GenRequest{Prompt: s.Prompt, MaxNewTokens: s.NewTokens})
	if err != nil {
		return Prediction{}, err
	}
	return Prediction{ID: s.ID, Task: s.Task, Length: s.Length, Index: s.Index, Pred: res.Text, Outputs: s.Outputs,
		PromptTokens: res.PromptTokens, AliveTokens: res.AliveTokens, Haystack: s.Haystack, Seconds: res.Seconds}, nil
}

// predictionHeader reads a predictions line for the runner.
func predictionHeader(b []byte) (evalrun.Header, error) {
	p, err := ParsePrediction(b)
	return evalrun.Header{ID: p.ID, Error: p.Error}, err
}

// ReadPredictionFile reads a predictions file.
func ReadPredictionFile(path string) (evalrun.Contents[Prediction], error) {
	return evalrun.ReadFile(path, ParsePrediction)
}

// DirScores is what a run folder's predictions score.
type DirScores struct {
	Scores []TaskScore
	// Torn names the tasks whose file ends in a line cut short (a run
	// still writing, or killed), left out.
	Torn []string
}

// ScoreDir scores the predictions files (<task>.jsonl) in dir. Every row
// of a file must belong to its task.
func ScoreDir(dir string) (DirScores, error) {
	var ds DirScores
	var rows []Prediction
	found := false
	for _, name := range TaskNames() {
		path := filepath.Join(dir, name+".jsonl")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		c, err := ReadPredictionFile(path)
		if err != nil {
			return ds, err
		}
		found = true
		for i, p := range c.Rows {
			if p.Task != name {
				return ds, fmt.Errorf("%s line %d: a row of task %s", path, c.Lines[i], p.Task)
			}
		}
		if c.Torn > 0 {
			ds.Torn = append(ds.Torn, name)
		}
		rows = append(rows, c.Rows...)
	}
	if !found {
		return ds, fmt.Errorf("%s holds no RULER predictions file (<task>.jsonl)", dir)
	}
	var err error
	if ds.Scores, err = ScoreRows(rows); err != nil {
		return ds, fmt.Errorf("%s: %w", dir, err)
	}
	return ds, nil
}

// ScoreRuns scores each run folder; runs are named by their folder name
// (the full path where two share a name).
func ScoreRuns(dirs []string) ([]RunScores, error) {
	names := evalrun.RunNames(dirs)
	var out []RunScores
	for i, d := range dirs {
		ds, err := ScoreDir(d)
		if err != nil {
			return nil, err
		}
		out = append(out, RunScores{Name: names[i], Scores: ds.Scores})
	}
	return out, nil
}
