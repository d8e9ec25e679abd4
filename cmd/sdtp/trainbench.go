package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train"
)

// dollyRows is the number of rows of databricks-dolly-15k.
const dollyRows = 15011

func runTrainBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train bench", "train bench --model M [--backend cuda] [--lengths 512,1K,2K,4K,8K] [flags]")
	var df dataFlags
	df.register(fs, 2)
	fs.Lookup("backend").DefValue = "cuda"
	df.backend = "cuda"
	fs.Lookup("model").Usage = "model: a Hugging Face folder, a llama2.c .bin checkpoint, or synthetic:NAME (random weights: speed and memory do not depend on them)"
	fs.Lookup("data").Usage = "optional JSONL texts (with --tokenizer) whose token lengths the recipe projection uses; without it, every length measured is projected as if all texts had it"
	var sf scheduleFlags
	sf.register(fs, "of the training step (default paper)")
	lengths := fs.String("lengths", "512,1K,2K,4K,8K", "text lengths to measure, in tokens (K = 1024), ascending")
	repeats := fs.Int("repeats", 3, "timed runs per length after one warm-up; the median is reported")
	width := fs.Int("width", 0, "module MLP width (0: hidden/4)")
	cont := fs.Int("continuation", train.DefaultLossConfig().Continuation, "tokens at each text's end that play decoded tokens (as 'sdtp train')")
	seed := fs.Uint64("seed", 1, "seed of the token ids and the module's weights")
	texts := fs.Int("texts", dollyRows, "texts of the projected recipe without --data (15011: databricks-dolly-15k)")
	epochs := fs.Int("epochs", 2, "epochs of the projected recipe (the paper's: 2)")
	batch := fs.Int("batch", 8, "texts per optimiser step of the projected recipe")
	outPath := fs.String("out", "", "also write the result as JSON to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ls, err := bench.ParseLengths(*lengths)
	if err != nil {
		return fmt.Errorf("--lengths: %w", err)
	}
	switch {
	case df.model == "":
		return fmt.Errorf("--model is required")
	case *repeats < 1:
		return fmt.Errorf("--repeats %d must be at least 1", *repeats)
	case *texts < 1 || *epochs < 1 || *batch < 1:
		return fmt.Errorf("--texts, --epochs and --batch must be at least 1")
	case *cont < 0:
		return fmt.Errorf("--continuation %d must not be negative", *cont)
	}
	if *outPath != "" {
		if err := atomicfile.CheckTarget(*outPath); err != nil {
			return fmt.Errorf("--out %w", err)
		}
	}
	var dataLengths []int
	if df.data != "" {
		df.requireTokens(*cont+2, fmt.Sprintf("--continuation %d", *cont))
		df.minTokens = max(df.minTokens, *cont+2)
		tx, err := df.texts(e, false)
		if err != nil {
			return err
		}
		for _, ids := range tx.IDs {
			dataLengths = append(dataLengths, len(ids))
		}
	}
	fm, closeModel, err := train.Open(df.model, train.OpenOptions{Backend: df.backend, Device: df.device, Synthetic: true})
	if err != nil {
		return fmt.Errorf("--model %s on --backend %s: %w", df.model, df.backend, err)
	}
	defer closeModel()
	paper, err := prune.ParsePreset("paper", fm.Config().Layers)
	if err != nil {
		return err
	}
	sched, err := sf.schedule(fm.Config().Layers, &paper)
	if err != nil {
		return err
	}
	loss := train.DefaultLossConfig()
	loss.Continuation = *cont
	res, err := train.Bench(ctx, fm, train.BenchOptions{Lengths: ls, Repeats: *repeats, Schedule: sched, Width: *width, Loss: loss, Seed: *seed,
		Progress: func(what string) { fmt.Fprintf(e.stderr, "train bench: %s\n", what) }})
	if err != nil {
		return err
	}
	out := train.BenchFile{Meta: newMeta(e, &df), Result: res, Projections: res.Projections(df.data, dataLengths, *texts, *epochs, *batch)}
	out.Meta.Schedule = sched.String()
	if *outPath != "" {
		js, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*outPath, append(js, '\n')); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	out.WriteTables(e.stdout)
	return nil
}
