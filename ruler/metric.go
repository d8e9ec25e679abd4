package ruler

import (
	"fmt"
	"strings"

	"github.com/sdtp/sdtp/evalrun"
)

// Postprocess is RULER's postprocess_pred (scripts/eval/evaluate.py): the
// prediction stripped, every control character U+0000..U+001F turned into
// a newline, stripped again. (Python's strip removes U+001C..U+001F too,
// which Go's unicode.IsSpace does not; they are newlines by then.)
func Postprocess(pred string) string {
	pred = strings.Map(func(r rune) rune {
		if r <= 0x1f {
			return '\n'
		}
		return r
	}, pred)
	return strings.TrimSpace(pred)
}

// pyLower is Python's str.lower() for the purpose of substring tests:
// Go's simple lower-case mapping plus the one unconditional multi-rune
// mapping of Unicode's SpecialCasing (U+0130 to "i̇"). Python's
// final-sigma rule is not followed (σ where Python writes ς).
func pyLower(s string) string {
	if !strings.ContainsRune(s, 'İ') {
		return strings.ToLower(s)
	}
	return strings.ToLower(strings.ReplaceAll(s, "İ", "i\u0307"))
}

// Hits counts the references contained in pred, ignoring case (RULER's
// r.lower() in pred.lower()).
func Hits(pred string, refs []string) int {
	p := pyLower(pred)
	n := 0
	for _, r := range refs {
		if strings.Contains(p, pyLower(r)) {
			n++
		}
	}
	return n
}

// RowScore is one row's score under m, in [0, 1]: for string_match_all
// the share of its references found in the prediction, for
// string_match_part 1 when any is (scripts/eval/synthetic/constants.py).
// The prediction is compared as it is; Score post-processes first.
func RowScore(m Metric, pred string, refs []string) (float64, error) {
	if len(refs) == 0 {
		return 0, fmt.Errorf("no references to score against")
	}
	hits := Hits(pred, refs)
	switch m {
	case MatchAll:
		return float64(hits) / float64(len(refs)), nil
	case MatchPart:
		if hits > 0 {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("unknown metric %q", m)
}

// Score is RULER's metric over rows as evaluate.py computes it: each
// prediction post-processed, the row scores summed in order, divided by
// the number of rows, times 100, rounded as Python's round(x, 2). preds
// and refs pair up by index.
func Score(m Metric, preds []string, refs [][]string) (float64, error) {
	if len(preds) != len(refs) {
		return 0, fmt.Errorf("%d predictions for %d reference lists", len(preds), len(refs))
	}
	if len(preds) == 0 {
		return 0, fmt.Errorf("no rows to score")
	}
	scores := make([]float64, len(preds))
	for i, p := range preds {
		s, err := RowScore(m, Postprocess(p), refs[i])
		if err != nil {
			return 0, fmt.Errorf("row %d: %w", i+1, err)
		}
		scores[i] = s
	}
	return aggregate(scores), nil
}

// aggregate is evaluate.py's task score from row scores: summed in order
// (Python's sum, left to right, as CPython 3.11 and earlier add floats),
// divided by the rows, ×100, round(x, 2).
func aggregate(rowScores []float64) float64 {
	sum := 0.0
	for _, s := range rowScores {
		sum += s
	}
	return evalrun.PyRound2(sum / float64(len(rowScores)) * 100)
}
