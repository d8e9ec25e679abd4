package plot

import (
	"fmt"
	"image/color"
	"math"

	gp "gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sdtp/sdtp/bench"
)

// noisyMark follows a speedup the sweep flagged noisy, as in the reports.
const noisyMark = "†"

const (
	panelWidth      = 5.2 * vg.Inch
	panelHeight     = 4.2 * vg.Inch
	lengthAxisLabel = "prompt length (tokens)"
)

// minMaxErrors draws a series' spread as error bars from min to max.
type minMaxErrors struct {
	plotter.XYs
	plotter.YErrors
}

// errorBars draws pts' error bars on p in color c.
func errorBars(p *gp.Plot, pts minMaxErrors, c color.Color) error {
	eb, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return err
	}
	eb.Color = c
	eb.CapWidth = vg.Points(5)
	p.Add(eb)
	return nil
}

// latency plots prefill, decode and end-to-end seconds against length.
func latency(r *bench.Result) (*Figure, error) {
	lengths := okLengths(r)
	titles := []string{"Prefill (to the first token's logits)", fmt.Sprintf("Decode (%d new tokens, greedy)", r.Meta.Options.NewTokens), "End to end (prefill + decode)"}
	pick := []func(*bench.Row) bench.Stat{
		func(row *bench.Row) bench.Stat { return row.Prefill },
		func(row *bench.Row) bench.Stat { return row.Decode },
		func(row *bench.Row) bench.Stat { return row.Total },
	}
	runs := fmt.Sprint(r.Meta.Options.Repeats)
	if lo, hi := r.TimedRuns(); lo > 0 && lo < hi {
		runs = fmt.Sprintf("%d–%d", lo, hi)
	}
	note := fmt.Sprintf("medians of %s timed runs, bars from fastest to slowest", runs)
	f := &Figure{Name: "latency", Heading: heading(r) + " — " + note, PanelWidth: panelWidth, Height: panelHeight}
	for i, title := range titles {
		p := newPanel(title, lengthAxisLabel, "seconds")
		lengthAxis(p, lengths)
		b := newBounds()
		for _, cfg := range r.Configs() {
			var pts minMaxErrors
			okRows(r, cfg, func(row *bench.Row) {
				s := pick[i](row)
				if !(s.Min > 0 && s.Median >= s.Min && s.Max >= s.Median) || !finite(s.Max) {
					return // a log axis takes positive values only
				}
				pts.XYs = append(pts.XYs, plotter.XY{X: float64(row.Length), Y: s.Median})
				pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{s.Median - s.Min, s.Max - s.Median})
				b.add(s.Min)
				b.add(s.Max)
			})
			c, g := seriesStyle(r, cfg)
			l, sc, err := series(p, pts.XYs, c, g, false)
			if err != nil {
				return nil, fmt.Errorf("latency chart, %s: %w", cfg, err)
			}
			if l == nil {
				continue
			}
			if err := errorBars(p, pts, c); err != nil {
				return nil, fmt.Errorf("latency chart, %s: %w", cfg, err)
			}
			if i == 0 {
				p.Legend.Add(cfg, l, sc)
			}
		}
		logYAxis(p, b.lo, b.hi)
		f.Panels = append(f.Panels, p)
	}
	return f, nil
}

