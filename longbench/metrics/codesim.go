package metrics

import (
	"math"
	"strings"
)

// CodeSim is code_sim_score: the first line of the prediction (after leading
// newlines) that has no '`', '#' or "//", compared with the gold line by
// fuzzywuzzy's ratio (difflib, rounded to a whole percent) and divided by 100.
func CodeSim(prediction, groundTruth string) float64 {
	line := ""
	for _, l := range strings.Split(strings.TrimLeft(prediction, "\n"), "\n") {
		if !strings.Contains(l, "`") && !strings.Contains(l, "#") && !strings.Contains(l, "//") {
			line = l
			break
		}
	}
	return float64(FuzzRatio(line, groundTruth)) / 100
}

// FuzzRatio is fuzzywuzzy 0.18's fuzz.ratio without python-Levenshtein:
// 100 for equal strings, 0 when either is empty, otherwise
// round(100 * difflib.SequenceMatcher(None, a, b).ratio()) with Python's
// round-half-to-even.
func FuzzRatio(a, b string) int {
	if a == b {
		return 100
	}
	if a == "" || b == "" {
		return 0
	}
	return int(math.RoundToEven(100 * SequenceRatio([]rune(a), []rune(b))))
}
