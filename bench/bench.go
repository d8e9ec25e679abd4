// Package bench measures end-to-end latency of long-context inference with
// and without SDTP pruning: for each prompt length and configuration it
// times the prefill (to the first token's logits) and the greedy decode of
// a fixed number of new tokens, over warmup and repeated runs, and records
// alive tokens and KV cache sizes per layer, peak memory and analytic
// FLOPs. Prompts are synthetic token ids of exactly the asked length, and
// pruned configurations score tokens with a random-weight pruning module:
// latency depends on neither the ids nor the scores.
package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/prune"
)

// Options choose what a sweep measures.
type Options struct {
	// Lengths are the prompt lengths in tokens.
	Lengths []int
	// Configs name the configurations: "baseline" (no pruning) and the
	// prune presets (paper, paper-low, keep<r>), each optionally with an
	// H2O KV budget during decoding ("paper+h2o0.4"; see ParseConfigs).
	Configs []string
	// NewTokens is the number of tokens generated after each prompt.
	NewTokens int
	// Warmup runs per row are not timed; Repeats runs are.
	Warmup, Repeats int
	// MaxRepeats bounds the timed runs per row: while a speedup at a
	// length is noisy (see NoiseLimit) after Repeats rounds, further rounds
	// of every configuration run, up to MaxRepeats. 0 (or anything below
	// Repeats) means Repeats: no extra rounds.
	MaxRepeats int
	// NoiseLimit is the relative half-width of a speedup's range (see
	// Speedup.PrefillRange) above which the speedup is noisy: 0.1 means a
	// range wider than ±10% of the speedup. 0 means DefaultNoiseLimit.
	NoiseLimit float64
	// Seed makes the prompts and the module weights.
	Seed uint64
	// ModuleWidth is the pruning module's hidden width (0: hidden/4).
	ModuleWidth int
	// CommandLine is recorded in the result's meta block.
	CommandLine []string
	// Progress, when set, hears of every finished run and failed row.
	Progress func(Progress)
	// Checkpoint, when set, receives the result so far after every row,
	// so a sweep that dies leaves its finished rows behind.
	Checkpoint func(*Result) error
}

// DefaultModel is the model a plain `sdtp bench` measures on the named
// backend: a small synthetic shape on the CPU, so the default sweep ends in
// minutes on two cores, and the 7B shape of the paper on a GPU.
func DefaultModel(backendName string) string {
	if backendName == "cpu" {
		return "synthetic:qwen2-small"
	}
	return "synthetic:qwen2-7b"
}

// DefaultOptions are the sweep parameters of a plain `sdtp bench` on the
// named backend.
func DefaultOptions(backendName string) Options {
	if backendName == "cpu" {
		return Options{
			Lengths:    []int{256, 512, 1024, 2048},
			Configs:    []string{Baseline, "paper", "keep0.8", "keep0.7"},
			NewTokens:  32,
			Warmup:     1,
			Repeats:    3,
			MaxRepeats: DefaultMaxRepeats,
			NoiseLimit: DefaultNoiseLimit,
			Seed:       1,
		}
	}
	return Options{
		Lengths:    []int{1024, 2048, 4096, 8192, 16384, 32768},
		Configs:    []string{Baseline, "paper", "paper-low", "keep0.8", "keep0.7"},
		NewTokens:  128,
		Warmup:     1,
		Repeats:    3,
		MaxRepeats: DefaultMaxRepeats,
		NoiseLimit: DefaultNoiseLimit,
		Seed:       1,
	}
}

// DefaultMaxRepeats and DefaultNoiseLimit are the plain `sdtp bench`
// settings: up to 9 timed runs per row while a speedup's range is wider
// than ±10% of it.
const (
	DefaultMaxRepeats = 9
	DefaultNoiseLimit = 0.1
)

// maxRepeats is the effective bound on timed runs per row.
func (o *Options) maxRepeats() int { return max(o.Repeats, o.MaxRepeats) }

// noiseLimit is the effective noise limit.
func (o *Options) noiseLimit() float64 {
	if o.NoiseLimit == 0 {
		return DefaultNoiseLimit
	}
	return o.NoiseLimit
}

// Config is one configuration of a sweep.
type Config struct {
	Name string
	// Schedule is nil for the baseline.
	Schedule *prune.Schedule
	// H2O is the KV budget kept during decoding (nil: none).
	H2O *h2o.Budget
}

