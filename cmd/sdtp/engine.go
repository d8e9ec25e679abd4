package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/tokenizer"
)

// engineFlags are the flags every command that runs a model shares.
type engineFlags struct {
	model     string
	tokenizer string
	backend   string
	device    int
	threads   int
}

func (f *engineFlags) register(fs *flag.FlagSet, defaultModel string) {
	fs.StringVar(&f.model, "model", defaultModel, "model: a Hugging Face folder, a llama2.c .bin checkpoint, or synthetic:NAME (random weights; "+strings.Join(model.SyntheticNames(), ", ")+")")
	fs.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer: tokenizer.json, a llama2.c tokenizer.bin, or a folder (default: the model folder)")
	fs.StringVar(&f.backend, "backend", "auto", "compute backend: cpu, cuda (bf16 activations, fast), cuda-f32 (float32 throughout, for exactness checks), or auto (cuda when a GPU is usable, else cpu)")
	fs.IntVar(&f.device, "device", 0, "GPU index for the cuda backend")
	fs.IntVar(&f.threads, "threads", 0, "CPU worker threads (0: all cores)")
}

// openBackend opens the chosen backend.
func (f *engineFlags) openBackend() (backend.Backend, error) {
	switch f.backend {
	case "cpu", "cuda", "cuda-f32", "auto":
	default:
		return nil, fmt.Errorf("--backend %q: want cpu, cuda, cuda-f32 or auto", f.backend)
	}
	return backend.Open(f.backend, backend.Options{Device: f.device, Threads: f.threads})
}

// openModel loads the model onto b.
func (f *engineFlags) openModel(b backend.Backend) (*model.Model, error) {
	if f.model == "" {
		return nil, fmt.Errorf("--model is required")
	}
	m, err := model.Open(b, f.model)
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	return m, nil
}

// openTokenizer loads the tokenizer named by --tokenizer or found in the
// model folder; it returns nil with no error when there is none to find
// (synthetic models, llama2.c checkpoints without --tokenizer).
func (f *engineFlags) openTokenizer() (tokenizer.Tokenizer, error) {
	path := f.tokenizer
	if path == "" {
		if st, err := os.Stat(f.model); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(f.model, "tokenizer.json")); err == nil {
				path = f.model
			}
		}
	}
	if path == "" {
		return nil, nil
	}
	t, err := tokenizer.Load(path)
	if err != nil {
		return nil, fmt.Errorf("--tokenizer: %w", err)
	}
	return t, nil
}

// engine is an opened backend, model and (when one is found) tokenizer.
type engine struct {
	b   backend.Backend
	m   *model.Model
	tok tokenizer.Tokenizer
}

// open opens the backend, the model and the tokenizer the flags name; on
// error nothing stays open.
func (f *engineFlags) open() (*engine, error) {
	b, err := f.openBackend()
	if err != nil {
		return nil, err
	}
	m, err := f.openModel(b)
	if err != nil {
		b.Close()
		return nil, err
	}
	tok, err := f.openTokenizer()
	if err == nil && tok != nil && tok.VocabSize() > m.Config.Vocab {
		err = fmt.Errorf("--tokenizer has %d tokens but the model's vocabulary only %d: a tokenizer of another model?", tok.VocabSize(), m.Config.Vocab)
	}
	if err != nil {
		m.Close()
		b.Close()
		return nil, err
	}
	return &engine{b: b, m: m, tok: tok}, nil
}

// Close releases the model and the backend.
func (e *engine) Close() {
	e.m.Close()
	e.b.Close()
}

// pruneFlags choose the pruning of the prompt during prefill.
type pruneFlags struct {
	module string
	preset string
	layers string
	ratio  float64
	scorer string
	seed   uint64
}

func (f *pruneFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.module, "prune-module", "", "pruning module file (safetensors written by 'sdtp train' or 'sdtp prune init'); enables SDTP pruning")
	fs.StringVar(&f.preset, "prune", "", "keep schedule: "+prune.Presets+"; default: the module's own schedule")
	fs.StringVar(&f.layers, "prune-layers", "", "explicit pruning locations, comma-separated block indices (e.g. 4,7,10); needs --keep-ratio")
	fs.Float64Var(&f.ratio, "keep-ratio", 0, "fraction of the survivors each stage keeps, in (0,1]: with --prune-layers, or over the module's own locations")
	fs.StringVar(&f.scorer, "prune-scorer", "module", "token scores: module (the module's MLP), random (baseline), recent (keep-most-recent baseline)")
	fs.Uint64Var(&f.seed, "prune-seed", 1, "seed of the random scorer")
}

