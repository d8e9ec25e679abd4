package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/progress"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/session"
	"github.com/sdtp/sdtp/tokenizer"
	"github.com/sdtp/sdtp/train"
)

const trainUsage = `Usage: sdtp train --model M --data FILE --out MODULE [--prune PRESET | --prune-layers L --keep-ratio R] [flags]
       sdtp train eval --model M --data FILE --module A[,B...] [flags]
       sdtp train corpus --model M --texts N --seed S --out FILE [flags]
       sdtp train bench --model M [--backend cuda] [--lengths 512,1K,2K,4K,8K] [flags]
       sdtp train download [--dir D]
       sdtp train sweep --model M --data FILE --heldout FILE --schedules 'L:R ...' --out DIR [flags]

'train' fits pruning modules in front of a frozen model: on the host CPU in float64
(--backend cpu, the reference) or on a GPU (--backend cuda), L = L_cls + L_mse +
L_rank + keep-ratio loss, pruning simulated by straight-through Gumbel-softmax masks
inside attention. 'train eval' compares modules with random and keep-most-recent
scores on held-out texts. 'train corpus' samples a JSONL corpus from the model itself.
'train bench' measures saliency and training speed and memory on a GPU and projects
a recipe's wall time. 'train download' fetches databricks-dolly-15k (the paper's
data). 'train sweep' trains and evaluates modules over schedules and loss variants
(the paper's ablations) and tabulates and plots quality against FLOPs
(docs/ABLATIONS.md). See docs/TRAINING.md. 'sdtp train VERB --help' lists a verb's flags.`

func runTrain(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "eval":
			return runTrainEval(ctx, e, args[1:])
		case "corpus":
			return runTrainCorpus(ctx, e, args[1:])
		case "bench":
			return runTrainBench(ctx, e, args[1:])
		case "download":
			return runTrainDownload(ctx, e, args[1:])
		case "sweep":
			return runTrainSweep(ctx, e, args[1:])
		}
	}
	return runTrainFit(ctx, e, args)
}

// newMeta is the meta block of a train command's result file.
func newMeta(e *env, f *dataFlags) train.Meta {
	return train.NewMeta(e.argv, f.model, f.backendName(), f.data)
}

// dataFlags choose the texts a command reads.
type dataFlags struct {
	model, tokenizer, data, format string
	maxTokens, minTokens, limit    int
	workers                        int
	backend                        string
	device                         int

	fs       *flag.FlagSet
	need     int    // the fewest tokens a text needs for the command
	needWhat string // the flag that asks for them, for errors
}

// requireTokens says that the command needs texts of at least need tokens
// because of what (a flag and its value). An unset --min-tokens is raised
// to need; load refuses a smaller explicit one and a --max-tokens below it.
func (f *dataFlags) requireTokens(need int, what string) {
	f.need, f.needWhat = need, what
}

func (f *dataFlags) register(fs *flag.FlagSet, minTokens int) {
	f.fs = fs
	fs.StringVar(&f.model, "model", "", "model: a Hugging Face folder or a llama2.c .bin checkpoint")
	fs.StringVar(&f.backend, "backend", train.HostBackend, "where the frozen model runs: cpu (the host in float64: the reference, for small models), cpu-f32 (the CPU backend in float32 through the device path, for models of tens of millions of parameters), or cuda (the GPU, bf16 weights and activations; cuda-f32 keeps float32)")
	fs.IntVar(&f.device, "device", 0, "GPU index with --backend cuda")
	fs.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer: tokenizer.json, a llama2.c tokenizer.bin, or a folder (default: the model folder)")
	fs.StringVar(&f.data, "data", "", "JSONL texts: {\"text\": ...} rows, or databricks-dolly-15k rows (instruction, context, response, category)")
	fs.StringVar(&f.format, "data-format", "auto", "row layout: auto (from the first row), text, or dolly")
	fs.IntVar(&f.maxTokens, "max-tokens", 512, "maximum sequence length: longer texts keep their first tokens")
	fs.IntVar(&f.minTokens, "min-tokens", minTokens, "texts with fewer tokens (after truncation) are skipped; when not given, at least what --continuation needs")
	fs.IntVar(&f.limit, "limit", 0, "use only the first N texts of the file (0: all)")
	fs.IntVar(&f.workers, "workers", 0, "texts processed at once on --backend cpu (0: all cores; a GPU takes one at a time); results do not depend on it")
}

