package longbench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTasks writes the task table: language, category, metric, max new
// tokens, whether the chat template applies, and the row counts.
func WriteTasks(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "task\tlanguage\tcategory\tmetric\tmax new\tchat template\trows\tLongBench-E rows")
	for _, t := range Tasks() {
		n, err := t.MaxNewTokens()
		if err != nil {
			return err
		}
		tmpl := "yes"
		if !t.UsesChatTemplate() {
			tmpl = "no"
		}
		erows := "-"
		if t.ERows > 0 {
			erows = strconv.Itoa(t.ERows)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", t.Name, t.Language, t.Category, t.Metric, n, tmpl, t.Rows, erows)
	}
	return tw.Flush()
}

// WriteChecks writes one line per data file checked by Validate and
// returns how many have problems.
func WriteChecks(w io.Writer, checks []FileCheck) (bad int, err error) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "file\trows\tofficial\tstatus")
	for _, c := range checks {
		status := "ok"
		if len(c.Problems) > 0 {
			bad++
			status = strings.Join(c.Problems, "; ")
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", c.File, c.Rows, c.Want, status)
	}
	return bad, tw.Flush()
}

// WriteScores writes the scores as a table, failed rows counted (with e,
// the LongBench-E length buckets too).
func WriteScores(w io.Writer, scores []TaskScore, e bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "task\tmetric\trows\tfailed\tscore\thit rate\t"
	if e {
		head += strings.Join(Buckets(), "\t") + "\t"
	}
	fmt.Fprintln(tw, head)
	for _, s := range scores {
		line := fmt.Sprintf("%s\t%s\t%d\t%d\t%.2f\t%.2f\t", s.Task.Name, s.Task.Metric, s.Rows, s.Failed, s.Score, s.HitRate)
		if e {
			for _, b := range Buckets() {
				line += fmt.Sprintf("%.2f\t", s.Buckets[b])
			}
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// WriteScoresJSON writes scores like eval.py's json.dump(..., indent=4):
// {"task": score, ...}, with e {"task": {"0-4k": ..., ...}}; floats as
// Python prints them ("64.5", "100.0"); an empty LongBench-E bucket, NaN
// in Python, is null.
func WriteScoresJSON(w io.Writer, scores []TaskScore, e bool) error {
	var b strings.Builder
	b.WriteString("{")
	for i, s := range scores {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    %q: ", s.Task.Name)
		if !e {
			b.WriteString(pyFloat(s.Score))
			continue
		}
		b.WriteString("{")
		for j, k := range Buckets() {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "\n        %q: %s", k, pyFloat(s.Buckets[k]))
		}
		b.WriteString("\n    }")
	}
	b.WriteString("\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// pyFloat formats x as Python's repr of a float (shortest round trip, ".0"
// on whole numbers); NaN becomes null.
func pyFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "null"
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}
