package plot

import (
	"fmt"
	"image/color"
	"strconv"

	gp "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sdtp/sdtp/ruler"
)

// RulerFigures draws RULER accuracy against the target length, one line
// per run (configuration), the first drawn as the baseline:
// "ruler-accuracy", the mean over the tasks every run has at each length,
// and "ruler-tasks", one panel per task. heading goes above both.
func RulerFigures(heading string, runs []ruler.RunScores) ([]*Figure, error) {
	m := ruler.Means(runs)
	if len(m.Lengths) == 0 {
		return nil, fmt.Errorf("no scored rows to plot")
	}
	mean := newPanel("RULER: mean over tasks", "target length (tokens)", "accuracy (string match ×100)")
	for i, r := range runs {
		var xys plotter.XYs
		for j, l := range m.Lengths {
			if v := m.Means[i][j]; finite(v) {
				xys = append(xys, plotter.XY{X: float64(l), Y: v})
			}
		}
		if err := rulerSeries(mean, i, r.Name, xys); err != nil {
			return nil, err
		}
	}
	accuracyAxes(mean, m.Lengths, len(runs))
	figs := []*Figure{{Name: "ruler-accuracy", Heading: heading, Panels: []*gp.Plot{mean}, PanelWidth: panelWidth, Height: panelHeight}}

	tasks := &Figure{Name: "ruler-tasks", Heading: heading, PanelWidth: 3.6 * vg.Inch, Height: 3.1 * vg.Inch, Cols: 4}
	for _, task := range ruler.TaskNames() {
		p := newPanel(task, "length", "accuracy")
		any := false
		for i, r := range runs {
			var xys plotter.XYs
			for _, s := range r.Scores {
				if s.Task == task {
					xys = append(xys, plotter.XY{X: float64(s.Length), Y: s.Score})
				}
			}
			any = any || len(xys) > 0
			if err := rulerSeries(p, i, r.Name, xys); err != nil {
				return nil, err
			}
		}
		if any {
			accuracyAxes(p, m.Lengths, len(runs))
			tasks.Panels = append(tasks.Panels, p)
		}
	}
	return append(figs, tasks), nil
}

// rulerSeries adds run i's points (ascending length) with its legend
// entry: the first run in the baseline's style, the others in turn.
func rulerSeries(p *gp.Plot, i int, name string, xys plotter.XYs) error {
	if len(xys) == 0 {
		return nil
	}
	var c color.Color = baselineColor
	var g draw.GlyphDrawer = draw.CircleGlyph{}
	if i > 0 {
		c, g = styleAt(i - 1)
	}
	l, s, err := series(p, xys, c, g, false)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	p.Legend.Add(name, l, s)
	return nil
}

// accuracyAxes puts the lengths on a log-2 axis and accuracy on [0, 100]
// with room above 100 for the legend, where no point can be.
func accuracyAxes(p *gp.Plot, lengths []int, runs int) {
	lengthAxis(p, lengths)
	var ticks gp.ConstantTicks
	for v := 0; v <= 100; v += 20 {
		ticks = append(ticks, gp.Tick{Value: float64(v), Label: strconv.Itoa(v)})
	}
	p.Y.Tick.Marker = ticks
	p.Y.Min, p.Y.Max = 0, 104+9*float64(runs)
}
