package ruler

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteTasks writes the task table: family, haystack, needles, new
// tokens and metric.
func WriteTasks(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "task\tfamily\thaystack\tneedles\tnew tokens\tmetric")
	for _, t := range tasks {
		hay, needles := "-", "-"
		switch t.Family {
		case NIAH:
			hay = t.Haystack
			needles = fmt.Sprintf("%s→%s, %d key(s) × %d value(s), %d queried", t.KeyKind, t.ValueKind, max(t.Keys, t.Queries), t.Values, t.Queries)
		case VariableTracking:
			hay = t.Haystack
			needles = fmt.Sprintf("%d chain(s) of %d hops", t.Chains, t.Hops)
		case CommonWords:
			hay = "numbered words"
			needles = fmt.Sprintf("%d words ×%d, others ×%d", t.NumCommon, t.FreqCommon, t.FreqUncommon)
		case FreqWords:
			hay = "coded words"
			needles = "zeta(" + strconv.FormatFloat(t.Alpha, 'g', -1, 64) + ") frequencies, top 3"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", t.Name, t.Family, hay, needles, t.NewTokens(), t.Metric())
	}
	return tw.Flush()
}

// WriteScores writes one line per task and length (rows, failed rows,
// empty predictions, score), then the mean over the tasks at each length.
func WriteScores(w io.Writer, scores []TaskScore) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "task\tlength\trows\tfailed\tnulls\tscore\t")
	for _, s := range scores {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.2f\t\n", s.Task, s.Length, s.Rows, s.Failed, s.Nulls, s.Score)
	}
	m := Means([]RunScores{{Scores: scores}})
	for j, l := range m.Lengths {
		fmt.Fprintf(tw, "mean of %d tasks\t%d\t\t\t\t%.2f\t\n", m.Tasks[j], l, m.Means[0][j])
	}
	return tw.Flush()
}

// WriteScoresJSON writes {"length": {"task": score, ...}, ...}, the
// scores RULER's evaluate.py writes per length folder (summary.csv).
func WriteScoresJSON(w io.Writer, scores []TaskScore) error {
	byLength := map[string]map[string]float64{}
	for _, s := range scores {
		l := strconv.Itoa(s.Length)
		if byLength[l] == nil {
			byLength[l] = map[string]float64{}
		}
		byLength[l][s.Task] = s.Score
	}
	b, err := json.MarshalIndent(byLength, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
