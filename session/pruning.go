package session

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// Pruning chooses how the prompt is pruned during prefill: a module file
// or a baseline scorer, and a keep schedule (a preset, explicit locations
// with a ratio, or the module's own).
type Pruning struct {
	Module string  // module file (--prune-module)
	Preset string  // schedule preset (--prune)
	Layers string  // explicit locations, e.g. "4,7,10" (--prune-layers)
	Ratio  float64 // keep ratio per stage (--keep-ratio)
	Scorer string  // module, random or recent (--prune-scorer)
	Seed   uint64  // seed of the random scorer (--prune-seed)
}

// Enabled reports whether any pruning option was given.
func (p Pruning) Enabled() bool {
	return p.Module != "" || p.Preset != "" || p.Layers != "" || p.Ratio != 0 || p.Scorer != "module"
}

// String describes the options, for a run's settings record.
func (p Pruning) String() string {
	if !p.Enabled() {
		return "off"
	}
	return fmt.Sprintf("module=%s preset=%s layers=%s keep_ratio=%g scorer=%s seed=%d", p.Module, p.Preset, p.Layers, p.Ratio, p.Scorer, p.Seed)
}

// Schedule resolves the schedule options for a model of the given layers,
// falling back to def (a module's own schedule; may be nil).
func (p Pruning) Schedule(layers int, def *prune.Schedule) (prune.Schedule, error) {
	switch {
	case p.Layers != "" && p.Preset != "":
		return prune.Schedule{}, errors.New("--prune and --prune-layers are exclusive")
	case p.Ratio != 0 && p.Preset != "":
		return prune.Schedule{}, errors.New("--keep-ratio and --prune are exclusive (a preset has its own ratio)")
	case p.Layers != "" && p.Ratio == 0:
		return prune.Schedule{}, errors.New("--prune-layers needs --keep-ratio (the fraction each stage keeps, in (0,1])")
	case p.Layers != "":
		locs, err := prune.ParseLocations(p.Layers)
		if err != nil {
			return prune.Schedule{}, fmt.Errorf("--prune-layers: %w", err)
		}
		s := prune.Schedule{Locations: locs, Ratio: p.Ratio}
		if err := s.Validate(layers); err != nil {
			return prune.Schedule{}, fmt.Errorf("--prune-layers/--keep-ratio: %w", err)
		}
		return s, nil
	case p.Preset != "":
		s, err := prune.ParsePreset(p.Preset, layers)
		if err != nil {
			return prune.Schedule{}, fmt.Errorf("--prune: %w", err)
		}
		return s, nil
	case def != nil && p.Ratio != 0:
		s := prune.Schedule{Locations: def.Locations, Ratio: p.Ratio}
		if err := s.Validate(layers); err != nil {
			return prune.Schedule{}, fmt.Errorf("--keep-ratio: %w", err)
		}
		return s, nil
	case def != nil:
		return *def, nil
	case p.Ratio != 0:
		return prune.Schedule{}, errors.New("--keep-ratio needs locations: give --prune-layers (or a module, whose locations it then uses)")
	}
	return prune.Schedule{}, errors.New("choose a schedule with --prune or --prune-layers")
}

// errNeedModule is the error of a module schedule without a module file.
var errNeedModule = errors.New("--prune-module is required with --prune-scorer module (or use --prune-scorer random|recent)")

// Pruner builds the pruner p describes for the session's model, or nil when
// pruning is off. The returned cleanup frees uploaded module weights.
func (s *Session) Pruner(p Pruning) (model.Pruner, func(), error) {
	if !p.Enabled() {
		return nil, func() {}, nil
	}
	ps, err := s.Pruners(p)
	if err != nil {
		return nil, nil, err
	}
	if !ps.Enabled() {
		return nil, nil, errNeedModule
	}
	pr, err := ps.Get("default")
	if err != nil {
		ps.Close()
		return nil, nil, err
	}
	return pr, ps.Close, nil
}

// Pruners builds pruners by schedule name, all sharing one scorer (a
// module's weights are uploaded once), as a server needs them.
type Pruners struct {
	m      *model.Model
	p      Pruning
	mod    *prune.Module
	scorer prune.Scorer
	close  func()
}

// Pruners loads the scorer p chooses. Without a module file or a baseline
// scorer it holds none (Enabled is false), unless a schedule was given,
// which is an error.
func (s *Session) Pruners(p Pruning) (*Pruners, error) {
	ps := &Pruners{m: s.M, p: p, close: func() {}}
	switch p.Scorer {
	case "random":
		ps.scorer = prune.RandomScorer{Seed: p.Seed}
	case "recent":
		ps.scorer = prune.RecentScorer{}
	case "module":
		if p.Module == "" {
			if p.Preset != "" || p.Layers != "" {
				return nil, errNeedModule
			}
			return ps, nil
		}
		c := &s.M.Config
		mod, err := prune.Load(p.Module)
		if err != nil {
			return nil, fmt.Errorf("--prune-module: %w", err)
		}
		if err := mod.Check(c.Hidden, c.Layers); err != nil {
			return nil, fmt.Errorf("--prune-module %s: %w", p.Module, err)
		}
		sc, err := prune.NewModuleScorer(s.B, mod)
		if err != nil {
			return nil, fmt.Errorf("--prune-module %s: %w", p.Module, err)
		}
		ps.mod, ps.scorer, ps.close = mod, sc, sc.Close
	default:
		return nil, fmt.Errorf("--prune-scorer %q: want module, random or recent", p.Scorer)
	}
	return ps, nil
}

// Enabled reports whether there is a scorer to prune with.
func (ps *Pruners) Enabled() bool { return ps.scorer != nil }

// DefaultName is the name of the schedule the options choose: the preset,
// or "default" (explicit locations, or the module's schedule).
func (ps *Pruners) DefaultName() string {
	if ps.p.Preset != "" {
		return ps.p.Preset
	}
	return "default"
}

// Get returns a pruner for a schedule name: "default" (the options'
// schedule, else the module's) or a preset.
func (ps *Pruners) Get(name string) (model.Pruner, error) {
	if ps.scorer == nil {
		return nil, errors.New("this server has no pruning module (start it with --prune-module, or --prune-scorer random|recent)")
	}
	layers := ps.m.Config.Layers
	var s prune.Schedule
	var err error
	if name == "default" {
		var def *prune.Schedule
		if ps.mod != nil {
			def = &ps.mod.Schedule
		}
		s, err = ps.p.Schedule(layers, def)
	} else {
		s, err = prune.ParsePreset(name, layers)
	}
	if err != nil {
		return nil, err
	}
	if ps.mod != nil && !slices.Equal(s.Locations, ps.mod.Schedule.Locations) {
		return nil, fmt.Errorf("schedule locations %v differ from the module's %v (a module has one MLP per location; only the ratio may change)", s.Locations, ps.mod.Schedule.Locations)
	}
	return &prune.Pruner{Schedule: s, Scorer: ps.scorer}, nil
}

// Close frees the scorer's uploaded weights.
func (ps *Pruners) Close() { ps.close() }
