package plot

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train"
)

// saliencySummary summarises made-up saliency of a few texts of a 4-block
// model, a few tokens of each carrying most of it, with the oracle's kept
// tokens of one.
func saliencySummary(t *testing.T, cont int) *train.SaliencySummary {
	t.Helper()
	rng := rand.New(rand.NewPCG(4, 0))
	h := train.SaliencyHeader{Format: train.SaliencyFormat, Layers: 4, Continuation: cont}
	var recs []train.SaliencyRecord
	for k := range 3 {
		n := 60 + 10*k
		r := train.SaliencyRecord{Line: k + 1, IDs: make([]int, n)}
		for range h.Layers {
			v := make([]float64, n)
			for i := range v {
				v[i] = rng.NormFloat64() * math.Pow(10, -3*rng.Float64()) // heavy-tailed magnitudes
			}
			r.Saliency = append(r.Saliency, v)
		}
		recs = append(recs, r)
	}
	s, err := train.Summarise(h, recs, train.DefaultLevels, 1, cont)
	if err != nil {
		t.Fatal(err)
	}
	sched := prune.Schedule{Locations: []int{1, 3}, Ratio: 0.7}
	if err := s.Example.Keep(t.Context(), train.KeptOptions{Schedule: sched, Target: train.TargetAbs}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSaliencyFigures draws the three saliency figures in both formats,
// with and without a continuation, and checks what they say.
func TestSaliencyFigures(t *testing.T) {
	for _, cont := range []int{0, 8} {
		s := saliencySummary(t, cont)
		dir := t.TempDir()
		paths, err := WriteSaliency(dir, s, "made-up saliency")
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != 6 {
			t.Fatalf("wrote %v", paths)
		}
		figs, err := Saliency(s, "made-up saliency")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range figs {
			checkRendered(t, dir, f)
		}
		svg := func(name string) string {
			data, err := os.ReadFile(filepath.Join(dir, name+".svg"))
			if err != nil {
				t.Fatal(err)
			}
			return string(data)
		}
		for name, want := range map[string][]string{
			SaliencyHeatmapName:  {"block 0", "block 3", "text 1 (data line 2, 70 tokens)"},
			SaliencySparsityName: {"50% of", "90% of", "equal saliency", "block 3"},
			SaliencyKeptName:     {"prompt (" + strconv.Itoa(70-cont) + ")", "stage 1, block 1", "stage 2, block 3", "kept by score", "saliency oracle"},
		} {
			got := svg(name)
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("cont %d: %s lacks %q", cont, name, w)
				}
			}
		}
		if has := strings.Contains(svg(SaliencyKeptName), "continuation (never pruned)"); has != (cont > 0) {
			t.Errorf("cont %d: continuation in the legend: %v", cont, has)
		}
	}
	if _, err := Saliency(nil, ""); err == nil {
		t.Error("no error for no summary")
	}
	s := saliencySummary(t, 0)
	s.Example.Kept.Alive = s.Example.Kept.Alive[:1]
	if _, err := Saliency(s, ""); err == nil || !strings.Contains(err.Error(), "1 stages for a schedule of 2") {
		t.Errorf("kept stages that do not fit the schedule: %v", err)
	}
}
