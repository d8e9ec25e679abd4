package longbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sdtp/sdtp/longbench/metrics"
)

// LongBench-E length buckets, by the row's length field.
const (
	Bucket0to4k = "0-4k"
	Bucket4to8k = "4-8k"
	Bucket8kUp  = "8k+"
)

// Buckets lists the LongBench-E buckets in order.
func Buckets() []string { return []string{Bucket0to4k, Bucket4to8k, Bucket8kUp} }

// TaskScore is the result of scoring one task's predictions.
type TaskScore struct {
	Task Task
	Rows int
	// Failed counts the rows the runner recorded with an error (scored 0).
	Failed int
	Score  float64 // official score: mean x100, rounded to 2 decimals
	// Buckets holds the LongBench-E scores by length bucket (NaN for an
	// empty bucket, as numpy's mean of nothing); set by ScoreE only.
	Buckets map[string]float64
	// HitRate is the share (x100, 2 decimals) of rows where some gold
	// answer appears in the prediction, ignoring case and surrounding
	// spaces.
	HitRate float64
	// Means of the runner's measurements over the Measured rows that have
	// them (none in official prediction files).
	PromptTokens, AliveTokens, Seconds float64
	Measured                           int
	// Torn is set when the file ended in a line cut short, left out.
	Torn bool
}

// RowScores returns the official per-row scores of preds for task t: the
// first-line rule for trec, triviaqa, samsum and lsht, then the maximum of
// the task's metric over the gold answers. As eval.py does, the class list
// of the last row is used for every row. A row that failed in the runner
// (Prediction.Error) scores 0.
func RowScores(t Task, preds []Prediction) ([]float64, error) {
	fn, err := metrics.Lookup(t.Metric)
	if err != nil {
		return nil, err
	}
	var classes []string
	if len(preds) > 0 {
		classes = preds[len(preds)-1].AllClasses
	}
	out := make([]float64, len(preds))
	for i, p := range preds {
		if p.Error != "" {
			continue
		}
		pred := p.Pred
		if t.FirstLineOnly() {
			pred, _, _ = strings.Cut(strings.TrimLeft(pred, "\n"), "\n")
		}
		s := 0.0
		for _, g := range p.Answers {
			s = max(s, fn(pred, g, classes))
		}
		out[i] = s
	}
	return out, nil
}

// checkGolds rejects gold answers the official scorer cannot score
// (retrieval answers without a paragraph number make it raise).
func checkGolds(t Task, preds []Prediction) error {
	prefix := map[string]string{"retrieval": "Paragraph ", "retrieval_zh": "段落"}[t.Metric]
	if prefix == "" {
		return nil
	}
	for i, p := range preds {
		for _, g := range p.Answers {
			if _, ok := metrics.RetrievalID(g, prefix); !ok {
				return fmt.Errorf("row %d: gold answer %q has no %q followed by a number", i+1, g, prefix)
			}
		}
	}
	return nil
}

// Score scores one task's predictions as eval.py's scorer does:
// round(100 * sum / n, 2) with the sum taken in row order.
func Score(t Task, preds []Prediction) (TaskScore, error) {
	ts, _, err := score(t, preds)
	return ts, err
}

func score(t Task, preds []Prediction) (TaskScore, []float64, error) {
	if len(preds) == 0 {
		return TaskScore{}, nil, fmt.Errorf("task %s: no predictions", t.Name)
	}
	if err := checkGolds(t, preds); err != nil {
		return TaskScore{}, nil, fmt.Errorf("task %s: %w", t.Name, err)
	}
	scores, err := RowScores(t, preds)
	if err != nil {
		return TaskScore{}, nil, err
	}
	total := 0.0
	for _, s := range scores {
		total += s
	}
	ts := summarize(t, preds)
	ts.Score = pyRound2(100 * total / float64(len(preds)))
	return ts, scores, nil
}

// ScoreE scores one task's LongBench-E predictions as eval.py's scorer_e
// does: rows split by length (<4000, <8000, the rest), each bucket
// round(100 * numpy.mean(scores), 2). Score holds the score over all rows.
func ScoreE(t Task, preds []Prediction) (TaskScore, error) {
	ts, scores, err := score(t, preds)
	if err != nil {
		return TaskScore{}, err
	}
	by := map[string][]float64{}
	for i, p := range preds {
		switch {
		case p.Length < 4000:
			by[Bucket0to4k] = append(by[Bucket0to4k], scores[i])
		case p.Length < 8000:
			by[Bucket4to8k] = append(by[Bucket4to8k], scores[i])
		default:
			by[Bucket8kUp] = append(by[Bucket8kUp], scores[i])
		}
	}
	ts.Buckets = map[string]float64{}
	for _, b := range Buckets() {
		ts.Buckets[b] = pyRound2(100 * npMean(by[b]))
	}
	return ts, nil
}

// summarize fills the non-metric columns of a task score.
func summarize(t Task, preds []Prediction) TaskScore {
	ts := TaskScore{Task: t, Rows: len(preds)}
	hits, measured := 0, 0
	for _, p := range preds {
		if p.Error != "" {
			ts.Failed++
			continue
		}
		if hit(p) {
			hits++
		}
		if p.PromptTokens > 0 {
			measured++
			ts.PromptTokens += float64(p.PromptTokens)
			ts.AliveTokens += float64(p.AliveTokens)
			ts.Seconds += p.Seconds
		}
	}
	ts.HitRate = pyRound2(100 * float64(hits) / float64(len(preds)))
	ts.Measured = measured
	if measured > 0 {
		ts.PromptTokens /= float64(measured)
		ts.AliveTokens /= float64(measured)
		ts.Seconds /= float64(measured)
	}
	return ts
}

// hit reports whether a gold answer occurs in the prediction.
func hit(p Prediction) bool {
	pred := strings.ToLower(p.Pred)
	for _, g := range p.Answers {
		if g = strings.ToLower(strings.TrimSpace(g)); g != "" && strings.Contains(pred, g) {
			return true
		}
	}
	return false
}

// ScoreDir scores every "<task>.jsonl" in dir (LongBench-E buckets when e),
// in the official task order. Files whose name is not a task are errors;
// other files are ignored.
func ScoreDir(dir string, e bool) ([]TaskScore, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	found := map[string]string{}
	for _, ent := range ents {
		name := ent.Name()
		if ent.IsDir() || !strings.HasSuffix(name, ".jsonl") {
			continue
		}
		task := strings.SplitN(name, ".", 2)[0] // eval.py: filename.split('.')[0]
		if _, err := LookupTask(task); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		found[task] = filepath.Join(dir, name)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%s holds no <task>.jsonl prediction files", dir)
	}
	var out []TaskScore
	for _, t := range tasks {
		path, ok := found[t.Name]
		if !ok {
			continue
		}
		pf, err := ReadPredictionFile(path)
		if err != nil {
			return nil, err
		}
		var ts TaskScore
		if e {
			ts, err = ScoreE(t, pf.Rows)
		} else {
			ts, err = Score(t, pf.Rows)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ts.Torn = pf.Torn > 0
		out = append(out, ts)
	}
	return out, nil
}
