package plot

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/sdtp/sdtp/ruler"
)

func TestRulerFigures(t *testing.T) {
	score := func(task string, length int, v float64) ruler.TaskScore {
		return ruler.TaskScore{Task: task, Length: length, Metric: ruler.MatchAll, Rows: 4, Score: v}
	}
	runs := []ruler.RunScores{
		{Name: "baseline", Scores: []ruler.TaskScore{score("niah_single_1", 4096, 100), score("niah_single_1", 8192, 90), score("vt", 4096, 80), score("vt", 8192, 60)}},
		{Name: "paper", Scores: []ruler.TaskScore{score("niah_single_1", 4096, 95), score("niah_single_1", 8192, 70), score("vt", 4096, 75), score("vt", 8192, 40)}},
		{Name: "recent", Scores: []ruler.TaskScore{score("niah_single_1", 4096, 50), score("vt", 4096, 20)}},
	}
	figs, err := RulerFigures("synthetic:tiny on cpu", runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || figs[0].Name != "ruler-accuracy" || figs[1].Name != "ruler-tasks" {
		t.Fatalf("figures %v", figs)
	}
	if n := len(figs[1].Panels); n != 2 {
		t.Errorf("%d task panels, want one per task scored (2)", n)
	}
	dir := t.TempDir()
	paths, err := WriteFigures(dir, figs, "png", "svg")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Errorf("wrote %v", paths)
	}
	for _, f := range figs {
		data, err := os.ReadFile(filepath.Join(dir, f.Name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if distinctColors(img) < 5 {
			t.Errorf("%s.png is (nearly) blank", f.Name)
		}
		svg, err := os.ReadFile(filepath.Join(dir, f.Name+".svg"))
		if err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s.svg: %v", f.Name, err)
		}
	}
	if _, err := RulerFigures("", nil); err == nil {
		t.Error("no runs: no error")
	}
}
