// Package plot draws benchmark results (package bench) as PNG and SVG
// figures with gonum/plot: latency against prompt length, speedup against
// length, FLOPs and their reduction, the KV cache per layer, a speedup
// heatmap (configuration × length) and, when LongBench scores are given,
// quality against speed.
package plot

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	gp "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/internal/atomicfile"
)

// Formats are the file types Write can produce.
var Formats = []string{"png", "svg"}

// Figure is one chart: one or more panels side by side under a heading.
type Figure struct {
	// Name is the file name without extension ("latency").
	Name string
	// Heading is drawn above the panels (model and device).
	Heading string
	Panels  []*gp.Plot
	// PanelWidth and Height size each panel.
	PanelWidth, Height vg.Length
	// Cols is the number of panels in a row; 0 puts them all in one.
	Cols int
}

// Figures builds every chart the result supports: all but "quality" need
// only r; "quality" needs scores q for at least one configuration that r
// also measured against its baseline.
func Figures(r *bench.Result, q []bench.Quality) ([]*Figure, error) {
	if !anyOK(r) {
		return nil, fmt.Errorf("no successful rows to plot")
	}
	makers := []func() (*Figure, error){
		func() (*Figure, error) { return latency(r) },
		func() (*Figure, error) { return speedup(r) },
		func() (*Figure, error) { return flops(r) },
		func() (*Figure, error) { return kvCache(r) },
		func() (*Figure, error) { return heatmap(r) },
	}
	if len(q) > 0 {
		makers = append(makers, func() (*Figure, error) { return quality(r, q) })
	}
	var out []*Figure
	for _, mk := range makers {
		f, err := mk()
		if err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, f)
		}
	}
	return out, nil
}

// Write renders every figure of r (and q) into dir in each format, and
// returns the paths written.
func Write(dir string, r *bench.Result, q []bench.Quality, formats ...string) ([]string, error) {
	if len(formats) == 0 {
		formats = Formats
	}
	figs, err := Figures(r, q)
	if err != nil {
		return nil, err
	}
	return WriteFigures(dir, figs, formats...)
}

// WriteFigures renders figs into dir in each format (all of Formats when
// none is given), and returns the paths written.
func WriteFigures(dir string, figs []*Figure, formats ...string) ([]string, error) {
	if len(formats) == 0 {
		formats = Formats
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("figures folder: %w", err)
	}
	var paths []string
	for _, f := range figs {
		for _, format := range formats {
			var buf bytes.Buffer
			if err := f.Render(&buf, format); err != nil {
				return paths, fmt.Errorf("figure %s: %w", f.Name, err)
			}
			path := filepath.Join(dir, f.Name+"."+format)
			if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
				return paths, err
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

// Render draws the figure as png or svg.
func (f *Figure) Render(w io.Writer, format string) error {
	cols := len(f.Panels)
	if f.Cols > 0 && f.Cols < cols {
		cols = f.Cols
	}
	rows := 1
	if cols > 0 {
		rows = (len(f.Panels) + cols - 1) / cols
	}
	width := f.PanelWidth * vg.Length(cols)
	height := f.Height * vg.Length(rows)
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(150))}
	case "svg":
		c = vgsvg.NewWith(vgsvg.UseWH(width, height))
	default:
		return fmt.Errorf("unknown format %q (have png, svg)", format)
	}
	dc := draw.New(c)
	headH := vg.Length(0)
	if f.Heading != "" {
		sty := textStyle(11)
		headH = sty.Height(f.Heading) + vg.Points(8)
		dc.FillText(sty, vg.Point{X: dc.Min.X + width/2, Y: dc.Max.Y - vg.Points(4)}, f.Heading)
	}
	body := draw.Crop(dc, 0, 0, 0, -headH)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(18), PadY: vg.Points(10), PadTop: vg.Points(4), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10)}
	layout := make([][]*gp.Plot, rows)
	for i := range layout {
		layout[i] = make([]*gp.Plot, cols) // a short last row keeps nil tiles
		copy(layout[i], f.Panels[i*cols:])
	}
	grid := gp.Align(layout, tiles, body)
	for i, p := range f.Panels {
		p.Draw(grid[i/cols][i%cols])
	}
	_, err := c.WriteTo(w)
	return err
}

// textStyle is the heading style: centred on its point, hanging below it.
func textStyle(size float64) text.Style {
	s := gp.New().Title.TextStyle
	s.Font.Size = vg.Points(size)
	s.XAlign = draw.XCenter
	s.YAlign = draw.YTop
	return s
}

func anyOK(r *bench.Result) bool {
	for i := range r.Rows {
		if r.Rows[i].OK() {
			return true
		}
	}
	return false
}
