package ruler

import (
	"fmt"
	"slices"
)

// Prediction is one row of a RULER predictions file (<task>.jsonl): the
// sample's identity and references, the model's answer, and what the
// runner measured. RULER's own rows hold index, pred, input, outputs and
// length; the prompt is not stored here (it is regenerated from the seed).
type Prediction struct {
	ID      string   `json:"_id"`
	Task    string   `json:"task"`
	Length  int      `json:"length"` // the target length of the sample
	Index   int      `json:"index"`
	Pred    string   `json:"pred"`
	Outputs []string `json:"outputs"`
	// PromptTokens is the prompt's length in the model's tokens;
	// AliveTokens the prompt tokens alive after the last pruning stage.
	PromptTokens int     `json:"prompt_tokens,omitempty"`
	AliveTokens  int     `json:"alive_tokens,omitempty"`
	Haystack     int     `json:"haystack,omitempty"` // haystack size that filled the length
	Seconds      float64 `json:"seconds,omitempty"`
	// Error is set on a row whose generation failed; its pred is empty and
	// it scores 0. A resumed run tries it again.
	Error string `json:"error,omitempty"`
}

// TaskScore is one task's score at one length.
type TaskScore struct {
	Task   string
	Length int
	Metric Metric
	Rows   int
	// Failed counts the rows recorded with an error (scored 0); Nulls the
	// predictions empty after post-processing (RULER's "nulls"), failed
	// rows included.
	Failed, Nulls int
	// Score is RULER's: mean row score ×100, rounded to 2 decimals.
	Score float64
	// Means over the rows that have them (successful rows).
	PromptTokens, AliveTokens, Seconds float64
	Measured                           int
}

// ScoreRows scores predictions by task and length, tasks in RULER's order
// and lengths ascending, as Score does; a failed row scores 0. A row must
// name a known task and have outputs (or an error).
func ScoreRows(rows []Prediction) ([]TaskScore, error) {
	type key struct {
		task   string
		length int
	}
	groups := map[key][]Prediction{}
	for i, p := range rows {
		if _, err := LookupTask(p.Task); err != nil {
			return nil, fmt.Errorf("row %d (%s): %w", i+1, p.ID, err)
		}
		if len(p.Outputs) == 0 && p.Error == "" {
			return nil, fmt.Errorf("row %d (%s): no outputs to score against", i+1, p.ID)
		}
		k := key{p.Task, p.Length}
		groups[k] = append(groups[k], p)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	order := map[string]int{}
	for i, n := range TaskNames() {
		order[n] = i
	}
	slices.SortFunc(keys, func(a, b key) int {
		if d := order[a.task] - order[b.task]; d != 0 {
			return d
		}
		return a.length - b.length
	})
	var out []TaskScore
	for _, k := range keys {
		t, _ := LookupTask(k.task)
		g := groups[k]
		s := TaskScore{Task: k.task, Length: k.length, Metric: t.Metric(), Rows: len(g)}
		rowScores := make([]float64, len(g))
		for i, p := range g {
			pred := ""
			if p.Error == "" {
				pred = Postprocess(p.Pred)
				var err error
				if rowScores[i], err = RowScore(s.Metric, pred, p.Outputs); err != nil {
					return nil, fmt.Errorf("%s: %w", p.ID, err)
				}
				if p.PromptTokens > 0 {
					s.PromptTokens += float64(p.PromptTokens)
					s.AliveTokens += float64(p.AliveTokens)
					s.Seconds += p.Seconds
					s.Measured++
				}
			} else {
				s.Failed++
			}
			if pred == "" {
				s.Nulls++
			}
		}
		if s.Measured > 0 {
			m := float64(s.Measured)
			s.PromptTokens, s.AliveTokens, s.Seconds = s.PromptTokens/m, s.AliveTokens/m, s.Seconds/m
		}
		s.Score = aggregate(rowScores)
		out = append(out, s)
	}
	return out, nil
}

// Lengths returns the lengths scores cover, ascending.
func Lengths(scores []TaskScore) []int {
	var ls []int
	for _, s := range scores {
		if !slices.Contains(ls, s.Length) {
			ls = append(ls, s.Length)
		}
	}
	slices.Sort(ls)
	return ls
}