// backendName describes where the model runs, for result files.
func (f *dataFlags) backendName() string {
	if f.backend == train.HostBackend {
		return "host float64 (train/lm)"
	}
	return f.backend + " (train/dlm)"
}

// load checks the flags, then opens the model (on the host or a GPU, by
// --backend) and reads and tokenizes the texts; the caller closes them.
func (f *dataFlags) load(e *env) (*train.Texts, error) {
	switch {
	case f.model == "":
		return nil, fmt.Errorf("--model is required")
	case f.data == "":
		return nil, fmt.Errorf("--data is required")
	case f.maxTokens < max(2, f.need):
		if f.need > 2 {
			return nil, fmt.Errorf("--max-tokens %d is too short: %s needs texts of at least %d tokens", f.maxTokens, f.needWhat, f.need)
		}
		return nil, fmt.Errorf("--max-tokens %d must be at least 2", f.maxTokens)
	case f.minTokens < f.need && flagSet(f.fs, "min-tokens"):
		return nil, fmt.Errorf("--min-tokens %d is too small: %s needs texts of at least %d tokens", f.minTokens, f.needWhat, f.need)
	}
	f.minTokens = max(f.minTokens, f.need)
	switch {
	case f.minTokens < 2 || f.minTokens > f.maxTokens:
		return nil, fmt.Errorf("--min-tokens %d must be in [2, --max-tokens %d]", f.minTokens, f.maxTokens)
	case f.limit < 0 || f.workers < 0:
		return nil, fmt.Errorf("--limit and --workers must not be negative")
	}
	if f.device < 0 {
		return nil, fmt.Errorf("--device %d must not be negative", f.device)
	}
	return f.texts(e, true)
}

// texts reads and tokenizes --data, after opening the model (by --backend)
// when withModel.
func (f *dataFlags) texts(e *env, withModel bool) (*train.Texts, error) {
	tok, err := needTokenizer(f.model, f.tokenizer)
	if err != nil {
		return nil, err
	}
	read := train.ReadTexts
	if withModel {
		read = train.LoadTexts
	}
	t, err := read(train.TextOptions{Model: f.model, Open: train.OpenOptions{Backend: f.backend, Device: f.device}, Tokenizer: tok,
		Data: f.data, Format: f.format, MaxTokens: f.maxTokens, MinTokens: f.minTokens, Limit: f.limit})
	if err != nil {
		return nil, err
	}
	if t.Skipped > 0 {
		fmt.Fprintf(e.stderr, "sdtp: %d of %d texts in %s have fewer than %d tokens and are skipped\n", t.Skipped, t.Read, f.data, f.minTokens)
	}
	return t, nil
}

// needTokenizer opens the tokenizer of a command that reads text.
func needTokenizer(model, path string) (tokenizer.Tokenizer, error) {
	tok, err := session.OpenTokenizer(model, path)
	if err == nil && tok == nil {
		err = fmt.Errorf("--tokenizer is required (the model folder has no tokenizer.json)")
	}
	return tok, err
}

// scheduleFlags choose a keep schedule.
type scheduleFlags struct {
	preset, layers string
	ratio          float64
}