// h2oPrefix starts the H2O part of a configuration name.
const h2oPrefix = "h2o"

// ConfigHelp describes the configuration names for flag help.
const ConfigHelp = Baseline + ", " + prune.Presets + ", each optionally +h2oB[:R] (an H2O KV budget during decoding: B a fraction of the tokens each layer holds after the prefill or a token count, R the recent part, default 0.5; e.g. h2o0.4, paper+h2o0.4, h2o1024:128)"

// ParseConfigs resolves configuration names against a model's layer
// count. A name is "baseline" or a prune preset, optionally followed by
// "+h2oB" or "+h2oB:R", an H2O KV budget during decoding (h2o.Parse's B and
// R: "0.4", "1024", "0.4:0.25"); "h2oB" alone is the baseline with that
// budget.
func ParseConfigs(names []string, layers int) ([]Config, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no configurations (want %s)", ConfigHelp)
	}
	var out []Config
	seen := map[string]bool{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if seen[name] {
			return nil, fmt.Errorf("configuration %q is listed twice", name)
		}
		seen[name] = true
		cfg, err := parseConfig(name, layers)
		if err != nil {
			return nil, fmt.Errorf("configuration %q: %w", name, err)
		}
		out = append(out, cfg)
	}
	return out, nil
}

func parseConfig(name string, layers int) (Config, error) {
	cfg := Config{Name: name}
	base, budget, withH2O := strings.Cut(name, "+")
	if !withH2O && strings.HasPrefix(name, h2oPrefix) {
		base, budget, withH2O = Baseline, name, true
	}
	if withH2O {
		spec, ok := strings.CutPrefix(budget, h2oPrefix)
		if !ok || spec == "" {
			return Config{}, fmt.Errorf("%q after + is not an H2O budget (want h2oB or h2oB:R, e.g. h2o0.4)", budget)
		}
		keep, recent, _ := strings.Cut(spec, ":")
		b, err := h2o.Parse(keep, recent)
		if err != nil {
			return Config{}, fmt.Errorf("H2O %w", err)
		}
		cfg.H2O = &b
	}
	if base == Baseline {
		return cfg, nil
	}
	s, err := prune.ParsePreset(base, layers)
	if err != nil {
		return Config{}, fmt.Errorf("%w (or %s)", err, Baseline)
	}
	cfg.Schedule = &s
	return cfg, nil
}

// Alive returns the analytic count of tokens entering each block for an
// n-token prompt under the configuration.
func (c Config) Alive(n, layers int) []int {
	if c.Schedule == nil {
		out := make([]int, layers)
		for i := range out {
			out[i] = n
		}
		return out
	}
	return c.Schedule.Alive(n, layers)
}

// Check validates the options that do not depend on the model; errors
// name the 'sdtp bench' flag of the value at fault.
func (o *Options) Check() error {
	if len(o.Lengths) == 0 {
		return fmt.Errorf("--lengths: no prompt lengths")
	}
	for _, n := range o.Lengths {
		if n <= 0 {
			return fmt.Errorf("--lengths: prompt length %d must be positive", n)
		}
	}
	if o.NewTokens < 0 {
		return fmt.Errorf("--new-tokens %d: must not be negative", o.NewTokens)
	}
	if o.Warmup < 0 {
		return fmt.Errorf("--warmup %d: must not be negative", o.Warmup)
	}
	if o.Repeats < 1 {
		return fmt.Errorf("--repeats %d: must be at least 1", o.Repeats)
	}
	if o.ModuleWidth < 0 {
		return fmt.Errorf("--module-width %d: must not be negative", o.ModuleWidth)
	}
	if o.MaxRepeats < 0 {
		return fmt.Errorf("--max-repeats %d: must not be negative", o.MaxRepeats)
	}
	if !(o.NoiseLimit >= 0) || math.IsInf(o.NoiseLimit, 0) {
		return fmt.Errorf("--noise-limit %v: must be positive and finite", o.NoiseLimit)
	}
	return nil
}

// sortedLengths returns the lengths ascending without duplicates.
func sortedLengths(ls []int) []int {
	out := slices.Clone(ls)
	slices.Sort(out)
	return slices.Compact(out)
}
