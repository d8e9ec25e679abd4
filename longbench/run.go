package longbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/runmeta"
)

// GenRequest is one generation: greedy decoding of up to MaxNewTokens
// tokens after Prompt.
type GenRequest struct {
	// Prompt is the final prompt text (already truncated and, where the
	// task uses it, wrapped in the chat template); the generator tokenizes
	// it as Hugging Face's tokenizer(prompt) does (with BOS where the model
	// has one).
	Prompt       string
	MaxNewTokens int
	// StopAtNewline is samsum's rule in pred.py: the newline token ends
	// generation like EOS does, and neither may be the first new token
	// (min_length = prompt length + 1).
	StopAtNewline bool
}

// GenResult is what a generation produced and measured.
type GenResult struct {
	Text         string  // the new tokens decoded, special tokens skipped
	PromptTokens int     // tokens in the prompt
	AliveTokens  int     // prompt tokens alive after the last pruning stage (PromptTokens without pruning)
	Seconds      float64 // wall time of prefill and decoding
}

// Generator runs the model. Implementations must be deterministic for the
// runner's resume to make sense (greedy decoding).
type Generator interface {
	Generate(ctx context.Context, req GenRequest) (GenResult, error)
}

// RunMeta describes a run; it is written to meta.json in the output folder
// when the run starts. A resumed run must have the same Settings; Info is
// recorded but not compared.
type RunMeta struct {
	runmeta.Meta
	Settings map[string]string `json:"settings"`       // model, backend, pruning schedule, truncation, template, ...
	Info     map[string]string `json:"info,omitempty"` // device name, ...
}

