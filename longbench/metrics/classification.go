package metrics

import (
	"slices"
	"strings"
)

// Classification is classification_score of the official scorer. The classes
// named in the prediction are collected; then, walking that list while
// removing from it as Python's for-loop over a list does (a removal makes
// the loop skip the next element), every class that is a proper substring
// of the gold answer is dropped. The score is 1/len(list) when the gold
// answer is in the list, else 0. (The official code's difflib fallback is
// unreachable: its guard compares a list with 0.)
func Classification(prediction, groundTruth string, allClasses []string) float64 {
	var matches []string
	for _, c := range allClasses {
		if strings.Contains(prediction, c) {
			matches = append(matches, c)
		}
	}
	for i := 0; i < len(matches); i++ {
		term := matches[i]
		if strings.Contains(groundTruth, term) && term != groundTruth {
			// list.remove drops the first element equal to term.
			j := slices.Index(matches, term)
			matches = slices.Delete(matches, j, j+1)
		}
	}
	if slices.Contains(matches, groundTruth) {
		return 1.0 / float64(len(matches))
	}
	return 0
}
