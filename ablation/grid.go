// Package ablation runs the SDTP paper's ablations at their granularity
// (Figs. 4–5, Table 5): pruning modules trained for a grid of schedules
// (pruning locations, keep ratio, number of stages) and of loss variants
// (full, no-rank, no-mse, ratio-only), each evaluated on held-out texts
// (KL and next-token agreement against the unpruned model, next to the
// random, keep-most-recent and saliency-oracle scorers at the same
// schedule) and placed against its analytic prefill FLOPs. Results are one
// JSONL file that a rerun resumes, a markdown table and (package plot) a
// figure of quality against FLOPs.
package ablation

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train"
)

// Loss is a variant of the training loss.
type Loss string

// The loss variants: the full SDTP loss and the paper's ablations.
const (
	// Full is L_cls + L_mse + L_rank + keep-ratio loss.
	Full Loss = "full"
	// NoRank drops L_rank.
	NoRank Loss = "no-rank"
	// NoMSE drops L_mse.
	NoMSE Loss = "no-mse"
	// RatioOnly drops both saliency terms, L_mse and L_rank: L_cls and the
	// keep-ratio loss only, modules learning from the language-model loss
	// through the straight-through masks, with no saliency supervision.
	RatioOnly Loss = "ratio-only"
)

// Losses lists the variants in the order of the paper's table.
var Losses = []Loss{Full, NoRank, NoMSE, RatioOnly}

// Weights returns the loss weights of the variant, from the full loss's w.
func (l Loss) Weights(w train.Weights) train.Weights {
	switch l {
	case NoRank:
		w.Rank = 0
	case NoMSE:
		w.MSE = 0
	case RatioOnly:
		w.MSE, w.Rank = 0, 0
	}
	return w
}

// ParseLosses reads a comma-separated list of loss variants.
func ParseLosses(list string) ([]Loss, error) {
	var out []Loss
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		l := Loss(f)
		known := false
		for _, k := range Losses {
			known = known || k == l
		}
		if !known {
			return nil, fmt.Errorf("loss variant %q: want one of %s", f, lossNames())
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no loss variant given (want some of %s)", lossNames())
	}
	return out, nil
}

func lossNames() string {
	var s []string
	for _, l := range Losses {
		s = append(s, string(l))
	}
	return strings.Join(s, ", ")
}

// ParseSchedules reads schedules written LOCATIONS:RATIO ("3,4:0.6"),
// separated by spaces or semicolons, and checks each against a model of
// the given layers.
func ParseSchedules(spec string, layers int) ([]prune.Schedule, error) {
	var out []prune.Schedule
	for _, item := range strings.FieldsFunc(spec, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' || r == '\n' }) {
		locs, ratio, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("schedule %q: want LOCATIONS:RATIO, e.g. 3,4:0.6", item)
		}
		l, err := prune.ParseLocations(locs)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", item, err)
		}
		r, err := strconv.ParseFloat(ratio, 64)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: keep ratio %q is not a number", item, ratio)
		}
		s := prune.Schedule{Locations: l, Ratio: r}
		if err := s.Validate(layers); err != nil {
			return nil, fmt.Errorf("schedule %q: %w", item, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no schedule given (want LOCATIONS:RATIO items, e.g. \"4:0.6 3,4:0.6\")")
	}
	return out, nil
}

// Point is one configuration of the sweep.
type Point struct {
	Schedule prune.Schedule
	Loss     Loss
}

// Name identifies the point: "3,4/0.6/full".
func (p Point) Name() string {
	return locationList(p.Schedule.Locations) + "/" + strconv.FormatFloat(p.Schedule.Ratio, 'g', -1, 64) + "/" + string(p.Loss)
}

// FileName is Name with characters safe in a file name: "3-4_0.6_full".
func (p Point) FileName() string {
	return strings.NewReplacer(",", "-", "/", "_").Replace(p.Name())
}

func locationList(locs []int) string {
	s := make([]string, len(locs))
	for i, l := range locs {
		s[i] = strconv.Itoa(l)
	}
	return strings.Join(s, ",")
}

// Grid is the one-factor-at-a-time design of the paper's ablations: every
// schedule trained with the first loss variant, then every other variant
// at the first schedule (the base), without repeats.
func Grid(schedules []prune.Schedule, losses []Loss) []Point {
	var out []Point
	seen := map[string]bool{}
	add := func(p Point) {
		if !seen[p.Name()] {
			seen[p.Name()] = true
			out = append(out, p)
		}
	}
	for _, s := range schedules {
		add(Point{Schedule: s, Loss: losses[0]})
	}
	for _, l := range losses[1:] {
		add(Point{Schedule: schedules[0], Loss: l})
	}
	return out
}
