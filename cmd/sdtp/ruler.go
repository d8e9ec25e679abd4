package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/chat"
	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/runmeta"
	"github.com/sdtp/sdtp/plot"
	"github.com/sdtp/sdtp/ruler"
	"github.com/sdtp/sdtp/tokenizer"
)

// rulerLengths are RULER's lengths (scripts/config_models.sh SEQ_LENGTHS),
// the default of 'ruler run' up to the model's positions.
var rulerLengths = []int{4096, 8192, 16384, 32768, 65536, 131072}

// rulerDataVersion names the sample generator in meta.json: a run folder
// holds samples of one version only.
const rulerDataVersion = "sdtp-ruler-1"

// rulerVerbs are the sub-commands of `sdtp ruler`.
var rulerVerbs = []verb{
	{"tasks", "list the 11 tasks: family, haystack, needles, new tokens, metric", rulerTasks},
	{"prompt", "print one sample's prompt (answers and tokens on stderr)", rulerPrompt},
	{"export", "write samples with their answers as JSONL (to read, or to train a model on the task format)", rulerExport},
	{"run", "generate predictions for tasks × lengths × samples (resumable JSONL per task)", rulerRun},
	{"merge", "join the folders of a sharded run (run --shard I/N) into one run folder", rulerMerge},
	{"score", "score a run folder with RULER's string match, per task and length", rulerScore},
	{"report", "markdown tables comparing runs with the first (baseline), by length and task", rulerReport},
	{"plot", "draw accuracy against length per run (PNG and SVG)", rulerPlot},
}

func runRuler(ctx context.Context, e *env, args []string) error {
	return runVerb(ctx, e, "ruler", "RULER-style synthetic long-context tasks (docs/RULER.md).", rulerVerbs, args)
}

func rulerTasks(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "ruler tasks", "ruler tasks")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return ruler.WriteTasks(e.stdout)
}

// rulerTemplateHelp documents --chat-template for prompt and run.
func rulerTemplateHelp() string {
	return "chat template around the task text: none (RULER's base template) or one of " + strings.Join(chat.Names(), ", ") +
		"; default: detected from tokenizer_config.json beside the tokenizer, none if there is none"
}

// rulerSamples makes the sample generator for a tokenizer.
func rulerSamples(tok tokenizer.Tokenizer, tmpl evalrun.ChatTemplate, seed uint64) (*ruler.Generator, error) {
	opt := ruler.Options{Tokenizer: tok, Seed: seed}
	if tmpl != nil {
		opt.Template = tmpl.Apply
	}
	return ruler.NewGenerator(opt)
}

// rulerTasksAndLengths parses --tasks and --lengths.
func rulerTasksAndLengths(taskList, lengthList string) ([]ruler.Task, []int, error) {
	tasks, err := ruler.ParseTasks(taskList)
	if err != nil {
		return nil, nil, fmt.Errorf("--tasks: %w", err)
	}
	lengths, err := bench.ParseLengths(lengthList)
	if err != nil {
		return nil, nil, fmt.Errorf("--lengths: %w", err)
	}
	return tasks, lengths, nil
}

// rulerTokenizerSamples makes the sample generator of prompt and export:
// the tokenizer at path, the chat template named (or detected beside it).
func rulerTokenizerSamples(path, tmplName string, seed uint64) (*ruler.Generator, error) {
	tok, err := tokenizer.Load(path)
	if err != nil {
		return nil, fmt.Errorf("--tokenizer: %w", err)
	}
	tmpl, _, err := evalrun.ResolveTemplate(tmplName, path)
	if err != nil {
		return nil, err
	}
	return rulerSamples(tok, tmpl, seed)
}

func rulerPrompt(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ruler prompt", "ruler prompt --tokenizer TOK --task T [--length L] [--index I] [--seed S] [--chat-template NAME]")
	tokPath := fs.String("tokenizer", "", "the model's tokenizer (tokenizer.json, tokenizer.bin or a folder) (required)")
	taskName := fs.String("task", "", "task (see 'sdtp ruler tasks') (required)")
	lengthFlag := fs.String("length", "4K", "target length in the tokenizer's tokens (prompt plus the task's new tokens), e.g. 4096 or 4K")
	index := fs.Int("index", 0, "sample index, from 0")
	seed := fs.Uint64("seed", 42, "seed of the samples (RULER's default random_seed is 42)")
	tmplName := fs.String("chat-template", "", rulerTemplateHelp())
	if err := parseFlags(fs, args, "tokenizer", "task"); err != nil {
		return err
	}
	task, err := ruler.LookupTask(*taskName)
	if err != nil {
		return fmt.Errorf("--task: %w", err)
	}
	lengths, err := bench.ParseLengths(*lengthFlag)
	if err != nil || len(lengths) != 1 {
		return fmt.Errorf("--length %q: want one token count", *lengthFlag)
	}
	if *index < 0 {
		return fmt.Errorf("--index %d must not be negative", *index)
	}
	g, err := rulerTokenizerSamples(*tokPath, *tmplName, *seed)
	if err != nil {
		return err
	}
	s, err := g.Generate(ctx, task, lengths[0], *index)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(e.stdout, s.Prompt); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "\n[%s: %d prompt tokens + %d new tokens of %d; haystack %d; answers: %s]\n",
		s.ID, s.Tokens, s.NewTokens, s.Length, s.Haystack, strings.Join(s.Outputs, ", "))
	return nil
}

func rulerRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ruler run", "ruler run --model M --out DIR [--tasks T,...] [--lengths 4K,8K] [--samples N] [--prune-module F --prune P] [flags]")
	o, pf := registerModel(fs, "")
	out := fs.String("out", "", "output folder: one <task>.jsonl of predictions per task and meta.json (required; a run resumes there, and may be extended with more tasks, lengths or samples)")
	taskList := fs.String("tasks", "all", "comma-separated tasks, or all, or niah (the eight needle tasks)")
	lengthList := fs.String("lengths", "", "target lengths in the model's tokens, e.g. 4K,8K (default: RULER's 4K to 128K, those within the model's positions)")
	samples := fs.Int("samples", 100, "samples per task and length (RULER runs 500)")
	seed := fs.Uint64("seed", 42, "seed of the samples (RULER's default random_seed is 42)")
	tmplName := fs.String("chat-template", "", rulerTemplateHelp())
	ef := registerEngine(fs)
	hf := registerH2O(fs)
	if err := parseFlags(fs, args, "out"); err != nil {
		return err
	}
	kv, err := hf.budget()
	if err != nil {
		return err
	}
	if *samples < 1 {
		return fmt.Errorf("--samples %d: want at least 1", *samples)
	}
	tasks, err := ruler.ParseTasks(*taskList)
	if err != nil {
		return fmt.Errorf("--tasks: %w", err)
	}
	var lengths []int
	if *lengthList != "" {
		if lengths, err = bench.ParseLengths(*lengthList); err != nil {
			return fmt.Errorf("--lengths: %w", err)
		}
	}
	eng, err := ef.open(fs, "RULER", *o, *pf, kv)
	if err != nil {
		return err
	}
	defer eng.Close()
	sess := eng.sess
	if lengths, err = rulerRunLengths(lengths, sess.M.Config.MaxPos); err != nil {
		return err
	}
	tmpl, tmplUsed, err := evalrun.ResolveTemplate(*tmplName, o.Tokenizer, o.Model)
	if err != nil {
		return err
	}
	data, err := rulerSamples(sess.Tok, tmpl, *seed)
	if err != nil {
		return err
	}
	meta := evalrun.RunMeta{Meta: runmeta.New(e.argv),
		Info: map[string]string{"device": sess.B.Device(), "model_name": sess.M.Config.Name},
		Settings: map[string]string{"model": o.Model, "tokenizer": o.Tokenizer, "backend": sess.B.Name(), "pruning": pf.String(),
			"chat_template": tmplUsed, "seed": strconv.FormatUint(*seed, 10), "ruler_data": rulerDataVersion}}
	if kv != nil { // absent without: folders of earlier versions resume
		meta.Settings["h2o"] = kv.String()
	}
	eng.info(meta.Info)
	cfg := ruler.RunConfig{Out: *out, Tasks: tasks, Lengths: lengths, Samples: *samples, Data: data,
		Generator: eng.gen, InFlight: eng.inFlight, Shard: eng.shard, Meta: meta}
	return runSuite(e, "ruler", *out, func(p *evalrun.Progress) (evalrun.Stats, error) {
		cfg.Progress = p
		return ruler.Run(ctx, cfg)
	})
}

func rulerMerge(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "ruler merge", "ruler merge --out DIR --tasks T,... --lengths 4K,... --samples N SHARD_DIR...")
	out := fs.String("out", "", "the merged run folder (required; must not exist)")
	taskList := fs.String("tasks", "all", "the tasks the shards ran, as 'ruler run --tasks'")
	lengthList := fs.String("lengths", "", "the lengths the shards ran, as 'ruler run --lengths' (required)")
	samples := fs.Int("samples", 100, "the samples per task and length the shards ran")
	if err := parseArgs(fs, args, "out", "lengths"); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(fs.Output(), "sdtp %s: name the shard folders\n", fs.Name())
		fs.Usage()
		return errUsage
	}
	tasks, lengths, err := rulerTasksAndLengths(*taskList, *lengthList)
	if err != nil {
		return err
	}
	st, err := ruler.Merge(*out, fs.Args(), tasks, lengths, *samples)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d samples of %d tasks from %d shards in %s\n", st.Rows, st.Tasks, fs.NArg(), *out)
	return nil
}

