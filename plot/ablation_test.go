package plot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/ablation"
	"github.com/sdtp/sdtp/train"
)

// ablationRow is a sweep row with the given schedule, loss and module KL
// and agreement (the references a little worse, the oracle better).
func ablationRow(locs []int, ratio float64, loss ablation.Loss, flops, kl, agree float64) *ablation.Row {
	sc := func(name string, k, a float64) train.ScorerReport {
		return train.ScorerReport{Name: name, KL: k, Agreement: a}
	}
	return &ablation.Row{Name: "x", Locations: locs, Ratio: ratio, Stages: len(locs), Loss: loss, FLOPsRatio: flops,
		Eval: &train.EvalReport{Scorers: []train.ScorerReport{sc(ablation.ModuleScorer, kl, agree), sc("random", 3*kl, agree-0.03), sc("recent", 2*kl, agree-0.01), sc(train.OracleName, kl/2, agree+0.01)}}}
}

// TestAblationChart draws a sweep's rows: both panels, every point
// labelled by its schedule or loss variant, in both formats.
func TestAblationChart(t *testing.T) {
	rows := []*ablation.Row{
		ablationRow([]int{3, 4}, 0.6, ablation.Full, 0.71, 0.012, 0.954),
		ablationRow([]int{4}, 0.5, ablation.Full, 0.86, 0.002, 0.982),
		ablationRow([]int{2, 3, 4}, 0.7, ablation.Full, 0.66, 0.03, 0.93),
		ablationRow([]int{3, 4}, 0.6, ablation.NoRank, 0.71, 0.0119, 0.9537),
		ablationRow([]int{3, 4}, 0.6, ablation.RatioOnly, 0.71, 0.02, 0.94),
	}
	dir := t.TempDir()
	if d := os.Getenv("SDTP_KEEP_FIGURES"); d != "" {
		dir = d
	}
	paths, err := WriteAblation(dir, rows, "stories260K")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 {
		t.Fatalf("wrote %v", paths)
	}
	f, err := Ablation(rows, "stories260K")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Panels) != 2 {
		t.Fatalf("%d panels, want 2", len(f.Panels))
	}
	checkRendered(t, dir, f)
	svg, err := os.ReadFile(filepath.Join(dir, AblationName+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"3,4/0.6", "4/0.5", "2,3,4/0.7", "no-rank", "ratio-only", "saliency oracle", "keep-most-recent"} {
		if !strings.Contains(string(svg), label) {
			t.Errorf("the chart lacks %q", label)
		}
	}
	if _, err := Ablation(nil, ""); err == nil {
		t.Error("no error for no rows")
	}
	if _, err := Ablation([]*ablation.Row{{Name: "y"}}, ""); err == nil {
		t.Error("no error for a row without an evaluation")
	}
}
