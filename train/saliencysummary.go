package train

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/sdtp/sdtp/prune"
)

// ReadSaliency reads a saliency file ('sdtp saliency'): its header and
// every text's record; errors name the file and line.
func ReadSaliency(path string) (SaliencyHeader, []SaliencyRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return SaliencyHeader{}, nil, err
	}
	defer f.Close()
	var h SaliencyHeader
	var recs []SaliencyRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != SaliencyFormat {
				return h, nil, fmt.Errorf("%s:1: not a saliency file (format %q, want %q)", path, h.Format, SaliencyFormat)
			}
			continue
		}
		var r SaliencyRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return h, nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if len(r.Saliency) != h.Layers {
			return h, nil, fmt.Errorf("%s:%d: saliency at %d blocks, the header says %d", path, line, len(r.Saliency), h.Layers)
		}
		for b, v := range r.Saliency {
			if len(v) != len(r.IDs) {
				return h, nil, fmt.Errorf("%s:%d: block %d has %d values for %d tokens", path, line, b, len(v), len(r.IDs))
			}
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return h, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return h, nil, fmt.Errorf("%s holds no text", path)
	}
	return h, recs, nil
}

// MassShare returns the smallest fraction of the values whose absolute
// values, largest first, sum to at least level (in (0, 1]) of their total:
// how few tokens carry that share of the saliency. It is NaN when every
// value is zero.
func MassShare(v []float64, level float64) float64 {
	curve := massCurve(v)
	if curve == nil {
		return math.NaN()
	}
	for k, c := range curve {
		if c >= level*(1-1e-12) {
			return float64(k+1) / float64(len(v))
		}
	}
	return 1
}

