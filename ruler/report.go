package ruler

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/evalrun"
)

// RunScores is one run's scores under a display name.
type RunScores struct {
	Name   string
	Scores []TaskScore
}

// score returns the run's score of task at length.
func (r RunScores) score(task string, length int) (TaskScore, bool) {
	for _, s := range r.Scores {
		if s.Task == task && s.Length == length {
			return s, true
		}
	}
	return TaskScore{}, false
}

// LengthMeans is the mean task score of each run at each length, over the
// tasks every run scored at that length has (RULER's average over tasks);
// a run with no row at a length is left out there.
type LengthMeans struct {
	Lengths []int
	// Means[i][j] is run i's mean at Lengths[j]; NaN where run i has no
	// row there or no task is common to the runs there.
	Means [][]float64
	// Tasks[j] is the number of tasks averaged at Lengths[j].
	Tasks []int
}

// Means computes the runs' mean scores by length.
func Means(runs []RunScores) LengthMeans {
	var all []TaskScore
	for _, r := range runs {
		all = append(all, r.Scores...)
	}
	m := LengthMeans{Lengths: Lengths(all), Means: make([][]float64, len(runs))}
	for _, l := range m.Lengths {
		common := commonTasks(runs, l)
		m.Tasks = append(m.Tasks, len(common))
		for i, r := range runs {
			var xs []float64
			for _, task := range common {
				if s, ok := r.score(task, l); ok {
					xs = append(xs, s.Score)
				}
			}
			m.Means[i] = append(m.Means[i], evalrun.Mean(xs))
		}
	}
	return m
}

// commonTasks lists, in RULER's order, the tasks that every run with rows
// at length scored there.
func commonTasks(runs []RunScores, length int) []string {
	var out []string
	for _, task := range TaskNames() {
		all, present := true, 0
		for _, r := range runs {
			if !r.hasLength(length) {
				continue
			}
			present++
			if _, ok := r.score(task, length); !ok {
				all = false
			}
		}
		if all && present > 0 {
			out = append(out, task)
		}
	}
	return out
}

// hasLength reports whether the run scored any task at length.
func (r RunScores) hasLength(length int) bool {
	for _, s := range r.Scores {
		if s.Length == length {
			return true
		}
	}
	return false
}

// LengthLabel writes a length as RULER's tables do: 4096 as "4K", others
// as they are.
func LengthLabel(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.Itoa(n/1024) + "K"
	}
	return strconv.Itoa(n)
}

// WriteReport writes markdown: the runs' mean accuracy by length (over the
// tasks every run has there) with each later run's difference from the
// first (the baseline), then one table per length with every task's
// score per run, then the failed rows and the runner's measurements.
func WriteReport(w io.Writer, runs []RunScores) error {
	if len(runs) == 0 {
		return fmt.Errorf("no runs to report")
	}
	m := Means(runs)
	if len(m.Lengths) == 0 {
		return fmt.Errorf("the runs hold no scored rows")
	}
	var b strings.Builder
	b.WriteString("## RULER accuracy by length\n\nMean of the task scores (string match ×100) over the tasks that every run with rows at that length has there")
	if len(runs) > 1 {
		fmt.Fprintf(&b, "; in brackets, the difference from %s", runs[0].Name)
	}
	b.WriteString(".\n\n| run |")
	for _, l := range m.Lengths {
		fmt.Fprintf(&b, " %s |", LengthLabel(l))
	}
	b.WriteString(" mean |\n|---|")
	b.WriteString(strings.Repeat("---:|", len(m.Lengths)+1))
	b.WriteString("\n")
	// The mean column averages the lengths at which every run has a mean.
	var shared []int
	for j := range m.Lengths {
		ok := true
		for i := range runs {
			ok = ok && !math.IsNaN(m.Means[i][j])
		}
		if ok {
			shared = append(shared, j)
		}
	}
	overall := make([]float64, len(runs))
	for i, r := range runs {
		fmt.Fprintf(&b, "| %s |", r.Name)
		for j := range m.Lengths {
			fmt.Fprintf(&b, " %s |", cellWithDelta(m.Means[i][j], m.Means[0][j], i > 0))
		}
		var xs []float64
		for _, j := range shared {
			xs = append(xs, m.Means[i][j])
		}
		overall[i] = evalrun.Mean(xs)
		fmt.Fprintf(&b, " %s |\n", cellWithDelta(overall[i], overall[0], i > 0))
	}
	b.WriteString("| tasks averaged |")
	for _, n := range m.Tasks {
		fmt.Fprintf(&b, " %d |", n)
	}
	b.WriteString(" |\n")
	if len(shared) < len(m.Lengths) {
		b.WriteString("\nThe mean column covers only the lengths every run has.\n")
	}

	for _, l := range m.Lengths {
		fmt.Fprintf(&b, "\n### %s (%d tokens)\n\n| task | metric |", LengthLabel(l), l)
		for i, r := range runs {
			fmt.Fprintf(&b, " %s |", r.Name)
			if i > 0 {
				fmt.Fprintf(&b, " Δ %s |", r.Name)
			}
		}
		b.WriteString("\n|---|---|")
		b.WriteString(strings.Repeat("---:|", 2*len(runs)-1))
		b.WriteString("\n")
		for _, task := range TaskNames() {
			vals := make([]float64, len(runs))
			any := false
			for i, r := range runs {
				vals[i] = math.NaN()
				if s, ok := r.score(task, l); ok {
					vals[i], any = s.Score, true
				}
			}
			if !any {
				continue
			}
			t, _ := LookupTask(task)
			fmt.Fprintf(&b, "| %s | %s |", task, t.Metric())
			for i := range runs {
				fmt.Fprintf(&b, " %s |", cell(vals[i]))
				if i > 0 {
					fmt.Fprintf(&b, " %s |", delta(vals[i], vals[0]))
				}
			}
			b.WriteString("\n")
		}
	}
	writeNotes(&b, runs)
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

func delta(v, base float64) string {
	if math.IsNaN(v) || math.IsNaN(base) {
		return "—"
	}
	return fmt.Sprintf("%+.2f", v-base)
}

// cellWithDelta is v, followed by its difference from base in brackets
// when withDelta.
func cellWithDelta(v, base float64, withDelta bool) string {
	if !withDelta || math.IsNaN(v) || math.IsNaN(base) {
		return cell(v)
	}
	return fmt.Sprintf("%s (%s)", cell(v), delta(v, base))
}

// writeNotes adds the rows each run recorded with an error (scored 0
// above) and the runner's mean prompt tokens, share of tokens alive after
// pruning and seconds per row.
func writeNotes(b *strings.Builder, runs []RunScores) {
	notes := make([]evalrun.Notes, len(runs))
	for i, r := range runs {
		notes[i].Name = r.Name
		for _, s := range r.Scores {
			notes[i].Add(fmt.Sprintf("%s at %s: %d", s.Task, LengthLabel(s.Length), s.Failed), s.Failed, s.Measured, s.PromptTokens, s.AliveTokens, s.Seconds)
		}
	}
	evalrun.WriteNotes(b, notes)
}
