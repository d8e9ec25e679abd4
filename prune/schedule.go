// Package prune implements SDTP's token pruning: keep schedules, protected
// tokens, selection by score, the pruning-module MLP and its file format,
// and the model.Pruner hook that applies them during prefill.
package prune

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schedule says where tokens are dropped and how many survive. Stage s
// (1-based) happens before block Locations[s-1] and leaves
// max(round(N·Ratio^s), P) tokens alive, N the prompt length and P the
// number of protected tokens.
type Schedule struct {
	Locations []int
	Ratio     float64
}

// Paper defaults: the first pruning location, the step between locations,
// the keep ratio per stage, and the stage count of the "paper-low" preset.
const (
	PaperStart  = 4
	PaperStep   = 3
	PaperRatio  = 0.9
	PaperLowMax = 5
	// ProtectFirst tokens at the start of the prompt are never pruned.
	ProtectFirst = 4
	// ProtectLastFrac of the prompt (rounded up) at its end is never pruned.
	ProtectLastFrac = 0.1
)

// Presets lists the named schedules ParsePreset accepts.
const Presets = "paper, paper-low, keep<r> (paper locations with ratio r, e.g. keep0.8), and paper-scaled, keep<r>-scaled (the paper's 28-layer locations at the same relative depths, for shallower or deeper models)"

// PaperLocations returns 4, 7, 10, … below layers.
func PaperLocations(layers int) []int {
	var locs []int
	for l := PaperStart; l < layers; l += PaperStep {
		locs = append(locs, l)
	}
	return locs
}

// PaperDepth is the depth of the model the paper's main schedule was made
// for (Qwen2-7B: 28 blocks, pruned at 4, 7, …, 25).
const PaperDepth = 28

// ScaledLocations returns the paper's locations for PaperDepth blocks moved
// to the same relative depths of a model of layers blocks: round(l·layers/28)
// for each, kept within 1 … layers−1, duplicates dropped. For 28 blocks they
// are PaperLocations(28); for 12 they are 2, 3, 4, 6, 7, 8, 9, 11.
func ScaledLocations(layers int) []int {
	var locs []int
	for _, l := range PaperLocations(PaperDepth) {
		v := min(max(int(math.Round(float64(l*layers)/PaperDepth)), 1), layers-1)
		if len(locs) == 0 || v > locs[len(locs)-1] {
			locs = append(locs, v)
		}
	}
	return locs
}

// ParsePreset resolves a named schedule against a model's layer count.
func ParsePreset(name string, layers int) (Schedule, error) {
	locs := PaperLocations(layers)
	if base, ok := strings.CutSuffix(name, "-scaled"); ok && (base == "paper" || strings.HasPrefix(base, "keep")) {
		locs, name = ScaledLocations(layers), base
	}
	var s Schedule
	switch {
	case name == "paper":
		s = Schedule{Locations: locs, Ratio: PaperRatio}
	case name == "paper-low":
		s = Schedule{Locations: locs[:min(len(locs), PaperLowMax)], Ratio: PaperRatio}
	case strings.HasPrefix(name, "keep"):
		r, err := strconv.ParseFloat(strings.TrimPrefix(name, "keep"), 64)
		if err != nil {
			return Schedule{}, fmt.Errorf("schedule %q: ratio is not a number (presets: %s)", name, Presets)
		}
		s = Schedule{Locations: locs, Ratio: r}
	default:
		return Schedule{}, fmt.Errorf("unknown schedule %q (presets: %s)", name, Presets)
	}
	if len(s.Locations) == 0 {
		return Schedule{}, fmt.Errorf("schedule %q: a model of %d layers has no block at or after %d to prune at", name, layers, PaperStart)
	}
	return s, s.Validate(layers)
}

// ParseLocations parses a comma-separated list of block indices.
func ParseLocations(list string) ([]int, error) {
	var locs []int
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("prune layer %q is not an integer", f)
		}
		locs = append(locs, v)
	}
	return locs, nil
}

// Validate checks the schedule against a model's layer count: locations
// strictly increasing within [1, layers), ratio in (0, 1].
func (s Schedule) Validate(layers int) error {
	if len(s.Locations) == 0 {
		return fmt.Errorf("schedule has no pruning locations")
	}
	if !(s.Ratio > 0 && s.Ratio <= 1) {
		return fmt.Errorf("keep ratio %v must be in (0, 1]", s.Ratio)
	}
	for i, l := range s.Locations {
		if l < 1 || l >= layers {
			return fmt.Errorf("pruning location %d is outside the model's blocks 1..%d", l, layers-1)
		}
		if i > 0 && l <= s.Locations[i-1] {
			return fmt.Errorf("pruning locations must be strictly increasing (%d after %d)", l, s.Locations[i-1])
		}
	}
	return nil
}

// Stage returns the 1-based stage at block layer, or 0 when the schedule
// does not prune there.
func (s Schedule) Stage(layer int) int {
	for i, l := range s.Locations {
		if l == layer {
			return i + 1
		}
	}
	return 0
}

// Protected returns how many tokens of an n-token prompt are protected:
// the first 4 and the last ⌈0.1·n⌉, overlaps counted once.
func Protected(n int) int {
	last := ProtectedTail(n)
	first := min(ProtectFirst, n)
	if first+last > n {
		return n
	}
	return first + last
}

// ProtectedTail returns ⌈0.1·n⌉, the protected tokens at the end.
func ProtectedTail(n int) int {
	return int(math.Ceil(ProtectLastFrac * float64(n)))
}

// IsProtected reports whether the token at original position p of an
// n-token prompt is protected.
func IsProtected(p, n int) bool {
	return p < ProtectFirst || p >= n-ProtectedTail(n)
}

// Keep returns how many tokens are alive after stage s of an n-token prompt.
func (s Schedule) Keep(n, stage int) int {
	if stage <= 0 {
		return n
	}
	k := int(math.Round(float64(n) * math.Pow(s.Ratio, float64(stage))))
	return min(n, max(k, Protected(n)))
}

// Alive returns the number of tokens entering each of layers blocks for an
// n-token prompt.
func (s Schedule) Alive(n, layers int) []int {
	out := make([]int, layers)
	cur := n
	for l := range out {
		if st := s.Stage(l); st > 0 {
			cur = min(cur, s.Keep(n, st))
		}
		out[l] = cur
	}
	return out
}

// String renders the schedule as "locations 4,7,10 ratio 0.9".
func (s Schedule) String() string {
	parts := make([]string, len(s.Locations))
	for i, l := range s.Locations {
		parts[i] = strconv.Itoa(l)
	}
	return fmt.Sprintf("locations %s ratio %g", strings.Join(parts, ","), s.Ratio)
}
