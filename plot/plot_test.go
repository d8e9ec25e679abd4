package plot

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	gp "gonum.org/v1/plot"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/internal/testmodel"
)

// tinyResult runs a small real sweep on the tiny synthetic model.
func tinyResult(t *testing.T, configs []string) *bench.Result {
	t.Helper()
	m := testmodel.Tiny(t, backend.BF16, 1)
	res, err := bench.Run(context.Background(), m, bench.Options{
		Lengths: []int{32, 64, 128, 5000}, Configs: configs, NewTokens: 3, Repeats: 2, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestEveryChartProduced is issue 6's acceptance 3 (the automated half):
// every chart type is written, in both formats, and is a non-empty image
// of the figure's size.
func TestEveryChartProduced(t *testing.T) {
	res := tinyResult(t, []string{"baseline", "paper", "keep0.7"})
	q := []bench.Quality{{Config: "baseline", Score: 41.2}, {Config: "paper", Score: 40.5}, {Config: "keep0.7", Score: 37.9}}
	dir := t.TempDir()
	paths, err := Write(dir, res, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"latency", "speedup", "flops", "kv-cache", "speedup-heatmap", "quality-vs-speed"}
	if len(paths) != 2*len(want) {
		t.Errorf("wrote %v, want %d files", paths, 2*len(want))
	}
	figs, err := Figures(res, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		i := slices.IndexFunc(figs, func(f *Figure) bool { return f.Name == name })
		if i < 0 {
			t.Errorf("no %s figure", name)
			continue
		}
		checkRendered(t, dir, figs[i])
		for _, p := range figs[i].Panels {
			if p.Title.Text == "" || (p.X.Label.Text == "" && name != "speedup-heatmap") {
				t.Errorf("%s: panel without title or x label", name)
			}
		}
	}
}

// checkRendered checks the figure's files in dir: a PNG of the figure's
// width that is not blank, and an SVG with a drawing in it.
func checkRendered(t *testing.T, dir string, f *Figure) {
	t.Helper()
	name := f.Name
	data, err := os.ReadFile(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s.png: %v", name, err)
	}
	cols := len(f.Panels)
	if f.Cols > 0 && f.Cols < cols {
		cols = f.Cols
	}
	wantW := int(float64(f.PanelWidth) * float64(cols) / 72 * 150)
	if b := img.Bounds(); b.Dx() < wantW-2 || b.Dx() > wantW+2 || b.Dy() < 100 {
		t.Errorf("%s.png is %v, want %d px wide", name, b, wantW)
	}
	if distinctColors(img) < 5 {
		t.Errorf("%s.png is (nearly) blank", name)
	}
	svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) || bytes.Count(svg, []byte("<path")) < 10 {
		t.Errorf("%s.svg has no drawing (%d bytes)", name, len(svg))
	}
}

// distinctColors counts the colors on a grid of every fourth pixel.
func distinctColors(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

func TestChartsNeedingABaseline(t *testing.T) {
	res := tinyResult(t, []string{"paper", "keep0.8"})
	figs, err := Figures(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range figs {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"latency", "flops", "kv-cache"}) {
		t.Errorf("figures without a baseline: %v", names)
	}
	if _, err := Figures(res, []bench.Quality{{Config: "paper", Score: 1}}); err == nil || !strings.Contains(err.Error(), "quality chart") {
		t.Errorf("quality without a baseline: %v", err)
	}
}

func TestNothingToPlot(t *testing.T) {
	res := &bench.Result{Rows: []bench.Row{{Length: 8, Config: "baseline", Error: "boom"}}}
	if _, err := Figures(res, nil); err == nil {
		t.Error("no error for a result without successful rows")
	}
	var buf bytes.Buffer
	f := &Figure{Name: "x", Panels: nil}
	if err := f.Render(&buf, "pdf"); err == nil {
		t.Error("no error for an unknown format")
	}
}

func TestLinearTicks(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		labels   []string
	}{
		{0, 1, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{0.3, 2.4, []string{"0.5", "1.0", "1.5", "2.0"}},
		{0, 25, []string{"0", "5", "10", "15", "20", "25"}},
		{-3, 31, []string{"0", "10", "20", "30"}},
	} {
		var got []string
		for _, tk := range linearTicks(tc.min, tc.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
			if tk.Value < tc.min-1e-9 || tk.Value > tc.max+1e-9 {
				t.Errorf("ticks(%v,%v): %v outside the range", tc.min, tc.max, tk.Value)
			}
		}
		if !slices.Equal(got, tc.labels) {
			t.Errorf("ticks(%v,%v) = %v, want %v", tc.min, tc.max, got, tc.labels)
		}
	}
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		labels   []string
	}{
		{0.15, 30, []string{"0.2", "0.5", "1", "2", "5", "10", "20"}},
		{1.1, 4.5, []string{"2", "3", "4"}},
	} {
		var got []string
		for _, tk := range logTicks(tc.min, tc.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, tc.labels) {
			t.Errorf("logTicks(%v,%v) = %v, want %v", tc.min, tc.max, got, tc.labels)
		}
	}
}

func TestLengthLabel(t *testing.T) {
	for n, want := range map[int]string{256: "256", 1024: "1K", 32768: "32K", 1000: "1000", 1536: "1536"} {
		if got := lengthLabel(n); got != want {
			t.Errorf("lengthLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

// FuzzFigures draws whatever bench.Parse accepts: a crafted result file
// gives figures or an error, never a panic.
func FuzzFigures(f *testing.F) {
	f.Add([]byte(`{"meta":{"model":{"num_layers":2},"options":{"repeats":1}},"rows":[{"length":4,"config":"baseline","alive":[4,4],"kv_tokens":[4,4],"kv_bytes":[9,9],"prefill_seconds":{"median":1,"min":1,"max":1},"total_seconds":{"samples":[1],"median":1}},{"length":4,"config":"paper","alive":[4,2],"kv_tokens":[4,2],"kv_bytes":[9,4],"total_seconds":{"samples":[0],"median":0},"speedup":{"prefill_flops_ratio":0,"prefill":2}}]}`))
	f.Add([]byte(`{"meta":{"model":{"num_layers":1}},"rows":[{"length":9,"config":"x","alive":[9],"kv_tokens":[9],"kv_bytes":[-5],"total_seconds":{"samples":[-1],"median":-1,"min":-3}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := bench.Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		figs, err := Figures(r, nil)
		if err != nil {
			return
		}
		for _, fig := range figs {
			var buf bytes.Buffer
			if err := fig.Render(&buf, "svg"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestTickLabelsAreTheirValues is issue 12's item 13: on every axis of
// every figure, a tick's label reads as the tick's value (the
// quality-vs-speed chart labelled ticks at 1.08 and 1.16 as "1.1" and
// "1.2"). Fixed tick lists (lengths, the heatmap's rows and columns) are
// left out, and so are labels that are not numbers.
func TestTickLabelsAreTheirValues(t *testing.T) {
	res := tinyResult(t, []string{"baseline", "paper", "keep0.7"})
	q := []bench.Quality{{Config: "baseline", Score: 41.2}, {Config: "paper", Score: 40.5}, {Config: "keep0.7", Score: 37.9}}
	n := res.SpeedLength(res.Lengths(), q)
	if n == 0 {
		t.Fatal("no length with every configuration")
	}
	// Speedups of 1.15× and 1.05× put the x axis over about 0.97–1.18.
	res.Find(n, "paper").Speedup.Total, res.Find(n, "keep0.7").Speedup.Total = 1.15, 1.05
	figs, err := Figures(res, q)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range figs {
		for _, p := range f.Panels {
			for _, a := range []*gp.Axis{&p.X, &p.Y} {
				if _, fixed := a.Tick.Marker.(gp.ConstantTicks); fixed {
					continue
				}
				for _, tk := range a.Tick.Marker.Ticks(a.Min, a.Max) {
					v, err := strconv.ParseFloat(tk.Label, 64)
					if tk.Label == "" || err != nil {
						continue
					}
					checked++
					if math.Abs(v-tk.Value) > 1e-9*math.Max(1, math.Abs(tk.Value)) {
						t.Errorf("%s, %q axis: tick at %v labelled %q", f.Name, a.Label.Text, tk.Value, tk.Label)
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d numeric tick labels checked", checked)
	}
}

// TestNoisySpeedupsMarked: speedups the sweep flagged noisy are crossed
// in the speedup chart (with a legend entry), marked † in the heatmap and
// in the quality chart's legend; every speedup gets a bar over its range.
func TestNoisySpeedupsMarked(t *testing.T) {
	res := tinyResult(t, []string{"baseline", "paper", "keep0.7"})
	res.Meta.Options.NoiseLimit = 0.1
	for i := range res.Rows {
		if sp := res.Rows[i].Speedup; sp != nil && res.Rows[i].Config != bench.Baseline {
			sp.PrefillNoisy = res.Rows[i].Length == 64 && res.Rows[i].Config == "paper"
			sp.TotalNoisy = res.Rows[i].Config == "keep0.7"
			sp.TotalRange = [2]float64{0.8 * sp.Total, 1.25 * sp.Total}
		}
	}
	q := []bench.Quality{{Config: "baseline", Score: 41.2}, {Config: "paper", Score: 40.5}, {Config: "keep0.7", Score: 37.9}}
	figs, err := Figures(res, q)
	if err != nil {
		t.Fatal(err)
	}
	svg := map[string]string{}
	for _, f := range figs {
		var buf bytes.Buffer
		if err := f.Render(&buf, "svg"); err != nil {
			t.Fatal(err)
		}
		svg[f.Name] = buf.String()
	}
	for _, tc := range []struct{ figure, want string }{
		{"speedup", "crossed: noisy (range wider than ±10%)"},
		{"speedup", "bars: each speedup"},
		{"speedup-heatmap", "†"},
		{"speedup-heatmap", "† noisy: range wider than ±10%"},
		{"quality-vs-speed", "keep0.7: 37.90 at"},
	} {
		if !strings.Contains(svg[tc.figure], tc.want) {
			t.Errorf("%s chart does not show %q", tc.figure, tc.want)
		}
	}
	if strings.Count(svg["speedup-heatmap"], "×†") != 3+1 { // keep0.7 end to end at 3 lengths, paper prefill at 64
		t.Errorf("heatmap marks %d cells, want 4", strings.Count(svg["speedup-heatmap"], "×†"))
	}
	if strings.Count(svg["quality-vs-speed"], "†") != 1 {
		t.Errorf("quality chart legend marks %d configurations, want keep0.7 only", strings.Count(svg["quality-vs-speed"], "†"))
	}
}
