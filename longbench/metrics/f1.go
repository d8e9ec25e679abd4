package metrics

import "github.com/sdtp/sdtp/longbench/jieba"

// f1 is f1_score of the official scorer over two token lists: the size of
// their multiset intersection against each length.
func f1(pred, gold []string) float64 {
	counts := make(map[string]int, len(gold))
	for _, t := range gold {
		counts[t]++
	}
	same := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			same++
		}
	}
	if same == 0 {
		return 0
	}
	precision := 1.0 * float64(same) / float64(len(pred))
	recall := 1.0 * float64(same) / float64(len(gold))
	return (2 * precision * recall) / (precision + recall)
}

// QAF1 is qa_f1_score: token F1 of the normalized answers split on
// whitespace.
func QAF1(prediction, groundTruth string) float64 {
	return f1(pyFields(NormalizeAnswer(prediction)), pyFields(NormalizeAnswer(groundTruth)))
}

// QAF1Zh is qa_f1_zh_score: token F1 over jieba words, each normalized with
// NormalizeZhAnswer, empty ones dropped.
func QAF1Zh(seg *jieba.Segmenter, prediction, groundTruth string) float64 {
	return f1(zhTokens(seg, prediction), zhTokens(seg, groundTruth))
}

func zhTokens(seg *jieba.Segmenter, s string) []string {
	var out []string
	for _, w := range seg.Cut(s) {
		if n := NormalizeZhAnswer(w); n != "" {
			out = append(out, n)
		}
	}
	return out
}