func (f *scheduleFlags) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&f.preset, "prune", "", "keep schedule "+what+": "+prune.Presets)
	fs.StringVar(&f.layers, "prune-layers", "", "explicit pruning locations, comma-separated block indices (e.g. 1,2,3,4 for a 5-layer model); needs --keep-ratio")
	fs.Float64Var(&f.ratio, "keep-ratio", 0, "fraction of the survivors each stage keeps, in (0,1]: with --prune-layers, or (train eval) over the module's own locations")
}

func (f *scheduleFlags) schedule(layers int, def *prune.Schedule) (prune.Schedule, error) {
	return session.Pruning{Preset: f.preset, Layers: f.layers, Ratio: f.ratio}.Schedule(layers, def)
}

func runTrainFit(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train", "")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags of 'sdtp train':\n", trainUsage)
		fs.PrintDefaults()
	}
	var df dataFlags
	df.register(fs, 48)
	var sf scheduleFlags
	sf.register(fs, "to train for")
	out := fs.String("out", "", "module file to write (safetensors, read by --prune-module); written once, at the end, atomically")
	var tf trainFlags
	tf.register(fs)
	ckpt := fs.String("checkpoint", "", "checkpoint file (default: OUT.ckpt)")
	every := fs.Int("checkpoint-every", 25, "steps between checkpoints")
	resume := fs.Bool("resume", false, "continue from the checkpoint when it exists (same flags and data required)")
	logPath := fs.String("log", "", "per-step loss log, JSONL (default: OUT.log.jsonl)")
	recipe := fs.String("recipe", "", "a documented recipe's defaults for the flags not given: "+recipeNames()+" (docs/TRAINING.md)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := applyRecipe(fs, *recipe); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	if *ckpt == "" {
		*ckpt = *out + ".ckpt"
	}
	if *logPath == "" {
		*logPath = *out + ".log.jsonl"
	}
	for _, o := range []struct{ flag, path string }{{"--out", *out}, {"--checkpoint", *ckpt}, {"--log", *logPath}} {
		if err := atomicfile.CheckTarget(o.path); err != nil {
			return fmt.Errorf("%s %w", o.flag, err)
		}
	}
	if err := tf.check(); err != nil {
		return err
	}
	if *every < 1 {
		return fmt.Errorf("--checkpoint-every must be at least 1")
	}
	df.requireTokens(tf.cont+16, fmt.Sprintf("--continuation %d (with a prompt of 16 or more before it)", tf.cont))
	tx, err := df.load(e)
	if err != nil {
		return err
	}
	defer tx.Close()
	m := tx.Model
	sched, err := sf.schedule(m.Config().Layers, nil)
	if err != nil {
		return err
	}
	cfg, err := tf.config(m.Config().Hidden)
	if err != nil {
		return err
	}
	cfg.Locations, cfg.Ratio = sched.Locations, sched.Ratio
	texts := tx.IDs
	if *resume {
		if _, err := os.Stat(*ckpt); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(e.stderr, "--resume: no checkpoint at %s yet; starting afresh\n", *ckpt)
		}
	}
	pr := progress.New(e.stderr)
	run := &train.Run{Model: m, Texts: texts, Config: cfg, Checkpoint: *ckpt, CheckpointEvery: *every, Resume: *resume, LogPath: *logPath, Workers: df.workers,
		Progress: func(p train.Progress) {
			switch p.Phase {
			case "resume":
				if p.Warning != "" {
					fmt.Fprintf(e.stderr, "warning: %s\n", p.Warning)
				}
				fmt.Fprintf(e.stderr, "resuming from %s at step %d of %d\n", *ckpt, p.Done, p.Total)
			case "train":
				pr.Update("train", p.Done, p.Total, "loss", fmt.Sprintf("%.4f", p.Terms.Total))
			default:
				pr.Update(p.Phase, p.Done, p.Total)
			}
		}}
	started := time.Now()
	res, err := run.Train(ctx)
	pr.End()
	if err != nil {
		return err
	}
	rec := train.NewRecord(df.data, len(texts), df.maxTokens, cfg, res)
	if df.backend != train.HostBackend {
		rec.Backend = df.backendName()
	}
	js, err := rec.JSON()
	if err != nil {
		return err
	}
	mod, err := res.Params.ToModule(sched, train.ModelInfo(m), js)
	if err != nil {
		return err
	}
	if err := mod.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s, width %d, %d texts, %d steps in %s; loss %.4f (first epoch) -> %.4f (last epoch) [cls %.4f mse %.4f rank %.4f ratio %.5f]\n",
		*out, sched, mod.Width, len(texts), res.Steps, time.Since(started).Round(time.Second), res.First.Total, res.Last.Total, res.Last.Cls, res.Last.MSE, res.Last.Rank, res.Last.Ratio)
	return nil
}

func runTrainEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train eval", "train eval --model M --data FILE --module A[,B...] [flags]")
	var df dataFlags
	df.register(fs, 64)
	var sf scheduleFlags
	sf.register(fs, "to evaluate at (default: the first module's; locations must match every module's)")
	modules := fs.String("module", "", "module files to evaluate, comma-separated (each is named by its file name without extension)")
	cont := fs.Int("continuation", 32, "tokens at the end of each text that play decoded tokens; the rest is the pruned prompt")
	target := fs.String("target", "", "saliency importance to correlate with: abs, neg or signed (default: the first module's training target, else abs)")
	over := fs.String("saliency-over", "", "positions the saliency's T averages: continuation or sequence (default: the first module's training setting, else continuation)")
	seed := fs.Uint64("random-seed", 1, "seed of the random-score baseline (text i uses seed+i)")
	outPath := fs.String("out", "", "also write the JSON report to this file")
	asJSON := fs.Bool("json", false, "print the JSON report instead of tables")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	paths := splitList(*modules)
	if len(paths) == 0 {
		return fmt.Errorf("--module is required")
	}
	if *cont < 1 {
		return fmt.Errorf("--continuation %d must be at least 1", *cont)
	}
	if *outPath != "" {
		if err := atomicfile.CheckTarget(*outPath); err != nil {
			return fmt.Errorf("--out %w", err)
		}
	}
	df.requireTokens(*cont+2, fmt.Sprintf("--continuation %d (with a prompt of 2 or more before it)", *cont))
	tx, err := df.load(e)
	if err != nil {
		return err
	}
	defer tx.Close()
	m := tx.Model
	c := m.Config()
	var mods []*prune.Module
	for _, p := range paths {
		mod, err := prune.Load(p)
		if err != nil {
			return fmt.Errorf("--module: %w", err)
		}
		if err := mod.Check(c.Hidden, c.Layers); err != nil {
			return fmt.Errorf("--module %s: %w", p, err)
		}
		mods = append(mods, mod)
	}
	sched, err := sf.schedule(c.Layers, &mods[0].Schedule)
	if err != nil {
		return err
	}
	for i, mod := range mods {
		if !slices.Equal(mod.Schedule.Locations, sched.Locations) {
			return fmt.Errorf("--module %s: locations %v differ from the evaluated schedule's %v", paths[i], mod.Schedule.Locations, sched.Locations)
		}
	}
	trainedTarget, trainedOver, err := train.TrainedSaliency(mods[0])
	if err != nil {
		return fmt.Errorf("--module %s: %w", paths[0], err)
	}
	if *target == "" {
		*target = string(trainedTarget)
	}
	if *over == "" {
		*over = trainedOver
	}
	if *over != "continuation" && *over != "sequence" {
		return fmt.Errorf("--saliency-over %q: want continuation or sequence", *over)
	}
	tgt, err := train.ParseTarget(*target)
	if err != nil {
		return fmt.Errorf("--target: %w", err)
	}
	scorers := train.EvalScorers(mods, paths, *seed, c.Hidden)
	pr := progress.New(e.stderr)
	rep, err := train.Evaluate(ctx, m, tx.IDs, train.EvalConfig{Schedule: sched, Continuation: *cont, Target: tgt, WholeSequenceSaliency: *over == "sequence", Workers: df.workers},
		scorers, func(done, total int) { pr.Update("eval", done, total) })
	pr.End()
	if err != nil {
		return err
	}
	mt := newMeta(e, &df)
	mt.Schedule = sched.String()
	out := train.EvalFile{Meta: mt, Report: rep, Config: train.EvalFileConfig{Locations: sched.Locations, Ratio: sched.Ratio, Continuation: *cont, Target: string(tgt), SaliencyOver: *over, Modules: paths, RandomSeed: *seed}}
	js, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if *outPath != "" {
		if err := atomicfile.WriteFile(*outPath, append(js, '\n')); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if *asJSON {
		_, err := fmt.Fprintln(e.stdout, string(js))
		return err
	}
	rep.WriteTables(e.stdout, sched, *cont)
	return nil
}

