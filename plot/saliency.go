package plot

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	gp "gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train"
)

// The saliency figures' file names (without extension).
const (
	SaliencyHeatmapName  = "saliency-heatmap"
	SaliencySparsityName = "saliency-sparsity"
	SaliencyKeptName     = "saliency-kept"
)

// saliencyFloor is the smallest |π̂|, relative to its block's largest,
// the heatmap tells apart (10⁻⁴).
const saliencyFloor = -4

// Saliency draws a saliency summary (the SDTP paper's Figs. 1–2): the
// example text's |π̂| per block over token positions, the sparsity
// statistics (the share of the prompt tokens holding 50/80/90 % of their
// |π̂| per block, and each block's mass curve), and, when the summary has
// them, the tokens each pruning stage kept.
func Saliency(s *train.SaliencySummary, heading string) ([]*Figure, error) {
	if s == nil || len(s.TokenShare) == 0 || len(s.Example.Saliency) == 0 {
		return nil, fmt.Errorf("saliency figures: no saliency to draw")
	}
	figs := []*Figure{saliencyHeatmap(s, heading)}
	sp, err := saliencySparsity(s, heading)
	if err != nil {
		return nil, err
	}
	figs = append(figs, sp)
	if s.Example.Kept != nil {
		k, err := saliencyKept(s, heading)
		if err != nil {
			return nil, err
		}
		figs = append(figs, k)
	}
	return figs, nil
}

// WriteSaliency renders the saliency figures of s into dir in each format.
func WriteSaliency(dir string, s *train.SaliencySummary, heading string, formats ...string) ([]string, error) {
	figs, err := Saliency(s, heading)
	if err != nil {
		return nil, err
	}
	return WriteFigures(dir, figs, formats...)
}

// grid is a rows × cols matrix for a heat map, row 0 drawn at the top.
type grid struct{ z [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g grid) Z(c, r int) float64 { return g.z[len(g.z)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// rowTicks labels heat map rows, the first at the top.
func rowTicks(labels []string) gp.ConstantTicks {
	var t gp.ConstantTicks
	for i, l := range labels {
		t = append(t, gp.Tick{Value: float64(len(labels) - 1 - i), Label: l})
	}
	return t
}

// heatPanel makes a panel holding a heat map of g over token positions.
func heatPanel(title string, g grid, pal palette.Palette, lo, hi float64, rows []string) *gp.Plot {
	p := newPanel(title, "token position", "")
	hm := plotter.NewHeatMap(g, pal)
	hm.Min, hm.Max = lo, hi
	hm.Rasterized = false
	p.Add(hm)
	cols, nr := g.Dims()
	p.Y.Tick.Marker = rowTicks(rows)
	p.X.Min, p.X.Max = -0.5, float64(cols)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(nr)-0.5
	p.X.Padding, p.Y.Padding = 0, 0
	return p
}

// exampleTitle names the example text.
func exampleTitle(s *train.SaliencySummary) string {
	return fmt.Sprintf("text %d (data line %d, %d tokens)", s.Example.Index, s.Example.Line, len(s.Example.IDs))
}

// boundary marks the start of the continuation (the last tokens, which
// pruning never drops) with a vertical line.
func boundary(p *gp.Plot, s *train.SaliencySummary, rows int) error {
	if s.Example.Prompt >= len(s.Example.IDs) {
		return nil
	}
	x := float64(s.Example.Prompt) - 0.5
	l, err := plotter.NewLine(plotter.XYs{{X: x, Y: -0.5}, {X: x, Y: float64(rows) - 0.5}})
	if err != nil {
		return err
	}
	l.Color = color.RGBA{200, 30, 30, 255}
	l.Width = vg.Points(1.5)
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	p.Add(l)
	return nil
}

// saliencyHeatmap draws the example's log10(|π̂| / the block's largest).
func saliencyHeatmap(s *train.SaliencySummary, heading string) *Figure {
	var z [][]float64
	var rows []string
	for b, v := range s.Example.Saliency {
		top := 0.0
		for _, x := range v {
			top = math.Max(top, math.Abs(x))
		}
		row := make([]float64, len(v))
		for i, x := range v {
			row[i] = saliencyFloor
			if top > 0 && x != 0 {
				row[i] = math.Max(math.Log10(math.Abs(x)/top), saliencyFloor)
			}
		}
		z = append(z, row)
		rows = append(rows, fmt.Sprintf("block %d", b))
	}
	pal, _ := brewer.GetPalette(brewer.TypeSequential, "YlOrRd", 9) // a palette in the table
	title := fmt.Sprintf("|π̂| at each block's input, %s; log scale, darkest = the block's largest, lightest = 1e-4 of it or less", exampleTitle(s))
	p := heatPanel(title, grid{z}, pal, saliencyFloor, 0, rows)
	_ = boundary(p, s, len(rows)) // two points always make a line
	if s.Example.Prompt < len(s.Example.IDs) {
		title += "; dashed: continuation starts"
		p.Title.Text = title
	}
	return &Figure{Name: SaliencyHeatmapName, Heading: heading, Panels: []*gp.Plot{p}, PanelWidth: 10 * vg.Inch, Height: vg.Length(1.6+0.45*float64(len(rows))) * vg.Inch}
}

// saliencySparsity draws, per block, the share of the tokens holding each
// level of the saliency mass, and the mass curves.
func saliencySparsity(s *train.SaliencySummary, heading string) (*Figure, error) {
	blocks := len(s.TokenShare)
	p := newPanel(fmt.Sprintf("Prompt tokens holding most of their |π̂| (mean over %d texts, bars: range)", s.Texts), "block", "share of the prompt tokens")
	p.X.Tick.Marker = layerTicks(blocks)
	for k, l := range s.Levels {
		var pts minMaxErrors
		for b := range blocks {
			v := s.TokenShare[b][k]
			if !finite(v) {
				continue
			}
			pts.XYs = append(pts.XYs, plotter.XY{X: float64(b), Y: v})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{v - s.TokenShareMin[b][k], s.TokenShareMax[b][k] - v})
		}
		c := seriesColors[k%len(seriesColors)]
		line, sc, err := series(p, pts.XYs, c, glyphs[k%len(glyphs)], false)
		if err != nil {
			return nil, fmt.Errorf("sparsity chart: %w", err)
		}
		if line == nil {
			continue
		}
		if err := errorBars(p, pts, c); err != nil {
			return nil, err
		}
		p.Legend.Add(fmt.Sprintf("%g%% of |π̂|", 100*l), line, sc)
	}
	p.Y.Min, p.Y.Max = 0, 1.15
	p.X.Min, p.X.Max = -0.3, float64(blocks)-0.7

	q := newPanel("Share of the prompt's |π̂| held by its top tokens (mean over texts)", "share of the prompt tokens, most salient first", "share of |π̂|")
	uniform, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, err
	}
	uniform.Color, uniform.Width, uniform.Dashes = refColor, vg.Points(1), []vg.Length{vg.Points(3), vg.Points(2)}
	q.Add(uniform)
	q.Legend.Add("equal saliency", uniform)
	for b := range blocks {
		xys := plotter.XYs{{X: 0, Y: 0}}
		for j, x := range s.CurveX {
			if v := s.Curve[b][j]; finite(v) {
				xys = append(xys, plotter.XY{X: x, Y: v})
			}
		}
		c, g := blockStyle(b, blocks)
		line, _, err := series(q, xys, c, g, true)
		if err != nil {
			return nil, fmt.Errorf("mass curves: %w", err)
		}
		line.Dashes = nil
		q.Legend.Add(fmt.Sprintf("block %d", b), line)
	}
	q.X.Min, q.X.Max, q.Y.Min, q.Y.Max = 0, 1, 0, 1.02
	q.Legend.Top, q.Legend.Left = false, false
	return &Figure{Name: SaliencySparsityName, Heading: heading, Panels: []*gp.Plot{p, q}, PanelWidth: panelWidth, Height: panelHeight}, nil
}

// blockStyle colours block b of n from light to dark.
func blockStyle(b, n int) (color.Color, draw.GlyphDrawer) {
	pal, _ := brewer.GetPalette(brewer.TypeSequential, "Blues", 9)
	cs := pal.Colors()
	i := 3 + b*(len(cs)-4)/max(n-1, 1)
	return cs[min(i, len(cs)-1)], glyphs[b%len(glyphs)]
}

// The kept-token picture's cell kinds and their colours.
const (
	cellDropped = iota
	cellKept
	cellProtected
	cellContinuation
)

var cellColors = []color.Color{
	color.RGBA{232, 232, 232, 255}, // dropped
	seriesColors[0],                // kept by its score
	color.RGBA{40, 40, 40, 255},    // protected
	seriesColors[2],                // continuation
}

// swatch is a legend entry that is a filled square of its colour.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	c.FillPolygon(s.c, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
}

