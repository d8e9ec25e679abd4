package metrics

import "strings"

// Count is count_score: the share of the numbers in the prediction that
// equal the gold answer (0 when there are none).
func Count(prediction, groundTruth string) float64 {
	return shareEqual(pyDigitRuns(prediction), groundTruth)
}

// Retrieval is retrieval_score: the share of the numbers in the prediction
// equal to N of the first "Paragraph N" in the gold answer. A gold answer
// without one makes the official scorer fail; here it scores 0 (check gold
// answers with RetrievalID first).
func Retrieval(prediction, groundTruth string) float64 {
	id, ok := RetrievalID(groundTruth, "Paragraph ")
	if !ok {
		return 0
	}
	return shareEqual(pyDigitRuns(prediction), id)
}

// RetrievalZh is retrieval_zh_score: as Retrieval with "段落N".
func RetrievalZh(prediction, groundTruth string) float64 {
	id, ok := RetrievalID(groundTruth, "段落")
	if !ok {
		return 0
	}
	return shareEqual(pyDigitRuns(prediction), id)
}

// RetrievalID returns the digits of the first match of prefix followed by
// \d+ in gold (re.findall(prefix + r"(\d+)", gold)[0]).
func RetrievalID(gold, prefix string) (string, bool) {
	if prefix == "" {
		return "", false
	}
	for i := 0; ; {
		k := strings.Index(gold[i:], prefix)
		if k < 0 {
			return "", false
		}
		rest := gold[i+k+len(prefix):]
		if runs := pyDigitRuns(rest); len(runs) > 0 && strings.HasPrefix(rest, runs[0]) {
			return runs[0], true
		}
		i += k + 1
	}
}

func shareEqual(numbers []string, want string) float64 {
	if len(numbers) == 0 {
		return 0
	}
	right := 0
	for _, n := range numbers {
		if n == want {
			right++
		}
	}
	return float64(right) / float64(len(numbers))
}
