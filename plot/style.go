package plot

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	gp "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sdtp/sdtp/bench"
)

// seriesColors are the line colors of the configurations after the
// baseline (which is drawn in near-black): the Tableau 10 palette, chosen
// to stay apart for common colour-vision deficiencies.
var seriesColors = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

var (
	baselineColor = color.RGBA{40, 40, 40, 255}
	gridColor     = color.RGBA{220, 220, 220, 255}
	refColor      = color.RGBA{150, 150, 150, 255}
)

// glyphs distinguish the series in black-and-white print.
var glyphs = []draw.GlyphDrawer{draw.PyramidGlyph{}, draw.BoxGlyph{}, draw.RingGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}

// seriesStyle returns the color and glyph of a configuration of r.
func seriesStyle(r *bench.Result, name string) (color.Color, draw.GlyphDrawer) {
	k := 0
	for _, c := range r.Configs() {
		if c == name {
			break
		}
		if c != bench.Baseline {
			k++
		}
	}
	if name == bench.Baseline {
		return baselineColor, draw.CircleGlyph{}
	}
	return styleAt(k)
}

// styleAt is the color and glyph of the k-th series after the baseline.
func styleAt(k int) (color.Color, draw.GlyphDrawer) {
	return seriesColors[k%len(seriesColors)], glyphs[k%len(glyphs)]
}

// newPanel makes a plot with the house fonts and a light grid.
func newPanel(title, xLabel, yLabel string) *gp.Plot {
	p := gp.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*gp.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(10)
		a.Tick.Label.Font.Size = vg.Points(9)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
	p.Legend.ThumbnailWidth = vg.Points(22)
	p.Legend.Padding = vg.Points(2.5)
	// Both axes default to round ticks labelled exactly (gonum's default
	// rounds labels: a tick at 1.08 read "1.1"); lengthAxis, logYAxis and
	// the categorical charts replace them.
	p.X.Tick.Marker = gp.TickerFunc(linearTicks)
	p.Y.Tick.Marker = gp.TickerFunc(linearTicks)
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridColor, gridColor
	p.Add(g)
	return p
}

// lengthAxis puts prompt lengths on a log-2 x axis, ticked at each length.
func lengthAxis(p *gp.Plot, lengths []int) {
	p.X.Scale = gp.LogScale{}
	var ticks gp.ConstantTicks
	for _, n := range lengths {
		ticks = append(ticks, gp.Tick{Value: float64(n), Label: lengthLabel(n)})
	}
	p.X.Tick.Marker = ticks
	if len(lengths) > 0 {
		lo, hi := float64(lengths[0]), float64(lengths[len(lengths)-1])
		if lo == hi {
			lo, hi = lo/1.5, hi*1.5
		}
		p.X.Min, p.X.Max = lo/1.12, hi*1.12
	}
}

// lengthLabel writes 2048 as "2K" and 1000 as "1000".
func lengthLabel(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.Itoa(n/1024) + "K"
	}
	return strconv.Itoa(n)
}

// logYAxis puts the y axis on a log scale over [lo, hi] with 1-2-5 ticks.
func logYAxis(p *gp.Plot, lo, hi float64) {
	if !(lo > 0) || !(hi >= lo) {
		return
	}
	p.Y.Scale = gp.LogScale{}
	p.Y.Tick.Marker = gp.TickerFunc(logTicks)
	// headroom above the data for the legend in the top-left corner
	p.Y.Min, p.Y.Max = lo/1.25, hi*math.Pow(hi/lo, 0.3)*1.1
}

