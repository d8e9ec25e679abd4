package evalrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Task is one task's predictions file in a run.
type Task struct {
	// Name names the task in progress reports and errors.
	Name string
	// File is the file's name in the run folder (<task>.jsonl).
	File string
	// Parse reads one line of the file: its row id and error, checking
	// the line as the suite's reader does.
	Parse func(line []byte) (Header, error)
	// Known reports whether id is a row of this task: a line of another
	// task or data set stops the run, naming the file and line.
	Known func(id string) bool
}

// Row is one row to generate.
type Row struct {
	// Task is the index in Config.Tasks of the row's task.
	Task int
	ID   string
	// Predict generates the row and returns its record (one JSON line).
	Predict func(ctx context.Context) (any, error)
	// Failed is the record of a row whose Predict failed: the row's
	// identity, err as its error and an empty prediction.
	Failed func(err error) any
}

// Config is what Run needs.
type Config struct {
	Out   string
	Tasks []Task
	// Rows are generated in this order, those already done skipped.
	Rows     []Row
	Meta     RunMeta
	Progress *Progress // nil for none
}

// Stats counts what a Run did.
type Stats struct {
	Generated int // rows generated in this call
	Resumed   int // rows found done in the output files
	Failed    int // rows of this call that failed, recorded with their error
}

// Run generates every row not yet done into Out/<task file>, one line per
// row, written and synced one at a time. Rows whose id is already in the
// file are skipped, so a run that was stopped (even killed) resumes where
// it was: a line cut short by a kill is removed first. meta.json is
// written for a new run; a folder holding predictions must have been
// made with the same settings.
//
// A row whose Predict fails does not stop the run: its Failed record is
// written, and counted in Stats.Failed. A resumed run drops those lines
// and tries the rows again. Only a write error or a stop (ctx) ends a run
// early.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	var st Stats
	rowsOf := make([]int, len(cfg.Tasks))
	ids := map[string]bool{}
	for _, r := range cfg.Rows {
		if r.Task < 0 || r.Task >= len(cfg.Tasks) || r.Predict == nil || r.Failed == nil {
			return st, fmt.Errorf("run: row %s is incomplete", r.ID)
		}
		key := cfg.Tasks[r.Task].File + "\x00" + r.ID
		if ids[key] {
			return st, fmt.Errorf("run: row %s of %s is listed twice", r.ID, cfg.Tasks[r.Task].Name)
		}
		ids[key] = true
		rowsOf[r.Task]++
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return st, err
	}
	if err := writeOrCheckMeta(filepath.Join(cfg.Out, MetaFile), cfg.Meta, hasPredictions(cfg.Out)); err != nil {
		return st, err
	}
	done := make([]map[string]bool, len(cfg.Tasks))
	for i, t := range cfg.Tasks {
		d, err := doneIDs(filepath.Join(cfg.Out, t.File), t)
		if err != nil {
			return st, err
		}
		done[i] = d
	}
	finished := make([]int, len(cfg.Tasks)) // rows done per task, resumed ones included
	todo := 0
	for _, r := range cfg.Rows {
		if done[r.Task][r.ID] {
			st.Resumed++
			finished[r.Task]++
		} else {
			todo++
		}
	}
	writers := make([]*writer, len(cfg.Tasks))
	defer func() {
		for _, w := range writers {
			if w != nil {
				w.Close()
			}
		}
	}()
	for i, t := range cfg.Tasks {
		if rowsOf[i] == 0 {
			continue
		}
		w, _, err := openWriter(filepath.Join(cfg.Out, t.File), t.Parse)
		if err != nil {
			return st, err
		}
		writers[i] = w
	}
	cfg.Progress.begin(todo)
	defer cfg.Progress.finish()
	generated := make([]int, len(cfg.Tasks))
	for _, r := range cfg.Rows {
		if done[r.Task][r.ID] {
			continue
		}
		t := cfg.Tasks[r.Task]
		stopped := func(err error) error {
			return fmt.Errorf("stopped during %s after %d new rows (run again to resume): %w", t.Name, generated[r.Task], err)
		}
		if err := ctx.Err(); err != nil {
			return st, stopped(err)
		}
		rec, err := r.Predict(ctx)
		if err != nil && ctx.Err() != nil {
			return st, stopped(ctx.Err())
		}
		if err != nil {
			rec = r.Failed(err)
			cfg.Progress.fail(t.Name, r.ID, err)
		}
		if err := writers[r.Task].Append(r.ID, rec); err != nil {
			return st, err
		}
		if err != nil {
			st.Failed++
		} else {
			st.Generated++
		}
		generated[r.Task]++
		finished[r.Task]++
		cfg.Progress.step(t.Name, finished[r.Task], rowsOf[r.Task])
	}
	for i, w := range writers {
		if w != nil {
			writers[i] = nil
			if err := w.Close(); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// doneIDs reads the ids predicted without error in path. Every id must be
// one of the task's (t.Known): a row of another task or data set is
// refused, naming the file and line.
func doneIDs(path string, t Task) (map[string]bool, error) {
	done := map[string]bool{}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	c, err := ReadFile(path, t.Parse)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, h := range c.Rows {
		switch {
		case h.ID == "":
			return nil, fmt.Errorf("%s line %d: no _id, so the run cannot be resumed (use a new --out)", path, c.Lines[i])
		case seen[h.ID]:
			return nil, fmt.Errorf("%s line %d: _id %s appears twice", path, c.Lines[i], h.ID)
		case !t.Known(h.ID):
			return nil, fmt.Errorf("%s line %d: _id %s is not a row of this task's data; the file belongs to another task or data set (remove the line or use a new --out)", path, c.Lines[i], h.ID)
		}
		seen[h.ID] = true
		if h.Error == "" {
			done[h.ID] = true
		}
	}
	return done, nil
}