// speedup plots prefill and end-to-end speedups against length, each with
// a bar over its range (bench.Speedup.PrefillRange) and a cross over it
// when the sweep flagged it noisy; the prefill panel also draws each
// configuration's FLOPs reduction dashed, the speedup that FLOPs alone
// would predict.
func speedup(r *bench.Result) (*Figure, error) {
	if !hasSpeedups(r) {
		return nil, nil
	}
	lengths := okLengths(r)
	f := &Figure{Name: "speedup", Heading: heading(r) + " — bars: each speedup's range", PanelWidth: panelWidth, Height: panelHeight}
	for i, title := range []string{"Prefill speedup over the baseline", "End-to-end speedup over the baseline"} {
		p := newPanel(title, lengthAxisLabel, "speedup (×)")
		lengthAxis(p, lengths)
		lo, hi := 1.0, 1.0
		var noisyMark *plotter.Scatter
		for _, cfg := range pruned(r) {
			var meas minMaxErrors
			var ideal, noisy plotter.XYs
			okRows(r, cfg, func(row *bench.Row) {
				sp := row.Speedup
				if sp == nil {
					return
				}
				v, fl, rng, flagged := sp.Prefill, 1/sp.PrefillFLOPs, sp.PrefillRange, sp.PrefillNoisy
				if i == 1 {
					v, fl, rng, flagged = sp.Total, 1/sp.TotalFLOPs, sp.TotalRange, sp.TotalNoisy
				}
				if finite(v) {
					if !(rng[0] <= v && v <= rng[1]) || !finite(rng[1]) {
						rng = [2]float64{v, v} // no range recorded (older results)
					}
					meas.XYs = append(meas.XYs, plotter.XY{X: float64(row.Length), Y: v})
					meas.YErrors = append(meas.YErrors, struct{ Low, High float64 }{v - rng[0], rng[1] - v})
					lo, hi = math.Min(lo, rng[0]), math.Max(hi, rng[1])
					if flagged {
						noisy = append(noisy, plotter.XY{X: float64(row.Length), Y: v})
					}
				}
				if i == 0 && finite(fl) {
					ideal = append(ideal, plotter.XY{X: float64(row.Length), Y: fl})
					lo, hi = math.Min(lo, fl), math.Max(hi, fl)
				}
			})
			c, g := seriesStyle(r, cfg)
			l, sc, err := series(p, meas.XYs, c, g, false)
			if err != nil {
				return nil, fmt.Errorf("speedup chart, %s: %w", cfg, err)
			}
			if _, _, err := series(p, ideal, c, g, true); err != nil {
				return nil, fmt.Errorf("speedup chart, %s: %w", cfg, err)
			}
			if l == nil {
				continue
			}
			p.Legend.Add(cfg, l, sc)
			if err := errorBars(p, meas, c); err != nil {
				return nil, fmt.Errorf("speedup chart, %s: %w", cfg, err)
			}
			if len(noisy) > 0 {
				x, err := plotter.NewScatter(noisy)
				if err != nil {
					return nil, fmt.Errorf("speedup chart, %s: %w", cfg, err)
				}
				x.Color, x.Shape, x.Radius = color.Black, draw.CrossGlyph{}, vg.Points(7)
				p.Add(x)
				noisyMark = x
			}
		}
		if noisyMark != nil {
			p.Legend.Add(fmt.Sprintf("crossed: noisy (range wider than ±%.0f%%)", 100*r.Meta.Options.NoiseLimit), noisyMark)
		}
		if i == 0 {
			dash, _ := plotter.NewLine(plotter.XYs{})
			dash.Color = refColor
			dash.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			p.Legend.Add("dashed: FLOPs reduction", dash)
		}
		if err := hline(p, 1, p.X.Min, p.X.Max); err != nil {
			return nil, err
		}
		pad := (hi - lo) * 0.1
		p.Y.Min, p.Y.Max = lo-pad-0.05, hi+pad+0.25*(hi-lo)+0.1
		f.Panels = append(f.Panels, p)
	}
	return f, nil
}