func runTrainCorpus(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train corpus", "train corpus --model M [--tokenizer T] --texts N --seed S --out FILE [flags]")
	spec := fs.String("model", "", "model to sample from: a Hugging Face folder or a llama2.c .bin checkpoint (run on the CPU backend)")
	tokPath := fs.String("tokenizer", "", "tokenizer: tokenizer.json, a llama2.c tokenizer.bin, or a folder (default: the model folder)")
	n := fs.Int("texts", 1000, "number of texts")
	seed := fs.Uint64("seed", 1, "text i is sampled with seed S+i")
	maxTok := fs.Int("max-tokens", 400, "most tokens generated per text")
	temp := fs.Float64("temperature", 1, "sampling temperature (0: greedy, which gives one text)")
	topP := fs.Float64("top-p", 1, "nucleus sampling threshold in (0, 1]")
	workers := fs.Int("workers", 0, "texts sampled at once, each on its own single-thread CPU backend (0: all cores)")
	out := fs.String("out", "", "JSONL file to write, one {\"text\": ...} row per text in seed order (empty samples left out), written atomically")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *spec == "" || *out == "":
		return fmt.Errorf("--model and --out are required")
	case checkSampling(*temp, *topP) != nil:
		return checkSampling(*temp, *topP)
	case *workers < 0:
		return fmt.Errorf("--workers %d must not be negative", *workers)
	}
	if err := atomicfile.CheckTarget(*out); err != nil {
		return fmt.Errorf("--out %w", err)
	}
	tok, err := needTokenizer(*spec, *tokPath)
	if err != nil {
		return err
	}
	pr := progress.New(e.stderr)
	jsonl, written, sampled, err := train.SampleCorpus(ctx, *spec, tok, *workers, train.CorpusConfig{Texts: *n, Seed: *seed, MaxTokens: *maxTok, Temperature: *temp, TopP: *topP},
		func(done, total int) { pr.Update("corpus", done, total) })
	pr.End()
	if err != nil {
		return err
	}
	if written == 0 {
		return fmt.Errorf("all %d samples are empty (each ended at once); nothing written to %s", sampled, *out)
	}
	if err := atomicfile.WriteFile(*out, jsonl); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	empty := ""
	if written < sampled {
		empty = fmt.Sprintf("; %d empty samples left out", sampled-written)
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d texts sampled from %s (seeds %d..%d, temperature %g, top-p %g, at most %d tokens%s)\n",
		*out, written, *spec, *seed, *seed+uint64(*n)-1, *temp, *topP, *maxTok, empty)
	return nil
}

// checkSampling checks --temperature and --top-p.
func checkSampling(temp, topP float64) error {
	switch {
	case !nonNegative(temp):
		return fmt.Errorf("--temperature %v must be finite and >= 0", temp)
	case !(topP > 0 && topP <= 1):
		return fmt.Errorf("--top-p %v must be in (0, 1]", topP)
	}
	return nil
}