// massCurve returns the cumulative share of Σ|v| held by the k+1 largest
// |v|, for each k; nil when the sum is zero.
func massCurve(v []float64) []float64 {
	a := make([]float64, len(v))
	var total float64
	for i, x := range v {
		a[i] = math.Abs(x)
		total += a[i]
	}
	if !(total > 0) {
		return nil
	}
	slices.SortFunc(a, func(x, y float64) int { return -cmpFloat(x, y) })
	var run float64
	for i, x := range a {
		run += x
		a[i] = run / total
	}
	return a
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// SaliencySummary is what the saliency pictures show: how concentrated
// the saliency is at each block over a file's texts, and one text's
// saliency with the tokens each pruning stage kept.
type SaliencySummary struct {
	Model  string `json:"model"`
	Texts  int    `json:"texts"`
	Layers int    `json:"layers"`
	// Continuation is the tokens at the end of each text left out of the
	// statistics: they are never pruned.
	Continuation int `json:"continuation"`
	// Levels are the shares of the saliency mass TokenShare is given for.
	Levels []float64 `json:"levels"`
	// TokenShare[b][k] is the mean over texts of the fraction of the
	// prompt tokens that hold Levels[k] of their |π̂| at block b
	// (MassShare); TokenShareMin and TokenShareMax are its range over texts.
	TokenShare    [][]float64 `json:"token_share"`
	TokenShareMin [][]float64 `json:"token_share_min"`
	TokenShareMax [][]float64 `json:"token_share_max"`
	// CurveX are fractions of the prompt tokens, and Curve[b][j] the mean
	// over texts of the share of their |π̂| at block b that the top
	// CurveX[j] of them hold.
	CurveX  []float64       `json:"curve_x"`
	Curve   [][]float64     `json:"curve"`
	Example SaliencyExample `json:"example"`
}

// SaliencyExample is one text's saliency and, when a schedule was given, the
// tokens each stage kept.
type SaliencyExample struct {
	// Index is the text's place in the file, Line its line in the data file.
	Index    int         `json:"index"`
	Line     int         `json:"line"`
	IDs      []int       `json:"ids"`
	Saliency [][]float64 `json:"saliency"`
	// Prompt is the tokens pruning may drop (the rest is the continuation).
	Prompt int         `json:"prompt"`
	Kept   *KeptStages `json:"kept,omitempty"`
}

// KeptStages are the tokens a scorer kept at each stage of a schedule.
type KeptStages struct {
	Scorer   string         `json:"scorer"`
	Schedule prune.Schedule `json:"schedule"`
	// Alive[s] holds the positions alive after stage s+1, ascending.
	Alive [][]int32 `json:"alive"`
}

// KeptOptions choose how SaliencyExample.Keep prunes the example: a
// module's scores on the model's hidden states, or, without a module, the
// saliency oracle (the example's own importance at each stage's block).
type KeptOptions struct {
	Schedule prune.Schedule
	// Module and Model score the tokens; a nil Module is the oracle.
	Module *prune.Module
	Model  Frozen
	// Target turns the saliency into the oracle's importance.
	Target Target
}

// Keep records in e.Kept the tokens each stage of o.Schedule keeps.
func (e *SaliencyExample) Keep(ctx context.Context, o KeptOptions) error {
	if err := o.Schedule.Validate(len(e.Saliency)); err != nil {
		return err
	}
	k := &KeptStages{Schedule: o.Schedule}
	var err error
	if o.Module == nil {
		k.Scorer = fmt.Sprintf("saliency oracle (%s)", o.Target)
		k.Alive, err = OracleKept(e.Saliency, e.Prompt, o.Schedule, o.Target)
	} else {
		if o.Model == nil {
			return fmt.Errorf("scoring with a module needs the model")
		}
		if !slices.Equal(o.Module.Schedule.Locations, o.Schedule.Locations) {
			return fmt.Errorf("schedule locations %v differ from the module's %v", o.Schedule.Locations, o.Module.Schedule.Locations)
		}
		k.Scorer = "module"
		k.Alive, err = KeptTokens(ctx, o.Model, e.IDs, e.Prompt, o.Schedule, ModuleScorer{Module: o.Module})
	}
	if err != nil {
		return err
	}
	e.Kept = k
	return nil
}

// DefaultLevels are the saliency shares the sparsity statistics report.
var DefaultLevels = []float64{0.5, 0.8, 0.9}

// curvePoints is the resolution of the mass curves.
const curvePoints = 100

// Summarise computes the sparsity statistics of a saliency file's records
// at the given levels over each text's prompt (all but its last cont
// tokens: the tokens pruning may drop), and takes text example as the
// example.
func Summarise(h SaliencyHeader, recs []SaliencyRecord, levels []float64, example, cont int) (*SaliencySummary, error) {
	if example < 0 || example >= len(recs) {
		return nil, fmt.Errorf("text %d: the file has texts 0..%d", example, len(recs)-1)
	}
	for _, l := range levels {
		if !(l > 0 && l <= 1) {
			return nil, fmt.Errorf("saliency share %v must be in (0, 1]", l)
		}
	}
	for i, r := range recs {
		if cont < 0 || cont >= len(r.IDs) {
			return nil, fmt.Errorf("continuation %d does not leave a prompt in text %d (%d tokens)", cont, i, len(r.IDs))
		}
	}
	ex := recs[example]
	s := &SaliencySummary{Model: h.Meta.Model, Texts: len(recs), Layers: h.Layers, Continuation: cont, Levels: levels,
		Example: SaliencyExample{Index: example, Line: ex.Line, IDs: ex.IDs, Saliency: ex.Saliency, Prompt: len(ex.IDs) - cont}}
	for j := 1; j <= curvePoints; j++ {
		s.CurveX = append(s.CurveX, float64(j)/curvePoints)
	}
	for b := range h.Layers {
		share := make([]float64, len(levels))
		lo, hi := make([]float64, len(levels)), make([]float64, len(levels))
		for k := range levels {
			lo[k], hi[k] = math.Inf(1), math.Inf(-1)
		}
		curve := make([]float64, curvePoints)
		n := 0
		for _, r := range recs {
			prompt := r.Saliency[b][:len(r.IDs)-cont]
			c := massCurve(prompt)
			if c == nil {
				continue
			}
			n++
			for k, l := range levels {
				v := MassShare(prompt, l)
				share[k] += v
				lo[k], hi[k] = math.Min(lo[k], v), math.Max(hi[k], v)
			}
			for j, x := range s.CurveX {
				// the top x of the tokens: ⌈x·n⌉ of them
				curve[j] += c[max(int(math.Ceil(x*float64(len(c))-1e-9)), 1)-1]
			}
		}
		for k := range share {
			share[k] /= float64(n) // NaN where every text's block is all zero
			if n == 0 {
				lo[k], hi[k] = math.NaN(), math.NaN()
			}
		}
		for j := range curve {
			curve[j] /= float64(n)
		}
		s.TokenShare = append(s.TokenShare, share)
		s.TokenShareMin = append(s.TokenShareMin, lo)
		s.TokenShareMax = append(s.TokenShareMax, hi)
		s.Curve = append(s.Curve, curve)
	}
	return s, nil
}

// OracleKept returns the positions the saliency oracle keeps after each
// stage of s in a text of the given saliency (every block) whose first
// prompt tokens are the prompt: each stage keeps, by prune.Select, the
// tokens of highest importance (target) at its block.
func OracleKept(sal [][]float64, prompt int, s prune.Schedule, target Target) ([][]int32, error) {
	alive := positions(prompt)
	var out [][]int32
	for st, l := range s.Locations {
		if l >= len(sal) {
			return nil, fmt.Errorf("schedule location %d is beyond the saliency's %d blocks", l, len(sal))
		}
		scores := make([]float32, len(alive))
		for i, p := range alive {
			scores[i] = float32(target.Importance(sal[l][p]))
		}
		var err error
		if alive, err = selectStage(alive, scores, prompt, s.Keep(prompt, st+1)); err != nil {
			return nil, fmt.Errorf("stage %d: %w", st+1, err)
		}
		out = append(out, alive)
	}
	return out, nil
}

// KeptTokens returns the positions sc keeps after each stage of s when the
// first prompt tokens of ids are pruned as the engine prunes them (the
// hidden states the scorer sees are those of the pruned pass).
func KeptTokens(ctx context.Context, m Frozen, ids []int, prompt int, s prune.Schedule, sc Scorer) ([][]int32, error) {
	var out [][]int32
	tr, _, err := prunedForward(ctx, m, ids, prompt, s, sc, func(alive []int32) { out = append(out, alive) })
	if err != nil {
		return nil, err
	}
	tr.free()
	return out, nil
}

// positions returns 0, 1, …, n−1.
func positions(n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	return p
}

// selectStage keeps keep of the alive prompt positions by their scores
// (prune.Select: protected tokens first, then the highest scores) and
// returns the positions kept; all of them when keep covers them.
func selectStage(alive []int32, scores []float32, prompt, keep int) ([]int32, error) {
	if keep >= len(alive) {
		return alive, nil
	}
	idx, err := prune.Select(alive, scores, prompt, keep)
	if err != nil {
		return nil, err
	}
	next := make([]int32, len(idx))
	for i, k := range idx {
		next[i] = alive[k]
	}
	return next, nil
}

// WriteTable writes the sparsity statistics as a markdown table: per
// block, the share of the prompt tokens that hold each level of their
// saliency mass (mean over texts, with the range).
func (s *SaliencySummary) WriteTable(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "%d texts; each text's prompt: all but its last %d tokens\n\n", s.Texts, s.Continuation); err != nil {
		return err
	}
	head := []string{"block"}
	for _, l := range s.Levels {
		head = append(head, fmt.Sprintf("prompt tokens holding %g%% of |π̂| (mean, min–max)", 100*l))
	}
	if _, err := fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head))); err != nil {
		return err
	}
	for b := range s.TokenShare {
		row := []string{fmt.Sprint(b)}
		for k := range s.Levels {
			row = append(row, fmt.Sprintf("%.3f (%.3f–%.3f)", s.TokenShare[b][k], s.TokenShareMin[b][k], s.TokenShareMax[b][k]))
		}
		if _, err := fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | ")); err != nil {
			return err
		}
	}
	return nil
}