// rulerRunLengths checks the lengths asked for against the model's
// positions (maxPos, 0 when unknown), or picks RULER's lengths that fit.
func rulerRunLengths(asked []int, maxPos int) ([]int, error) {
	if len(asked) == 0 {
		if maxPos <= 0 {
			return nil, fmt.Errorf("the model does not say how many positions it has: give --lengths")
		}
		for _, l := range rulerLengths {
			if l <= maxPos {
				asked = append(asked, l)
			}
		}
		if len(asked) == 0 {
			return nil, fmt.Errorf("the model's %d positions are fewer than RULER's shortest length (4K): give --lengths", maxPos)
		}
		return asked, nil
	}
	for _, l := range asked {
		if maxPos > 0 && l > maxPos {
			return nil, fmt.Errorf("--lengths: %d tokens exceed the model's %d positions", l, maxPos)
		}
	}
	return asked, nil
}

func rulerScore(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "ruler score", "ruler score --preds DIR [--json]")
	preds := fs.String("preds", "", "run folder of <task>.jsonl prediction files (required)")
	asJSON := fs.Bool("json", false, `print {"length": {"task": score, ...}, ...}`)
	if err := parseFlags(fs, args, "preds"); err != nil {
		return err
	}
	ds, err := ruler.ScoreDir(*preds)
	if err != nil {
		return fmt.Errorf("--preds: %w", err)
	}
	for _, t := range ds.Torn {
		fmt.Fprintf(e.stderr, "warning: %s.jsonl ends in a line cut short (a run still writing or killed); it was left out\n", t)
	}
	for _, s := range ds.Scores {
		if s.Failed > 0 {
			fmt.Fprintf(e.stderr, "warning: %d of the %d rows of %s at %d failed in the run and score 0 (see their error field)\n", s.Failed, s.Rows, s.Task, s.Length)
		}
	}
	if *asJSON {
		return ruler.WriteScoresJSON(e.stdout, ds.Scores)
	}
	return ruler.WriteScores(e.stdout, ds.Scores)
}

// rulerRuns reads --runs: comma-separated run folders, scored.
func rulerRuns(fs *flag.FlagSet, runs string) ([]string, []ruler.RunScores, error) {
	dirs := splitList(runs)
	if len(dirs) == 0 {
		return nil, nil, missingFlag(fs, "runs")
	}
	rs, err := ruler.ScoreRuns(dirs)
	if err != nil {
		return nil, nil, fmt.Errorf("--runs: %w", err)
	}
	return dirs, rs, nil
}

func rulerReport(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "ruler report", "ruler report --runs DIR1,DIR2,... [--out FILE]")
	runs := fs.String("runs", "", "comma-separated run folders; the first is the baseline (required)")
	outPath := fs.String("out", "", "write the markdown here instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, rs, err := rulerRuns(fs, *runs)
	if err != nil {
		return err
	}
	if *outPath == "" {
		return ruler.WriteReport(e.stdout, rs)
	}
	var b strings.Builder
	if err := ruler.WriteReport(&b, rs); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*outPath, []byte(b.String())); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

func rulerPlot(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "ruler plot", "ruler plot --runs DIR1,DIR2,... --out DIR [--formats png,svg]")
	runs := fs.String("runs", "", "comma-separated run folders (one line per run); the first is drawn as the baseline (required)")
	out := fs.String("out", "", "folder for the figures ruler-accuracy and ruler-tasks (created if missing) (required)")
	formats := fs.String("formats", "png,svg", "figure formats, comma-separated: png, svg")
	if err := parseFlags(fs, args, "out"); err != nil {
		return err
	}
	fmts, err := parseFormats(*formats)
	if err != nil {
		return err
	}
	dirs, rs, err := rulerRuns(fs, *runs)
	if err != nil {
		return err
	}
	figs, err := plot.RulerFigures(rulerHeading(dirs), rs)
	if err != nil {
		return err
	}
	paths, err := plot.WriteFigures(*out, figs, fmts...)
	if err != nil {
		return fmt.Errorf("--out %s: %w", *out, err)
	}
	for _, p := range paths {
		fmt.Fprintln(e.stdout, p)
	}
	return nil
}

// rulerHeading names the models of the runs (from their meta.json) above
// the figures.
func rulerHeading(dirs []string) string {
	var models []string
	for _, d := range dirs {
		if m, err := evalrun.ReadRunMeta(d); err == nil && m.Model() != "" && !slices.Contains(models, m.Model()) {
			models = append(models, m.Model())
		}
	}
	if len(models) == 0 {
		return "RULER"
	}
	return "RULER — " + strings.Join(models, ", ")
}
