package plot

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sdtp/sdtp/ablation"
	"github.com/sdtp/sdtp/train"
)

// AblationName is the file name (without extension) of the ablation chart.
const AblationName = "ablation-quality-vs-flops"

// Ablation draws an ablation sweep's quality against its prefill FLOPs:
// held-out KL (log scale) and next-token agreement, each point a trained
// module labelled by its schedule (the first loss variant's) or its loss
// variant (the others, at the base schedule), with the keep-most-recent,
// random and saliency-oracle scorers at each schedule for reference.
func Ablation(rows []*ablation.Row, heading string) (*Figure, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("ablation chart: no rows")
	}
	base := rows[0].Loss
	type ref struct {
		name, label string
		c           color.Color
		g           draw.GlyphDrawer
	}
	refs := []ref{
		{"recent", "keep-most-recent", seriesColors[1], draw.TriangleGlyph{}},
		{"random", "random scores", seriesColors[3], draw.CrossGlyph{}},
		{train.OracleName, "saliency oracle", seriesColors[2], draw.SquareGlyph{}},
	}
	f := &Figure{Name: AblationName, Heading: heading, PanelWidth: panelWidth, Height: panelHeight}
	for _, metric := range []struct {
		title, y string
		get      func(*train.ScorerReport) float64
		log      bool
	}{
		{"Held-out KL(unpruned ‖ pruned), lower is better", "KL", func(s *train.ScorerReport) float64 { return s.KL }, true},
		{"Next-token agreement with the unpruned model", "agreement", func(s *train.ScorerReport) float64 { return s.Agreement }, false},
	} {
		p := newPanel(metric.title, "prefill FLOPs / unpruned (analytic)", metric.y)
		b := newBounds()
		lo, hi := math.Inf(1), math.Inf(-1)
		xlo, xhi := math.Inf(1), math.Inf(-1)
		// add draws a series; labels go right of the points, or left with
		// left (the loss variants, which share the base's x).
		add := func(xys plotter.XYs, labels []string, left bool, c color.Color, g draw.GlyphDrawer, legend string, radius vg.Length) error {
			if len(xys) == 0 {
				return nil
			}
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return fmt.Errorf("ablation chart, %s: %w", legend, err)
			}
			sc.Color, sc.Shape, sc.Radius = c, g, radius
			p.Add(sc)
			p.Legend.Add(legend, sc)
			for _, xy := range xys {
				b.add(xy.Y)
				lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
				xlo, xhi = math.Min(xlo, xy.X), math.Max(xhi, xy.X)
			}
			if labels == nil {
				return nil
			}
			lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
			if err != nil {
				return err
			}
			for k := range lab.TextStyle {
				lab.TextStyle[k].Font.Size = vg.Points(7)
				lab.TextStyle[k].Color = c
				lab.TextStyle[k].YAlign = draw.YCenter
				if left {
					lab.TextStyle[k].XAlign = draw.XRight
				}
			}
			lab.Offset = vg.Point{X: vg.Points(6)}
			if left {
				lab.Offset.X = -vg.Points(7)
			}
			p.Add(lab)
			return nil
		}
		var sched, variants plotter.XYs
		var schedLabels, variantLabels []string
		seen := map[string]bool{}
		refPts := make([]plotter.XYs, len(refs))
		for _, r := range rows {
			m := r.Scorer(ablation.ModuleScorer)
			if m == nil {
				return nil, fmt.Errorf("ablation chart: row %s has no evaluation of its module", r.Name)
			}
			xy := plotter.XY{X: r.FLOPsRatio, Y: metric.get(m)}
			if r.Loss == base {
				sched = append(sched, xy)
				schedLabels = append(schedLabels, scheduleLabel(r))
			} else {
				variants = append(variants, xy)
				variantLabels = append(variantLabels, string(r.Loss))
			}
			key := scheduleLabel(r)
			if seen[key] {
				continue
			}
			seen[key] = true
			for k, rf := range refs {
				if s := r.Scorer(rf.name); s != nil {
					refPts[k] = append(refPts[k], plotter.XY{X: r.FLOPsRatio, Y: metric.get(s)})
				}
			}
		}
		for k, rf := range refs {
			if err := add(refPts[k], nil, false, rf.c, rf.g, rf.label+" (same schedule)", vg.Points(3)); err != nil {
				return nil, err
			}
		}
		if err := add(sched, schedLabels, false, baselineColor, draw.CircleGlyph{}, "module, "+string(base)+" loss (locations/keep ratio)", vg.Points(4)); err != nil {
			return nil, err
		}
		if err := add(variants, variantLabels, true, seriesColors[0], draw.RingGlyph{}, "module, other losses at "+scheduleLabel(rows[0]), vg.Points(4.5)); err != nil {
			return nil, err
		}
		if metric.log && b.lo <= b.hi {
			logYAxis(p, b.lo, b.hi)
		} else if lo <= hi {
			span := math.Max(hi-lo, 0.01)
			p.Y.Min, p.Y.Max = lo-0.1*span, hi+0.6*span
		}
		if xlo <= xhi {
			span := math.Max(xhi-xlo, 0.05)
			p.X.Min, p.X.Max = xlo-0.15*span, xhi+0.3*span
		}
		// The empty corner: more pruning raises KL and lowers agreement.
		p.Legend.Top, p.Legend.Left = metric.log, false
		f.Panels = append(f.Panels, p)
	}
	return f, nil
}

// scheduleLabel writes a row's schedule as "3,4/0.6".
func scheduleLabel(r *ablation.Row) string {
	s := ""
	for i, l := range r.Locations {
		if i > 0 {
			s += ","
		}
		s += strconv.Itoa(l)
	}
	return s + "/" + strconv.FormatFloat(r.Ratio, 'g', -1, 64)
}

// WriteAblation renders the ablation chart of rows into dir in each format.
func WriteAblation(dir string, rows []*ablation.Row, heading string, formats ...string) ([]string, error) {
	f, err := Ablation(rows, heading)
	if err != nil {
		return nil, err
	}
	return WriteFigures(dir, []*Figure{f}, formats...)
}
