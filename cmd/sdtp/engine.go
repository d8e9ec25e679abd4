package main

import (
	"flag"
	"strings"

	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/session"
)

// registerModel adds the flags of the commands that run a model: which
// model, tokenizer and backend (the session's options), and the pruning.
func registerModel(fs *flag.FlagSet, defaultModel string) (*session.Options, *session.Pruning) {
	o, p := &session.Options{}, &session.Pruning{}
	fs.StringVar(&o.Model, "model", defaultModel, "model: a Hugging Face folder, a llama2.c .bin checkpoint, or synthetic:NAME (random weights; "+strings.Join(model.SyntheticNames(), ", ")+"; NAME@128K for more positions)")
	fs.StringVar(&o.Tokenizer, "tokenizer", "", "tokenizer: tokenizer.json, a llama2.c tokenizer.bin, or a folder (default: the model folder)")
	registerBackend(fs, o, "cpu, cuda (bf16 activations, fast), cuda-f32 (float32 throughout, for exactness checks), or auto (cuda when a GPU is usable, else cpu)")
	registerPruning(fs, p)
	return o, p
}

// registerBackend adds --backend, --device and --threads.
func registerBackend(fs *flag.FlagSet, o *session.Options, choices string) {
	fs.StringVar(&o.Backend, "backend", "auto", "compute backend: "+choices)
	fs.IntVar(&o.Device, "device", 0, "GPU index for the cuda backend")
	fs.IntVar(&o.Threads, "threads", 0, "CPU worker threads (0: all cores)")
}

// registerPruning adds the flags that choose the pruning of the prompt
// during prefill.
func registerPruning(fs *flag.FlagSet, p *session.Pruning) {
	fs.StringVar(&p.Module, "prune-module", "", "pruning module file (safetensors written by 'sdtp train' or 'sdtp prune init'); enables SDTP pruning")
	fs.StringVar(&p.Preset, "prune", "", "keep schedule: "+prune.Presets+"; default: the module's own schedule")
	fs.StringVar(&p.Layers, "prune-layers", "", "explicit pruning locations, comma-separated block indices (e.g. 4,7,10); needs --keep-ratio")
	fs.Float64Var(&p.Ratio, "keep-ratio", 0, "fraction of the survivors each stage keeps, in (0,1]: with --prune-layers, or over the module's own locations")
	fs.StringVar(&p.Scorer, "prune-scorer", "module", "token scores: module (the module's MLP), random (baseline), recent (keep-most-recent baseline)")
	fs.Uint64Var(&p.Seed, "prune-seed", 1, "seed of the random scorer")
}
