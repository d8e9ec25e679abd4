package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sdtp/sdtp/ablation"
	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/progress"
	"github.com/sdtp/sdtp/plot"
)

// Files a sweep writes in its folder.
const (
	sweepResults = "sweep.jsonl"
	sweepTable   = "sweep.md"
)

func runTrainSweep(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train sweep", "train sweep --model M --data TRAIN --heldout HELDOUT --schedules 'L:R L:R ...' --out DIR [flags]")
	var df dataFlags
	df.register(fs, 48)
	var tf trainFlags
	tf.register(fs)
	heldout := fs.String("heldout", "", "held-out JSONL texts the modules are evaluated on (read as --data is)")
	heldoutLimit := fs.Int("heldout-limit", 0, "use only the first N held-out texts (0: all)")
	schedules := fs.String("schedules", "", "schedules to train, LOCATIONS:RATIO separated by spaces or ';' (e.g. \"3,4:0.6 4:0.6 2,3,4:0.6 3,4:0.5\"); the first is the base schedule the loss variants train at")
	losses := fs.String("losses", "full,no-rank,no-mse,ratio-only", "loss variants, comma-separated: full, no-rank, no-mse, ratio-only (L_cls + keep-ratio loss); the first trains every schedule, the others the base schedule")
	seed := fs.Uint64("random-seed", 1, "seed of the random-score baseline of the evaluation (text i uses seed+i)")
	out := fs.String("out", "", "folder for sweep.jsonl (one line per point, resumed by running the same command again), sweep.md, the figure and modules/")
	formats := fs.String("formats", "png,svg", "figure formats, comma-separated: png, svg")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *out == "":
		return fmt.Errorf("--out is required")
	case *heldout == "":
		return fmt.Errorf("--heldout is required")
	case *schedules == "":
		return fmt.Errorf("--schedules is required")
	case *heldoutLimit < 0:
		return fmt.Errorf("--heldout-limit %d must not be negative", *heldoutLimit)
	case tf.teacher:
		return fmt.Errorf("--teacher is not available in a sweep (the saliency is computed once for every point)")
	}
	fmts, err := parseFormats(*formats)
	if err != nil {
		return err
	}
	if err := tf.check(); err != nil {
		return err
	}
	if tf.cont < 1 {
		return fmt.Errorf("--continuation %d must be at least 1: the evaluation compares the continuation's predictions", tf.cont)
	}
	ls, err := ablation.ParseLosses(*losses)
	if err != nil {
		return fmt.Errorf("--losses: %w", err)
	}
	df.requireTokens(tf.cont+16, fmt.Sprintf("--continuation %d (with a prompt of 16 or more before it)", tf.cont))
	tx, err := df.load(e)
	if err != nil {
		return err
	}
	defer tx.Close()
	hf := df
	hf.data, hf.limit = *heldout, *heldoutLimit
	hx, err := hf.texts(e, false)
	if err != nil {
		return fmt.Errorf("--heldout: %w", err)
	}
	m := tx.Model
	scheds, err := ablation.ParseSchedules(*schedules, m.Config().Layers)
	if err != nil {
		return fmt.Errorf("--schedules: %w", err)
	}
	cfg, err := tf.config(m.Config().Hidden)
	if err != nil {
		return err
	}
	settings := ablation.Settings{Train: cfg, TrainData: df.data, TrainTexts: len(tx.IDs), HeldoutData: *heldout, HeldoutTexts: len(hx.IDs), MaxTokens: df.maxTokens, RandomSeed: *seed}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	rf, err := ablation.Open(filepath.Join(*out, sweepResults), ablation.Header{Meta: newMeta(e, &df), Format: ablation.Format, Settings: settings})
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer rf.Close()
	points := ablation.Grid(scheds, ls)
	done := rf.Done()
	fmt.Fprintf(e.stderr, "sdtp train sweep: %d points (%d done before), %d training texts × %d epochs, %d held-out texts, into %s\n",
		len(points), len(points)-countTodo(points, done), len(tx.IDs), cfg.Epochs, len(hx.IDs), *out)
	pr := progress.New(e.stderr)
	sw := &ablation.Sweep{Model: m, Train: tx.IDs, Heldout: hx.IDs, Settings: settings, Points: points, Dir: *out, Workers: df.workers, Done: done, OnRow: rf.Append,
		Progress: func(phase string, d, total int) { pr.Update(phase, d, total) }}
	rows, err := sw.Run(ctx)
	pr.End()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(*out, sweepTable), func(w io.Writer) error { return ablation.WriteTable(w, rows) }); err != nil {
		return err
	}
	heading := fmt.Sprintf("%s — %d training texts × %d epochs, %d held-out texts", m.Config().Name, len(tx.IDs), cfg.Epochs, len(hx.IDs))
	paths, err := plot.WriteAblation(*out, rows, heading, fmts...)
	if err != nil {
		return fmt.Errorf("figure: %w", err)
	}
	if err := ablation.WriteTable(e.stdout, rows); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nwrote %s, %s", filepath.Join(*out, sweepResults), filepath.Join(*out, sweepTable))
	for _, p := range paths {
		fmt.Fprintf(e.stdout, ", %s", p)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

func countTodo(points []ablation.Point, done map[string]*ablation.Row) int {
	n := 0
	for _, p := range points {
		if done[p.Name()] == nil {
			n++
		}
	}
	return n
}
