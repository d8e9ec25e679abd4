package evalrun

import (
	"fmt"
	"io"
	"math"
)

// Measures accumulates what the runner measured over a run's rows.
type Measures struct {
	rows                   int
	prompt, alive, seconds float64
}

// Add counts rows rows whose means were the given prompt tokens, prompt
// tokens alive after pruning and seconds.
func (m *Measures) Add(rows int, prompt, alive, seconds float64) {
	k := float64(rows)
	m.rows += rows
	m.prompt += prompt * k
	m.alive += alive * k
	m.seconds += seconds * k
}

// WriteMeasurements writes a markdown table of each run's rows measured,
// mean prompt tokens, share of prompt tokens alive after pruning and
// seconds per row; runs without measured rows are left out, and the
// table when none has any.
func WriteMeasurements(w io.Writer, names []string, ms []Measures) {
	header := false
	for i, m := range ms {
		if m.rows == 0 {
			continue
		}
		if !header {
			fmt.Fprint(w, "\n| run | rows measured | prompt tokens (mean) | alive after pruning | seconds per row |\n|---|---:|---:|---:|---:|\n")
			header = true
		}
		n := float64(m.rows)
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f%% | %.3f |\n", names[i], m.rows, m.prompt/n, 100*m.alive/m.prompt, m.seconds/n)
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
