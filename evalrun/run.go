package evalrun

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/sdtp/sdtp/internal/shard"
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
	Rows []Row
	// InFlight rows are generated at once (0 or 1: one at a time), so a
	// batching Generator can decode them together; each row's record is
	// written when it finishes, so a task's file lists rows in the order
	// they finished.
	InFlight int
	// Shard, when set, keeps only the rows of one shard of the run
	// (shard.Spec.Has of their ids); the meta block's settings record it,
	// so a folder serves one shard only, and 'merge' joins the shards.
	Shard    shard.Spec
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
	if cfg.Shard.On() {
		cfg.Meta.Settings = maps.Clone(cfg.Meta.Settings)
		if cfg.Meta.Settings == nil {
			cfg.Meta.Settings = map[string]string{}
		}
		cfg.Meta.Settings[shard.SettingKey] = cfg.Shard.String()
		cfg.Rows = slices.DeleteFunc(slices.Clone(cfg.Rows), func(r Row) bool { return !cfg.Shard.Has(r.ID) })
	}
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
	var pending []Row
	for _, r := range cfg.Rows {
		if !done[r.Task][r.ID] {
			pending = append(pending, r)
		}
	}
	if err := generateRows(ctx, cfg, pending, writers, rowsOf, finished, &st); err != nil {
		return st, err
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

// outcome is a generated row: its record, or why it failed.
type outcome struct {
	row Row
	rec any
	err error
}

// generateRows generates the rows, up to cfg.InFlight at once, and
// writes each record as its row finishes. Only a write error or a stop
// (ctx) ends it early: then it waits for the rows in flight, keeps those
// that finished, and returns the error.
func generateRows(ctx context.Context, cfg Config, rows []Row, writers []*writer, rowsOf, finished []int, st *Stats) error {
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan outcome)
	next, running := 0, 0
	start := func() {
		r := rows[next]
		next++
		running++
		go func() {
			rec, err := r.Predict(work)
			results <- outcome{r, rec, err}
		}()
	}
	for next < len(rows) && running < max(1, cfg.InFlight) {
		start()
	}
	generated := make([]int, len(cfg.Tasks))
	var first error // the error that ends the run
	for running > 0 {
		o := <-results
		running--
		t := cfg.Tasks[o.row.Task]
		// stopped is the error of a run stopped during task i.
		stopped := func(i int, err error) error {
			return fmt.Errorf("stopped during %s after %d new rows (run again to resume): %w", cfg.Tasks[i].Name, generated[i], err)
		}
		switch {
		case first != nil:
			// Wait for the rows in flight; a record that came is still good.
			if o.err != nil {
				continue
			}
		case o.err != nil && ctx.Err() != nil:
			first = stopped(o.row.Task, ctx.Err())
			cancel()
			continue
		}
		rec := o.rec
		if o.err != nil {
			rec = o.row.Failed(o.err)
			cfg.Progress.fail(t.Name, o.row.ID, o.err)
		}
		if err := writers[o.row.Task].Append(o.row.ID, rec); err != nil {
			if first == nil {
				first = err
				cancel()
			}
			continue
		}
		if o.err != nil {
			st.Failed++
		} else {
			st.Generated++
		}
		generated[o.row.Task]++
		finished[o.row.Task]++
		cfg.Progress.step(t.Name, finished[o.row.Task], rowsOf[o.row.Task])
		if first == nil && ctx.Err() != nil && next < len(rows) {
			first = stopped(rows[next].Task, ctx.Err())
		}
		if first == nil && next < len(rows) {
			start()
		}
	}
	return first
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
