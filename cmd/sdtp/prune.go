package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/session"
)

func runPrune(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintln(verbUsageOut(e, args), "Usage: sdtp prune init --model M --out FILE [--prune PRESET | --prune-layers L --keep-ratio R] [--width H] [--seed S]\n       sdtp prune show FILE\n\n'init' writes a module with deterministic random weights: its scores are meaningless, its cost is real,\nso it serves latency work (latency does not depend on the scores). 'show' prints a module's header.")
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "init":
		return runPruneInit(ctx, e, args[1:])
	case "show":
		return runPruneShow(e, args[1:])
	}
	return fmt.Errorf("unknown verb %q (want init or show)", args[0])
}

func runPruneInit(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "prune init", "prune init --model M --out FILE [--prune PRESET | --prune-layers L --keep-ratio R] [--width H] [--seed S]")
	spec := fs.String("model", "", "model the module is for: a Hugging Face folder, a llama2.c .bin, or synthetic:NAME (only its config is read)")
	out := fs.String("out", "", "module file to write (safetensors)")
	preset := fs.String("prune", "paper", "keep schedule: "+prune.Presets)
	layers := fs.String("prune-layers", "", "explicit pruning locations, comma-separated block indices (overrides --prune)")
	ratio := fs.Float64("keep-ratio", prune.PaperRatio, "keep ratio per stage with --prune-layers, in (0,1]")
	width := fs.Int("width", 0, "hidden width of each module MLP (0: hidden size / 4)")
	seed := fs.Uint64("seed", 1, "seed of the random weights")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *spec == "" || *out == "" {
		return fmt.Errorf("--model and --out are required")
	}
	c, err := model.ReadConfig(*spec)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	pf := session.Pruning{Preset: *preset} // --keep-ratio's default belongs to --prune-layers
	if *layers != "" {
		pf = session.Pruning{Layers: *layers, Ratio: *ratio}
	}
	s, err := pf.Schedule(c.Layers, nil)
	if err != nil {
		return err
	}
	if *width < 0 {
		return fmt.Errorf("--width %d must not be negative", *width)
	}
	if *width > 0 {
		if err := prune.CheckWidth(*width, c.Hidden); err != nil {
			return fmt.Errorf("--width: %w", err)
		}
	}
	m, err := prune.NewRandom(prune.ModelInfo{Name: c.Name, Arch: c.Arch, Hidden: c.Hidden, Layers: c.Layers}, s, *width, *seed)
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: random module for %s (hidden %d, %d layers), %s, width %d\n", *out, c.Name, c.Hidden, c.Layers, s, m.Width)
	return nil
}

func runPruneShow(e *env, args []string) error {
	fs := newFlags(e, "prune show", "prune show FILE\n\nPrints a pruning-module file's header: the model it is for, its schedule, its MLP width and how it was made.")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	m, err := prune.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	training := "none recorded"
	if len(m.Training) > 0 {
		js, _ := json.Marshal(m.Training) // compacted; Load has checked it is JSON
		training = string(js)
	}
	fmt.Fprintf(e.stdout, "model: %s (%s, hidden %d, %d layers)\nschedule: %s\nwidth: %d\ntraining: %s\n", m.Model.Name, m.Model.Arch, m.Model.Hidden, m.Model.Layers, m.Schedule, m.Width, training)
	return nil
}