// saliencyKept draws which tokens of the example are alive before the
// first stage and after each stage.
func saliencyKept(s *train.SaliencySummary, heading string) (*Figure, error) {
	ex, k := s.Example, s.Example.Kept
	if len(k.Alive) != len(k.Schedule.Locations) {
		return nil, fmt.Errorf("kept tokens: %d stages for a schedule of %d locations", len(k.Alive), len(k.Schedule.Locations))
	}
	n := len(ex.IDs)
	row := func(alive []int32) []float64 {
		r := make([]float64, n)
		for i := range r {
			switch {
			case i >= ex.Prompt:
				r[i] = cellContinuation
			case prune.IsProtected(i, ex.Prompt):
				r[i] = cellProtected
			case slices.Contains(alive, int32(i)):
				r[i] = cellKept
			}
		}
		return r
	}
	all := make([]int32, ex.Prompt)
	for i := range all {
		all[i] = int32(i)
	}
	z := [][]float64{row(all)}
	labels := []string{fmt.Sprintf("prompt (%d)", ex.Prompt)}
	for st, alive := range k.Alive {
		z = append(z, row(alive))
		labels = append(labels, fmt.Sprintf("stage %d, block %d (%d)", st+1, k.Schedule.Locations[st], len(alive)))
	}
	pal := fixedPalette(cellColors)
	title := fmt.Sprintf("Tokens alive after each stage, %s; scores: %s, %s", exampleTitle(s), k.Scorer, k.Schedule)
	p := heatPanel(title, grid{z}, pal, 0, float64(len(cellColors)-1), labels)
	for i, name := range []string{"dropped", "kept by score", "protected (first 4, last 10%)", "continuation (never pruned)"} {
		if i == cellContinuation && ex.Prompt == n {
			continue
		}
		p.Legend.Add(name, swatch{cellColors[i]})
	}
	// The legend goes in a blank margin right of the tokens.
	p.X.Max = float64(n)*1.28 - 0.5
	p.X.Tick.Marker = gp.TickerFunc(func(lo, _ float64) []gp.Tick { return linearTicks(lo, float64(n-1)) })
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.XOffs, p.Legend.YOffs = 0, 0
	return &Figure{Name: SaliencyKeptName, Heading: heading, Panels: []*gp.Plot{p}, PanelWidth: 11 * vg.Inch, Height: vg.Length(1.6+0.45*float64(max(len(labels), 3))) * vg.Inch}, nil
}

// fixedPalette is a palette of exactly the given colours.
type fixedPalette []color.Color

func (f fixedPalette) Colors() []color.Color { return f }