// ReadRunMeta reads the meta.json of a run folder; an error wrapping
// os.ErrNotExist means the folder has none (official prediction files).
func ReadRunMeta(dir string) (RunMeta, error) {
	path := filepath.Join(dir, "meta.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return RunMeta{}, err
	}
	var m RunMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return RunMeta{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Model names the model the run used: its name as the engine reported it
// (the folder or file name, or synthetic:NAME), else the --model given.
func (m RunMeta) Model() string {
	if n := m.Info["model_name"]; n != "" {
		return n
	}
	return m.Settings["model"]
}

// UnmarshalJSON reads meta.json, old field spellings included.
func (m *RunMeta) UnmarshalJSON(data []byte) error {
	type plain RunMeta
	return runmeta.Unmarshal(data, (*plain)(m), &m.Meta)
}

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
	Meta      RunMeta
	Progress  *Progress // nil for none
}

// RunStats counts what a Run did.
type RunStats struct {
	Generated int // rows generated in this call
	Resumed   int // rows found done in the output files
	Failed    int // rows of this call that failed, recorded with their error
}

// Run generates predictions for every row of every task into
// Out/<task>.jsonl, one line per row, written and synced one at a time. Rows
// whose _id is already in the file are skipped, so a run that was stopped
// (even killed) resumes where it was: a line cut short by a kill is
// removed first.
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
	type plan struct {
		task   Task
		rows   []Row
		known  map[string]bool // every _id of the task's data, --limit or not
		path   string
		maxNew int
	}
	var plans []plan
	for _, t := range cfg.Tasks {
		rows, err := ReadTaskRows(cfg.Data, t, cfg.E)
		if err != nil {
			return st, err
		}
		if len(rows) == 0 {
			return st, fmt.Errorf("task %s: the data file has no rows", t.Name)
		}
		seen := map[string]bool{}
		for i, r := range rows {
			if seen[r.ID] {
				return st, fmt.Errorf("task %s: data row %d repeats _id %s", t.Name, i+1, r.ID)
			}
			seen[r.ID] = true
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
		plans = append(plans, plan{t, rows, seen, filepath.Join(cfg.Out, t.FileName(false)), maxNew})
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return st, err
	}
	if err := writeOrCheckMeta(filepath.Join(cfg.Out, "meta.json"), cfg.Meta, hasPredictions(cfg.Out)); err != nil {
		return st, err
	}
	todo := 0
	for _, p := range plans {
		done, err := doneIDs(p.path, p.known)
		if err != nil {
			return st, err
		}
		for _, r := range p.rows {
			if done[r.ID] {
				st.Resumed++
			} else {
				todo++
			}
		}
	}
	cfg.Progress.begin(todo)
	defer cfg.Progress.finish()
	for _, p := range plans {
		err := runTask(ctx, cfg, p.task, p.rows, p.path, p.maxNew, &st)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// doneIDs reads the ids predicted without error in path. Every id must be
// one of the task's data (known): a row of another task or data set is
// refused, naming the file and line.
func doneIDs(path string, known map[string]bool) (map[string]bool, error) {
	done := map[string]bool{}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	pf, err := ReadPredictionFile(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, p := range pf.Rows {
		switch {
		case p.ID == "":
			return nil, fmt.Errorf("%s line %d: no _id, so the run cannot be resumed (use a new --out)", path, pf.Lines[i])
		case seen[p.ID]:
			return nil, fmt.Errorf("%s line %d: _id %s appears twice", path, pf.Lines[i], p.ID)
		case !known[p.ID]:
			return nil, fmt.Errorf("%s line %d: _id %s is not a row of this task's data; the file belongs to another task or data set (remove the line or use a new --out)", path, pf.Lines[i], p.ID)
		}
		seen[p.ID] = true
		if p.Error == "" {
			done[p.ID] = true
		}
	}
	return done, nil
}

// runTask generates the rows of one task not yet in path, counting them in
// st. Only a write error or a stop (ctx) ends it early; a row that fails is
// recorded with its error.
func runTask(ctx context.Context, cfg RunConfig, t Task, rows []Row, path string, maxNew int, st *RunStats) error {
	w, pf, err := openPredWriter(path)
	if err != nil {
		return err
	}
	defer w.Close()
	done := map[string]bool{}
	for _, p := range pf.Rows {
		done[p.ID] = true
	}
	finished, generated := 0, 0
	for _, r := range rows {
		if done[r.ID] {
			finished++
		}
	}
	for _, r := range rows {
		if done[r.ID] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped during %s after %d new rows (run again to resume): %w", t.Name, generated, err)
		}
		p, err := predict(ctx, cfg, t, r, maxNew)
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("stopped during %s after %d new rows (run again to resume): %w", t.Name, generated, ctx.Err())
		}
		if err != nil {
			p = Prediction{ID: r.ID, Answers: r.Answers, AllClasses: r.AllClasses, Length: r.Length, Error: err.Error()}
			cfg.Progress.fail(t.Name, r.ID, err)
		}
		if err := w.Append(p); err != nil {
			return err
		}
		if p.Error != "" {
			st.Failed++
		} else {
			st.Generated++
		}
		generated++
		finished++
		cfg.Progress.step(t.Name, finished, len(rows))
	}
	return w.Close()
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

// hasPredictions reports whether any prediction file in dir holds a row.
func hasPredictions(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
			return true
		}
	}
	return false
}

// writeOrCheckMeta writes meta.json (atomically) for a new run, or checks
// that an existing one has the same settings. A folder holding no
// predictions yet (its run failed before the first row) is not bound to
// its old settings: its meta.json is replaced.
func writeOrCheckMeta(path string, m RunMeta, bound bool) error {
	b, err := os.ReadFile(path)
	if err == nil && bound {
		var old RunMeta
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		var diff []string
		keys := map[string]bool{}
		for k := range old.Settings {
			keys[k] = true
		}
		for k := range m.Settings {
			keys[k] = true
		}
		for k := range keys {
			if old.Settings[k] != m.Settings[k] {
				diff = append(diff, fmt.Sprintf("%s: %q before, %q now", k, old.Settings[k], m.Settings[k]))
			}
		}
		if len(diff) > 0 {
			sort.Strings(diff)
			return fmt.Errorf("%s belongs to a run with other settings (%s); use another --out", path, strings.Join(diff, "; "))
		}
		return nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}