// flops plots the analytic prefill FLOPs against length and the reduction
// each pruned configuration achieves.
func flops(r *bench.Result) (*Figure, error) {
	lengths := okLengths(r)
	fmax := 0.0
	for i := range r.Rows {
		fmax = math.Max(fmax, r.Rows[i].FLOPs.Prefill)
	}
	unit, div := "GFLOPs", 1e9
	if fmax >= 1e12 {
		unit, div = "TFLOPs", 1e12
	}
	f := &Figure{Name: "flops", Heading: heading(r), PanelWidth: panelWidth, Height: panelHeight}
	p := newPanel("Prefill FLOPs (analytic)", lengthAxisLabel, unit)
	lengthAxis(p, lengths)
	b := newBounds()
	for _, cfg := range r.Configs() {
		var pts plotter.XYs
		okRows(r, cfg, func(row *bench.Row) {
			if v := row.FLOPs.Prefill / div; v > 0 && finite(v) {
				pts = append(pts, plotter.XY{X: float64(row.Length), Y: v})
				b.add(v)
			}
		})
		c, g := seriesStyle(r, cfg)
		l, sc, err := series(p, pts, c, g, false)
		if err != nil {
			return nil, fmt.Errorf("FLOPs chart, %s: %w", cfg, err)
		}
		if l != nil {
			p.Legend.Add(cfg, l, sc)
		}
	}
	logYAxis(p, b.lo, b.hi)
	f.Panels = append(f.Panels, p)
	if !hasSpeedups(r) {
		return f, nil
	}
	q := newPanel("FLOPs saved by pruning", lengthAxisLabel, "FLOPs saved (%)")
	lengthAxis(q, lengths)
	hi := 0.0
	for _, cfg := range pruned(r) {
		var pre, tot plotter.XYs
		okRows(r, cfg, func(row *bench.Row) {
			if row.Speedup == nil || !finite(row.Speedup.PrefillFLOPs) || !finite(row.Speedup.TotalFLOPs) {
				return
			}
			pre = append(pre, plotter.XY{X: float64(row.Length), Y: 100 * (1 - row.Speedup.PrefillFLOPs)})
			tot = append(tot, plotter.XY{X: float64(row.Length), Y: 100 * (1 - row.Speedup.TotalFLOPs)})
			hi = math.Max(hi, 100*(1-row.Speedup.PrefillFLOPs))
		})
		c, g := seriesStyle(r, cfg)
		l, sc, err := series(q, pre, c, g, false)
		if err != nil {
			return nil, fmt.Errorf("FLOPs chart, %s: %w", cfg, err)
		}
		if _, _, err := series(q, tot, c, g, true); err != nil {
			return nil, fmt.Errorf("FLOPs chart, %s: %w", cfg, err)
		}
		if l != nil {
			q.Legend.Add(cfg+" (prefill)", l, sc)
		}
	}
	dash, _ := plotter.NewLine(plotter.XYs{})
	dash.Color = refColor
	dash.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	q.Legend.Add(fmt.Sprintf("dashed: end to end (+%d tokens)", r.Meta.Options.NewTokens), dash)
	q.Y.Min, q.Y.Max = 0, math.Max(10, hi*1.45)
	f.Panels = append(f.Panels, q)
	return f, nil
}

// kvCache plots the KV cache per layer at the longest length that ran,
// and the total KV cache against length.
func kvCache(r *bench.Result) (*Figure, error) {
	n := 0
	for i := range r.Rows {
		if r.Rows[i].OK() {
			n = max(n, r.Rows[i].Length)
		}
	}
	var maxBytes int64
	for i := range r.Rows {
		maxBytes = max(maxBytes, r.Rows[i].KVBytesTotal)
	}
	unit, div := "MiB", float64(1<<20)
	if maxBytes >= 1<<30 {
		unit, div = "GiB", float64(1<<30)
	}
	f := &Figure{Name: "kv-cache", Heading: heading(r), PanelWidth: panelWidth, Height: panelHeight}
	p := newPanel(fmt.Sprintf("KV cache per layer after prefill (%s tokens)", lengthLabel(n)), "layer", "KV cache ("+unit+")")
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.YOffs = vg.Points(4)
	layers := r.Meta.Model.Layers
	ymax := 0.0
	for _, cfg := range r.Configs() {
		row := r.Find(n, cfg)
		if row == nil || !row.OK() {
			continue
		}
		var pts plotter.XYs
		for l, v := range row.KVBytes {
			pts = append(pts, plotter.XY{X: float64(l), Y: float64(v) / div})
			ymax = math.Max(ymax, float64(v)/div)
		}
		c, g := seriesStyle(r, cfg)
		l, sc, err := series(p, pts, c, g, false)
		if err != nil {
			return nil, fmt.Errorf("KV chart, %s: %w", cfg, err)
		}
		l.StepStyle = plotter.MidStep
		sc.Radius = vg.Points(2.2)
		p.Legend.Add(cfg, l, sc)
	}
	p.X.Min, p.X.Max = -0.5, float64(layers)-0.5
	p.X.Tick.Marker = layerTicks(layers)
	p.Y.Min, p.Y.Max = 0, ymax*1.08
	f.Panels = append(f.Panels, p)

	q := newPanel("KV cache, all layers", lengthAxisLabel, "KV cache ("+unit+")")
	lengthAxis(q, okLengths(r))
	b := newBounds()
	for _, cfg := range r.Configs() {
		var pts plotter.XYs
		okRows(r, cfg, func(row *bench.Row) {
			if row.KVBytesTotal > 0 {
				pts = append(pts, plotter.XY{X: float64(row.Length), Y: float64(row.KVBytesTotal) / div})
				b.add(float64(row.KVBytesTotal) / div)
			}
		})
		c, g := seriesStyle(r, cfg)
		l, sc, err := series(q, pts, c, g, false)
		if err != nil {
			return nil, fmt.Errorf("KV chart, %s: %w", cfg, err)
		}
		if l != nil {
			q.Legend.Add(cfg, l, sc)
		}
	}
	logYAxis(q, b.lo, b.hi)
	f.Panels = append(f.Panels, q)
	return f, nil
}

