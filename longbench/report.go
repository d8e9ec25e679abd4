package longbench

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/sdtp/sdtp/evalrun"
)

// RunScores is one run's task scores, under a display name.
type RunScores struct {
	Name   string
	Scores []TaskScore
}

// ScoreRuns scores each predictions folder; runs are named by their folder
// name (the full path where two share a name).
func ScoreRuns(dirs []string) ([]RunScores, error) {
	names := evalrun.RunNames(dirs)
	var out []RunScores
	for i, d := range dirs {
		ts, err := ScoreDir(d, false)
		if err != nil {
			return nil, err
		}
		out = append(out, RunScores{Name: names[i], Scores: ts})
	}
	return out, nil
}

// WriteReport writes a markdown table: one row per task (official order),
// one score column per run and, for every run after the first, its
// difference from the first (the baseline); then the category means, the
// SDTP paper's AVG (its 14 datasets), the mean over the 16 English and
// code tasks and the Chinese mean, computed over the tasks every run has;
// then the hit rate of each run (share of rows whose gold answer appears
// in the prediction), the rows that failed, and the runner's measurements
// when present.
func WriteReport(w io.Writer, runs []RunScores) error {
	if len(runs) == 0 {
		return fmt.Errorf("no runs to report")
	}
	by := make([]map[string]TaskScore, len(runs))
	for i, r := range runs {
		by[i] = map[string]TaskScore{}
		for _, s := range r.Scores {
			by[i][s.Task.Name] = s
		}
	}
	var rows []Task // tasks any run has
	var common []Task
	for _, t := range tasks {
		n := 0
		for i := range runs {
			if _, ok := by[i][t.Name]; ok {
				n++
			}
		}
		if n > 0 {
			rows = append(rows, t)
		}
		if n == len(runs) {
			common = append(common, t)
		}
	}

	var b strings.Builder
	b.WriteString("| task | metric |")
	for i, r := range runs {
		fmt.Fprintf(&b, " %s |", r.Name)
		if i > 0 {
			fmt.Fprintf(&b, " Δ %s |", r.Name)
		}
	}
	for _, r := range runs {
		fmt.Fprintf(&b, " hit %s |", r.Name)
	}
	b.WriteString("\n|---|---|")
	b.WriteString(strings.Repeat("---:|", 2*len(runs)-1+len(runs)))
	b.WriteString("\n")

	cell := func(v float64, ok bool) string {
		if !ok || math.IsNaN(v) {
			return "—"
		}
		return fmt.Sprintf("%.2f", v)
	}
	delta := func(v, base float64, ok bool) string {
		if !ok || math.IsNaN(v) || math.IsNaN(base) {
			return "—"
		}
		return fmt.Sprintf("%+.2f", v-base)
	}
	line := func(label, metric string, vals []float64, oks []bool, hits []string) {
		fmt.Fprintf(&b, "| %s | %s |", label, metric)
		for i := range runs {
			fmt.Fprintf(&b, " %s |", cell(vals[i], oks[i]))
			if i > 0 {
				fmt.Fprintf(&b, " %s |", delta(vals[i], vals[0], oks[i] && oks[0]))
			}
		}
		for i := range runs {
			fmt.Fprintf(&b, " %s |", hits[i])
		}
		b.WriteString("\n")
	}

	for _, t := range rows {
		vals, oks, hits := make([]float64, len(runs)), make([]bool, len(runs)), make([]string, len(runs))
		for i := range runs {
			s, ok := by[i][t.Name]
			vals[i], oks[i], hits[i] = s.Score, ok, cell(s.HitRate, ok)
		}
		line(t.Name, t.Metric, vals, oks, hits)
	}
	mean := func(keep func(Task) bool) ([]float64, []bool, []string, int) {
		vals, oks, hits := make([]float64, len(runs)), make([]bool, len(runs)), make([]string, len(runs))
		n := 0
		for i := range runs {
			var ts, hs []float64
			for _, t := range common {
				if keep(t) {
					ts = append(ts, by[i][t.Name].Score)
					hs = append(hs, by[i][t.Name].HitRate)
				}
			}
			n = len(ts)
			vals[i], oks[i] = meanOf(ts), len(ts) > 0
			hits[i] = cell(meanOf(hs), len(hs) > 0)
		}
		return vals, oks, hits, n
	}
	for _, c := range Categories() {
		vals, oks, hits, n := mean(func(t Task) bool { return t.Category == c && t.InEnglishAndCode() })
		if n > 0 {
			line(fmt.Sprintf("**%s** (mean of %d)", c, n), "", vals, oks, hits)
		}
	}
	for _, avg := range []struct {
		label string
		keep  func(Task) bool
	}{
		{"paper AVG", Task.InPaperAverage},
		{"EN+code", Task.InEnglishAndCode},
		{"AVG zh", func(t Task) bool { return t.Language == "zh" }},
	} {
		all := 0
		for _, t := range tasks {
			if avg.keep(t) {
				all++
			}
		}
		if vals, oks, hits, n := mean(avg.keep); n > 0 {
			label := fmt.Sprintf("**%s (%d)**", avg.label, all)
			if n < all {
				label += fmt.Sprintf(" (%d of %d tasks)", n, all)
			}
			line(label, "", vals, oks, hits)
		}
	}
	if len(common) < len(rows) {
		b.WriteString("\nMeans cover only the tasks every run has.\n")
	}
	writeNotes(&b, runs)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeNotes adds the rows each run recorded with an error (scored 0
// above) and the runner's mean prompt tokens, share of tokens alive after
// pruning and seconds per row.
func writeNotes(b *strings.Builder, runs []RunScores) {
	notes := make([]evalrun.Notes, len(runs))
	for i, r := range runs {
		notes[i].Name = r.Name
		for _, s := range r.Scores {
			notes[i].Add(fmt.Sprintf("%s %d", s.Task.Name, s.Failed), s.Failed, s.Measured, s.PromptTokens, s.AliveTokens, s.Seconds)
		}
	}
	evalrun.WriteNotes(b, notes)
}

func meanOf(xs []float64) float64 { return evalrun.Mean(xs) }