// positive reports whether x is a finite number above 0.
func positive(x float64) bool { return x > 0 && !math.IsInf(x, 0) }

// nonNegative reports whether x is a finite number at or above 0.
func nonNegative(x float64) bool { return x >= 0 && !math.IsInf(x, 0) }

// flagSet reports whether the named flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// recipes are documented training set-ups: flag values applied where the
// command line gives none (docs/TRAINING.md).
var recipes = []struct {
	name  string
	flags [][2]string
}{
	// The stories260K experiment of docs/TRAINING.md.
	{"stories260K", [][2]string{{"max-tokens", "256"}, {"prune-layers", "3,4"}, {"keep-ratio", "0.6"}, {"epochs", "4"}}},
	// The SDTP paper's: two epochs over databricks-dolly-15k, its schedule.
	{"paper", [][2]string{{"data-format", "dolly"}, {"prune", "paper"}, {"epochs", "2"}, {"max-tokens", "2048"}}},
}

func recipeNames() string {
	var names []string
	for _, r := range recipes {
		names = append(names, r.name)
	}
	return strings.Join(names, ", ")
}

// applyRecipe sets the recipe's flag values that the command line left unset.
func applyRecipe(fs *flag.FlagSet, name string) error {
	if name == "" {
		return nil
	}
	for _, r := range recipes {
		if r.name != name {
			continue
		}
		explicit := flagSet(fs, "prune") || flagSet(fs, "prune-layers") || flagSet(fs, "keep-ratio")
		for _, kv := range r.flags {
			schedule := kv[0] == "prune" || kv[0] == "prune-layers" || kv[0] == "keep-ratio"
			if flagSet(fs, kv[0]) || (schedule && explicit) {
				continue // the command line's own value, or its own schedule
			}
			if err := fs.Set(kv[0], kv[1]); err != nil {
				return fmt.Errorf("--recipe %s: --%s %s: %w", name, kv[0], kv[1], err)
			}
		}
		return nil
	}
	return fmt.Errorf("--recipe %q: want one of %s", name, recipeNames())
}

// trainFlags are the training settings 'train' and 'train sweep' share.
type trainFlags struct {
	width, warmup, epochs, batch, cont, pairs int
	lr, wd, clip, tau                         float64
	seed                                      uint64
	wCls, wMSE, wRank, wRatio                 float64
	noRank, noMSE, whole, teacher             bool
	target                                    string
}

func (f *trainFlags) register(fs *flag.FlagSet) {
	def := train.DefaultLossConfig()
	fs.IntVar(&f.width, "width", 0, "hidden width of each module MLP (0: hidden size / 4)")
	fs.Float64Var(&f.lr, "lr", 3e-3, "peak learning rate of AdamW (linear warm-up, then cosine decay to a tenth)")
	fs.IntVar(&f.warmup, "warmup", 20, "warm-up steps")
	fs.Float64Var(&f.wd, "weight-decay", 0.01, "AdamW decoupled weight decay")
	fs.IntVar(&f.epochs, "epochs", 4, "passes over the texts")
	fs.IntVar(&f.batch, "batch", 8, "texts per optimiser step (gradients accumulated)")
	fs.Float64Var(&f.clip, "clip", 1, "rescale a batch gradient whose norm exceeds this to this norm (0: off)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the initial weights, the text order, the Gumbel noise and the ranking pairs")
	fs.Float64Var(&f.wCls, "w-cls", def.Weights.Cls, "weight of L_cls, the next-token loss under simulated pruning")
	fs.Float64Var(&f.wMSE, "w-mse", def.Weights.MSE, "weight of L_mse, squared error of centred scores against standardised saliency importance")
	fs.Float64Var(&f.wRank, "w-rank", def.Weights.Rank, "weight of L_rank, pairwise logistic loss over pairs ordered by saliency")
	fs.Float64Var(&f.wRatio, "w-ratio", def.Weights.Ratio, "weight of the keep-ratio loss")
	fs.BoolVar(&f.noRank, "no-rank", false, "ablation: switch L_rank off")
	fs.BoolVar(&f.noMSE, "no-mse", false, "ablation: switch L_mse off")
	fs.Float64Var(&f.tau, "tau", def.Tau, "Gumbel-softmax temperature")
	fs.IntVar(&f.cont, "continuation", def.Continuation, "tokens at the end of each text that play decoded tokens: never pruned, and L_cls is their next-token loss (0: prune the whole text, L_cls over every position)")
	fs.BoolVar(&f.whole, "saliency-whole-sequence", false, "take the saliency targets' T over the whole sequence instead of the continuation's predictions")
	fs.BoolVar(&f.teacher, "teacher", false, "L_cls against the unpruned model's next-token distributions (soft labels) instead of the text's next tokens")
	fs.IntVar(&f.pairs, "rank-pairs", def.MaxPairs, "ranking pairs per stage and text; more are subsampled at random")
	fs.StringVar(&f.target, "target", string(def.Target), "saliency importance the modules rank by: abs (|π̂|), neg (−π̂) or signed (π̂)")
}