// layerTicks labels about eight evenly spaced layers.
func layerTicks(layers int) gp.ConstantTicks {
	step := max(1, (layers+7)/8)
	var t gp.ConstantTicks
	for l := 0; l < layers; l++ {
		lab := ""
		if l%step == 0 {
			lab = fmt.Sprint(l)
		}
		t = append(t, gp.Tick{Value: float64(l), Label: lab})
	}
	return t
}

// speedGrid is a configuration × length grid of speedups (NaN: no value).
type speedGrid struct {
	z    [][]float64 // [config][length]
	cols int
}

func (g speedGrid) Dims() (c, r int)   { return g.cols, len(g.z) }
func (g speedGrid) Z(c, r int) float64 { return g.z[r][c] }
func (g speedGrid) X(c int) float64    { return float64(c) }
func (g speedGrid) Y(r int) float64    { return float64(r) }

// heatmap draws prefill and end-to-end speedups as colored cells, one row
// per pruned configuration and one column per length, each labelled.
func heatmap(r *bench.Result) (*Figure, error) {
	if !hasSpeedups(r) {
		return nil, nil
	}
	cfgs := pruned(r)
	lengths := okLengths(r)
	f := &Figure{Name: "speedup-heatmap", Heading: heading(r), PanelWidth: panelWidth, Height: vg.Length(2.2+0.45*float64(len(cfgs))) * vg.Inch}
	pal, err := brewer.GetPalette(brewer.TypeSequential, "YlGnBu", 9)
	if err != nil {
		return nil, err
	}
	anyNoisy := false
	for i, title := range []string{"Prefill speedup", "End-to-end speedup"} {
		g := speedGrid{cols: len(lengths)}
		lo, hi := math.Inf(1), math.Inf(-1)
		var labels plotter.XYLabels
		for ri, cfg := range cfgs {
			rowZ := make([]float64, len(lengths))
			for ci, n := range lengths {
				rowZ[ci] = math.NaN()
				row := r.Find(n, cfg)
				y := float64(len(cfgs) - 1 - ri) // first configuration on top
				if row == nil || row.Speedup == nil {
					labels.XYs = append(labels.XYs, plotter.XY{X: float64(ci), Y: y})
					labels.Labels = append(labels.Labels, "—")
					continue
				}
				v, flagged := row.Speedup.Prefill, row.Speedup.PrefillNoisy
				if i == 1 {
					v, flagged = row.Speedup.Total, row.Speedup.TotalNoisy
				}
				rowZ[ci] = v
				lo, hi = math.Min(lo, v), math.Max(hi, v)
				labels.XYs = append(labels.XYs, plotter.XY{X: float64(ci), Y: y})
				label := fmt.Sprintf("%.2f×", v)
				if flagged {
					label += noisyMark
					anyNoisy = true
				}
				labels.Labels = append(labels.Labels, label)
			}
			g.z = append([][]float64{rowZ}, g.z...)
		}
		if lo > hi {
			lo, hi = 1, 1
		}
		if hi-lo < 0.05 {
			lo, hi = lo-0.05, hi+0.05
		}
		p := newPanel(title, lengthAxisLabel, "")
		hm := plotter.NewHeatMap(g, pal)
		hm.Min, hm.Max = lo, hi
		hm.NaN = color.RGBA{235, 235, 235, 255}
		hm.Rasterized = false
		p.Add(hm)
		lab, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, fmt.Errorf("heatmap labels: %w", err)
		}
		for k := range lab.TextStyle {
			lab.TextStyle[k].XAlign, lab.TextStyle[k].YAlign = draw.XCenter, draw.YCenter
			lab.TextStyle[k].Font.Size = vg.Points(10)
			v := g.z[int(labels.XYs[k].Y)][int(labels.XYs[k].X)]
			// dark cells (upper part of the palette) get white text
			if !math.IsNaN(v) && (v-lo)/(hi-lo) > 0.55 {
				lab.TextStyle[k].Color = color.White
			} else {
				lab.TextStyle[k].Color = color.Black
			}
		}
		p.Add(lab)
		var xt, yt gp.ConstantTicks
		for ci, n := range lengths {
			xt = append(xt, gp.Tick{Value: float64(ci), Label: lengthLabel(n)})
		}
		for ri, cfg := range cfgs {
			yt = append(yt, gp.Tick{Value: float64(len(cfgs) - 1 - ri), Label: cfg})
		}
		p.X.Tick.Marker, p.Y.Tick.Marker = xt, yt
		p.X.Min, p.X.Max = -0.5, float64(len(lengths))-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(len(cfgs))-0.5
		p.X.Padding, p.Y.Padding = 0, 0
		f.Panels = append(f.Panels, p)
	}
	if anyNoisy {
		f.Heading += fmt.Sprintf(" — %s noisy: range wider than ±%.0f%%", noisyMark, 100*r.Meta.Options.NoiseLimit)
	}
	return f, nil
}

