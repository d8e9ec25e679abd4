package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/plot"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train"
)

func runPlot(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "plot", "plot --bench FILE [--longbench [CONFIG=]DIR ...] --out DIR [--formats png,svg]\n       sdtp plot --saliency FILE [--text N] [--prune-layers L --keep-ratio R | --module M --model MODEL] --out DIR")
	var in benchInput
	in.register(fs, "figure")
	var sp saliencyPlotFlags
	sp.register(fs)
	out := fs.String("out", "", "folder for the figures (created if missing)")
	formats := fs.String("formats", "png,svg", "figure formats, comma-separated: png, svg")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	fmts, err := parseFormats(*formats)
	if err != nil {
		return err
	}
	if sp.file != "" {
		if in.file != "" || len(in.lb) > 0 {
			return fmt.Errorf("--saliency draws other figures than --bench and --longbench: give one or the other")
		}
		return plotSaliency(ctx, e, &sp, *out, fmts)
	}
	res, q, err := in.load(e)
	if err != nil {
		return err
	}
	var scores []bench.Quality
	if q != nil {
		scores = q.Scores
	}
	paths, err := plot.Write(*out, res, scores, fmts...)
	if err != nil {
		return fmt.Errorf("--out %s: %w", *out, err)
	}
	for _, p := range paths {
		fmt.Fprintln(e.stdout, p)
	}
	return nil
}

// parseFormats reads --formats: figure formats, comma-separated.
func parseFormats(s string) ([]string, error) {
	fmts := splitList(s)
	for _, f := range fmts {
		if !slices.Contains(plot.Formats, f) {
			return nil, fmt.Errorf("--formats: unknown format %q (have %v)", f, plot.Formats)
		}
	}
	if len(fmts) == 0 {
		return nil, fmt.Errorf("--formats: no format given")
	}
	return fmts, nil
}

// saliencyPlotFlags choose the saliency pictures.
type saliencyPlotFlags struct {
	file, levels, module, model, target string
	text, cont                          int
	sched                               scheduleFlags
}

func (f *saliencyPlotFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.file, "saliency", "", "saliency file (the JSONL 'sdtp saliency' writes): draw its per-block heatmap, sparsity statistics and, with a schedule or --module, the tokens each stage keeps")
	fs.IntVar(&f.text, "text", 0, "with --saliency: the example text, by its place in the file (0: the first)")
	fs.StringVar(&f.levels, "levels", "0.5,0.8,0.9", "with --saliency: shares of the saliency mass the sparsity statistics report, comma-separated")
	fs.IntVar(&f.cont, "continuation", -1, "with --saliency: tokens at the end of the example that pruning never drops (-1: the file's continuation)")
	f.sched.register(fs, "with --saliency, whose kept tokens to draw (default with --module: the module's)")
	fs.StringVar(&f.module, "module", "", "with --saliency: pruning module whose scores choose the kept tokens (needs --model); without it the saliency oracle does")
	fs.StringVar(&f.model, "model", "", "with --module: the model the saliency file was computed on (a Hugging Face folder or llama2.c .bin)")
	fs.StringVar(&f.target, "target", "abs", "with --saliency and no --module: the oracle's importance, abs (|π̂|), neg (−π̂) or signed (π̂)")
}

// plotSaliency draws the saliency figures, writes the summary as JSON and
// prints the sparsity table.
func plotSaliency(ctx context.Context, e *env, f *saliencyPlotFlags, out string, fmts []string) error {
	var levels []float64
	for _, s := range splitList(f.levels) {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("--levels: %q is not a number", s)
		}
		levels = append(levels, v)
	}
	h, recs, err := train.ReadSaliency(f.file)
	if err != nil {
		return fmt.Errorf("--saliency: %w", err)
	}
	cont := h.Continuation
	if f.cont >= 0 {
		cont = f.cont
	}
	sum, err := train.Summarise(h, recs, levels, f.text, cont)
	if err != nil {
		return err
	}
	if err := keepExample(ctx, f, &sum.Example, h.Layers); err != nil {
		return err
	}
	js, err := json.MarshalIndent(sum, "", " ")
	if err != nil {
		return err
	}
	heading := fmt.Sprintf("%s — saliency of %d texts (%s)", filepath.Base(h.Meta.Model), len(recs), filepath.Base(f.file))
	paths, err := plot.WriteSaliency(out, sum, heading, fmts...)
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	summary := filepath.Join(out, "saliency-summary.json")
	if err := atomicfile.WriteFile(summary, append(js, '\n')); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := sum.WriteTable(e.stdout); err != nil {
		return err
	}
	if k := sum.Example.Kept; k != nil {
		fmt.Fprintf(e.stdout, "\ntext %d (%d prompt tokens), %s, scores: %s; tokens alive after each stage: ", f.text, sum.Example.Prompt, k.Schedule, k.Scorer)
		for i, a := range k.Alive {
			if i > 0 {
				fmt.Fprint(e.stdout, ", ")
			}
			fmt.Fprint(e.stdout, len(a))
		}
		fmt.Fprintln(e.stdout)
	}
	fmt.Fprintln(e.stdout)
	for _, p := range append(paths, summary) {
		fmt.Fprintln(e.stdout, p)
	}
	return nil
}

// keepExample records the tokens each stage keeps when a schedule or a
// module was given.
func keepExample(ctx context.Context, f *saliencyPlotFlags, ex *train.SaliencyExample, layers int) error {
	schedGiven := f.sched.preset != "" || f.sched.layers != "" || f.sched.ratio != 0
	if f.module == "" && !schedGiven {
		return nil
	}
	tgt, err := train.ParseTarget(f.target)
	if err != nil {
		return fmt.Errorf("--target: %w", err)
	}
	o := train.KeptOptions{Target: tgt}
	var def *prune.Schedule
	if f.module != "" {
		if f.model == "" {
			return fmt.Errorf("--module needs --model (the module scores the model's hidden states)")
		}
		if o.Module, err = prune.Load(f.module); err != nil {
			return fmt.Errorf("--module: %w", err)
		}
		m, closeModel, err := train.Open(f.model, train.OpenOptions{Backend: train.HostBackend})
		if err != nil {
			return fmt.Errorf("--model: %w", err)
		}
		defer closeModel()
		c := m.Config()
		if c.Layers != layers {
			return fmt.Errorf("--model has %d blocks, the saliency file %d: another model", c.Layers, layers)
		}
		if err := o.Module.Check(c.Hidden, c.Layers); err != nil {
			return fmt.Errorf("--module %s: %w", f.module, err)
		}
		o.Model, def = m, &o.Module.Schedule
	}
	if o.Schedule, err = f.sched.schedule(layers, def); err != nil {
		return err
	}
	return ex.Keep(ctx, o)
}