// linearTicks marks about six round values (steps of 1, 2 or 5 times a
// power of ten) in [min, max], labelled with no more decimals than needed.
func linearTicks(min, max float64) []gp.Tick {
	if !(max > min) {
		return []gp.Tick{{Value: min, Label: strconv.FormatFloat(min, 'g', 4, 64)}}
	}
	raw := (max - min) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	dec := max0(-int(math.Floor(math.Log10(step) + 1e-9)))
	var ticks []gp.Tick
	for v := math.Ceil(min/step-1e-9) * step; v <= max+step*1e-9; v += step {
		ticks = append(ticks, gp.Tick{Value: v, Label: strconv.FormatFloat(v+0, 'f', dec, 64)})
	}
	// unlabelled minor ticks halfway
	for v := math.Ceil(min/step-1e-9)*step - step/2; v <= max; v += step {
		if v >= min {
			ticks = append(ticks, gp.Tick{Value: v})
		}
	}
	return ticks
}

func max0(v int) int {
	if v < 0 {
		return 0
	}
	return v
}

// logTicks marks 1, 2 and 5 times each power of ten in [min, max] (all
// nine multiples when that gives fewer than three), with unlabelled minor
// ticks at the other multiples.
func logTicks(min, max float64) []gp.Tick {
	if !(min > 0) || !(max > min) {
		return nil
	}
	major := func(m int) bool { return m == 1 || m == 2 || m == 5 }
	count := 0
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for m := 1; m <= 9; m++ {
			if v := float64(m) * math.Pow(10, e); v >= min && v <= max && major(m) {
				count++
			}
		}
	}
	if count < 3 {
		major = func(int) bool { return true }
	}
	var ticks []gp.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow(10, e)
			if v < min || v > max {
				continue
			}
			t := gp.Tick{Value: v}
			if major(m) {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// series adds a line with markers; dashed draws it dashed without markers.
// It returns the line for legends.
func series(p *gp.Plot, xys plotter.XYs, c color.Color, g draw.GlyphDrawer, dashed bool) (*plotter.Line, *plotter.Scatter, error) {
	if len(xys) == 0 {
		return nil, nil, nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, nil, err
	}
	l.Color = c
	l.Width = vg.Points(1.6)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		l.Width = vg.Points(1.2)
		p.Add(l)
		return l, nil, nil
	}
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, nil, err
	}
	s.Color = c
	s.Shape = g
	s.Radius = vg.Points(3)
	p.Add(l, s)
	return l, s, nil
}

// hline draws a thin grey reference line at y across the x range.
func hline(p *gp.Plot, y, x0, x1 float64) error {
	l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
	if err != nil {
		return err
	}
	l.Color = refColor
	l.Width = vg.Points(1)
	l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(l)
	return nil
}

// heading describes the model and machine above a figure.
func heading(r *bench.Result) string {
	m := &r.Meta
	return fmt.Sprintf("%s on %s — %s", m.Model.Name, m.Backend, m.Device)
}

// okRows calls fn for each successful row of config, in length order.
func okRows(r *bench.Result, config string, fn func(row *bench.Row)) {
	for _, n := range r.Lengths() {
		if row := r.Find(n, config); row != nil && row.OK() {
			fn(row)
		}
	}
}

// pruned lists the configurations other than the baseline.
func pruned(r *bench.Result) []string {
	var out []string
	for _, c := range r.Configs() {
		if c != bench.Baseline {
			out = append(out, c)
		}
	}
	return out
}

// hasSpeedups reports whether any row has a speedup against a baseline.
func hasSpeedups(r *bench.Result) bool {
	for i := range r.Rows {
		if r.Rows[i].Speedup != nil && r.Rows[i].Config != bench.Baseline {
			return true
		}
	}
	return false
}

// bounds tracks the range of plotted values.
type bounds struct{ lo, hi float64 }

func newBounds() bounds { return bounds{math.Inf(1), math.Inf(-1)} }

func (b *bounds) add(v float64) {
	if v > 0 && !math.IsInf(v, 0) {
		b.lo, b.hi = math.Min(b.lo, v), math.Max(b.hi, v)
	}
}

// okLengths returns the lengths at which at least one row succeeded.
func okLengths(r *bench.Result) []int {
	var out []int
	for _, n := range r.Lengths() {
		for _, c := range r.Configs() {
			if row := r.Find(n, c); row != nil && row.OK() {
				out = append(out, n)
				break
			}
		}
	}
	return out
}