// quality plots each configuration's quality score against its speedup
// at the longest length where every scored configuration has one.
func quality(r *bench.Result, q []bench.Quality) (*Figure, error) {
	n := r.SpeedLength(okLengths(r), q)
	if n == 0 {
		return nil, fmt.Errorf("quality chart: no length at which the benchmark measured every scored configuration (%s) against the baseline", qualityNames(q))
	}
	p := newPanel(fmt.Sprintf("Quality vs speed (speed at %s tokens)", lengthLabel(n)), "end-to-end speedup over the baseline", "LongBench average")
	lo, hi := math.Inf(1), math.Inf(-1)
	xlo, xhi := 1.0, 1.0
	for _, s := range q {
		x := 1.0
		if s.Config != bench.Baseline {
			x = r.Find(n, s.Config).Speedup.Total
		}
		c, g := seriesStyle(r, s.Config)
		pts := plotter.XYs{{X: x, Y: s.Score}}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("quality chart, %s: %w", s.Config, err)
		}
		sc.Color, sc.Shape, sc.Radius = c, g, vg.Points(5)
		p.Add(sc)
		label := fmt.Sprintf("%s: %.2f at %.2f×", s.Config, s.Score, x)
		if s.Config != bench.Baseline && r.Find(n, s.Config).Speedup.TotalNoisy {
			label += noisyMark + " (noisy)"
		}
		p.Legend.Add(label, sc)
		lo, hi = math.Min(lo, s.Score), math.Max(hi, s.Score)
		xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
	}
	span := math.Max(hi-lo, 1)
	p.Y.Min, p.Y.Max = lo-0.3*span, hi+0.6*span
	xs := math.Max(xhi-xlo, 0.2)
	p.X.Min, p.X.Max = xlo-0.15*xs, xhi+0.15*xs
	return &Figure{Name: "quality-vs-speed", Heading: heading(r), Panels: []*gp.Plot{p}, PanelWidth: panelWidth, Height: panelHeight}, nil
}

func qualityNames(q []bench.Quality) string {
	s := ""
	for i, x := range q {
		if i > 0 {
			s += ", "
		}
		s += x.Config
	}
	return s
}

// finite reports whether v is a plottable number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