// check validates the flags that need no model.
func (f *trainFlags) check() error {
	if f.width < 0 {
		return fmt.Errorf("--width %d must not be negative", f.width)
	}
	if _, err := train.ParseTarget(f.target); err != nil {
		return fmt.Errorf("--target: %w", err)
	}
	if f.cont < 0 {
		return fmt.Errorf("--continuation %d must not be negative", f.cont)
	}
	for _, c := range []struct {
		name string
		bad  bool
		why  string
	}{
		{"--epochs", f.epochs < 1, "at least 1"}, {"--batch", f.batch < 1, "at least 1"},
		{"--rank-pairs", f.pairs < 1, "at least 1"}, {"--lr", !positive(f.lr), "positive and finite"}, {"--tau", !positive(f.tau), "positive and finite"},
		{"--warmup", f.warmup < 0, "non-negative"}, {"--weight-decay", !nonNegative(f.wd), "finite and non-negative"}, {"--clip", !nonNegative(f.clip), "finite and non-negative (0: no clipping)"},
		{"--w-cls", !nonNegative(f.wCls), "finite and non-negative"}, {"--w-mse", !nonNegative(f.wMSE), "finite and non-negative"}, {"--w-rank", !nonNegative(f.wRank), "finite and non-negative"}, {"--w-ratio", !nonNegative(f.wRatio), "finite and non-negative"},
	} {
		if c.bad {
			return fmt.Errorf("%s must be %s", c.name, c.why)
		}
	}
	return nil
}

// config is the training configuration the flags give, for a model of
// the given hidden size, without a schedule.
func (f *trainFlags) config(hidden int) (train.Config, error) {
	if f.width > 0 {
		if err := prune.CheckWidth(f.width, hidden); err != nil {
			return train.Config{}, fmt.Errorf("--width: %w", err)
		}
	}
	tgt, err := train.ParseTarget(f.target)
	if err != nil {
		return train.Config{}, fmt.Errorf("--target: %w", err)
	}
	loss := train.LossConfig{Weights: train.Weights{Cls: f.wCls, MSE: f.wMSE, Rank: f.wRank, Ratio: f.wRatio}, Tau: f.tau, Target: tgt, Continuation: f.cont, WholeSequenceSaliency: f.whole, Teacher: f.teacher, MaxPairs: f.pairs}
	if f.noRank {
		loss.Weights.Rank = 0
	}
	if f.noMSE {
		loss.Weights.MSE = 0
	}
	return train.Config{Width: f.width, Loss: loss, LR: f.lr, Warmup: f.warmup, WeightDecay: f.wd, Epochs: f.epochs, Batch: f.batch, Clip: f.clip, Seed: f.seed}, nil
}