// enabled reports whether any pruning flag was given.
func (f *pruneFlags) enabled() bool {
	return f.module != "" || f.preset != "" || f.layers != "" || f.ratio != 0 || f.scorer != "module"
}

// schedule resolves the schedule flags against the model, falling back to def.
func (f *pruneFlags) schedule(layers int, def *prune.Schedule) (prune.Schedule, error) {
	switch {
	case f.layers != "" && f.preset != "":
		return prune.Schedule{}, fmt.Errorf("--prune and --prune-layers are exclusive")
	case f.ratio != 0 && f.preset != "":
		return prune.Schedule{}, fmt.Errorf("--keep-ratio and --prune are exclusive (a preset has its own ratio)")
	case f.layers != "" && f.ratio == 0:
		return prune.Schedule{}, fmt.Errorf("--prune-layers needs --keep-ratio (the fraction each stage keeps, in (0,1])")
	case f.layers != "":
		locs, err := prune.ParseLocations(f.layers)
		if err != nil {
			return prune.Schedule{}, fmt.Errorf("--prune-layers: %w", err)
		}
		s := prune.Schedule{Locations: locs, Ratio: f.ratio}
		if err := s.Validate(layers); err != nil {
			return prune.Schedule{}, fmt.Errorf("--prune-layers/--keep-ratio: %w", err)
		}
		return s, nil
	case f.preset != "":
		s, err := prune.ParsePreset(f.preset, layers)
		if err != nil {
			return prune.Schedule{}, fmt.Errorf("--prune: %w", err)
		}
		return s, nil
	case def != nil && f.ratio != 0:
		s := prune.Schedule{Locations: def.Locations, Ratio: f.ratio}
		if err := s.Validate(layers); err != nil {
			return prune.Schedule{}, fmt.Errorf("--keep-ratio: %w", err)
		}
		return s, nil
	case def != nil:
		return *def, nil
	case f.ratio != 0:
		return prune.Schedule{}, fmt.Errorf("--keep-ratio needs locations: give --prune-layers (or a module, whose locations it then uses)")
	}
	return prune.Schedule{}, fmt.Errorf("choose a schedule with --prune or --prune-layers")
}

// pruner builds the model.Pruner the flags describe for m, or nil when
// pruning is off. The returned cleanup frees uploaded module weights.
func (f *pruneFlags) pruner(m *model.Model) (model.Pruner, func(), error) {
	if !f.enabled() {
		return nil, func() {}, nil
	}
	c := &m.Config
	switch f.scorer {
	case "random", "recent":
		s, err := f.schedule(c.Layers, nil)
		if err != nil {
			return nil, nil, err
		}
		var sc prune.Scorer = prune.RecentScorer{}
		if f.scorer == "random" {
			sc = prune.RandomScorer{Seed: f.seed}
		}
		return &prune.Pruner{Schedule: s, Scorer: sc}, func() {}, nil
	case "module":
	default:
		return nil, nil, fmt.Errorf("--prune-scorer %q: want module, random or recent", f.scorer)
	}
	if f.module == "" {
		return nil, nil, fmt.Errorf("--prune-module is required with --prune-scorer module (or use --prune-scorer random|recent)")
	}
	mod, err := prune.Load(f.module)
	if err != nil {
		return nil, nil, fmt.Errorf("--prune-module: %w", err)
	}
	if err := mod.Check(c.Hidden, c.Layers); err != nil {
		return nil, nil, fmt.Errorf("--prune-module %s: %w", f.module, err)
	}
	s, err := f.schedule(c.Layers, &mod.Schedule)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Equal(s.Locations, mod.Schedule.Locations) {
		return nil, nil, fmt.Errorf("schedule locations %v differ from the module's %v (a module has one MLP per location; only the ratio may change)", s.Locations, mod.Schedule.Locations)
	}
	sc, err := prune.NewModuleScorer(m.B, mod)
	if err != nil {
		return nil, nil, err
	}
	return &prune.Pruner{Schedule: s, Scorer: sc}, sc.Close, nil
}
