package evalrun

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Notes is what a report says of one run under its tables: the rows the
// run recorded with an error, and what the runner measured.
type Notes struct {
	Name                   string
	failed                 int
	where                  []string
	rows                   int
	prompt, alive, seconds float64
}

// Add counts a group of the run's rows (a task, a task at one length):
// failed rows recorded with an error, described as where; measured rows
// whose means were the given prompt tokens, prompt tokens alive after
// pruning and seconds.
func (n *Notes) Add(where string, failed, measured int, prompt, alive, seconds float64) {
	if failed > 0 {
		n.failed += failed
		n.where = append(n.where, where)
	}
	k := float64(measured)
	n.rows += measured
	n.prompt += prompt * k
	n.alive += alive * k
	n.seconds += seconds * k
}

// WriteNotes writes, for each run with failed rows, how many and where
// (they count as 0 in the tables), then a markdown table of each run's
// rows measured, mean prompt tokens, share of prompt tokens alive after
// pruning and seconds per row (runs without measured rows left out, the
// table when none has any).
func WriteNotes(w io.Writer, notes []Notes) {
	for _, n := range notes {
		if n.failed > 0 {
			fmt.Fprintf(w, "\n**%s: %d rows failed** and count as 0 above (%s); their errors are in the prediction files.\n", n.Name, n.failed, strings.Join(n.where, ", "))
		}
	}
	header := false
	for _, n := range notes {
		if n.rows == 0 {
			continue
		}
		if !header {
			fmt.Fprint(w, "\n| run | rows measured | prompt tokens (mean) | alive after pruning | seconds per row |\n|---|---:|---:|---:|---:|\n")
			header = true
		}
		k := float64(n.rows)
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f%% | %.3f |\n", n.Name, n.rows, n.prompt/k, 100*n.alive/n.prompt, n.seconds/k)
	}
}

// Mean is the plain mean of xs, NaN for none.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
