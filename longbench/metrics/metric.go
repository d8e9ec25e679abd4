package metrics

import (
	"fmt"

	"github.com/sdtp/sdtp/longbench/jieba"
)

// Func scores one prediction against one gold answer; allClasses is the
// row's class list (used by classification only).
type Func func(prediction, groundTruth string, allClasses []string) float64

// Names returns the metric names Lookup accepts: the official scorer's
// function names without their "_score" suffix.
func Names() []string {
	return []string{"qa_f1", "qa_f1_zh", "rouge", "rouge_zh", "classification", "retrieval", "retrieval_zh", "count", "code_sim"}
}

// Lookup returns the metric with the given name. The Chinese metrics load
// the embedded jieba dictionary on first use.
func Lookup(name string) (Func, error) {
	switch name {
	case "qa_f1":
		return func(p, g string, _ []string) float64 { return QAF1(p, g) }, nil
	case "rouge":
		return func(p, g string, _ []string) float64 { return RougeL(p, g) }, nil
	case "classification":
		return Classification, nil
	case "retrieval":
		return func(p, g string, _ []string) float64 { return Retrieval(p, g) }, nil
	case "retrieval_zh":
		return func(p, g string, _ []string) float64 { return RetrievalZh(p, g) }, nil
	case "count":
		return func(p, g string, _ []string) float64 { return Count(p, g) }, nil
	case "code_sim":
		return func(p, g string, _ []string) float64 { return CodeSim(p, g) }, nil
	case "qa_f1_zh", "rouge_zh":
		seg, err := jieba.Default()
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		if name == "qa_f1_zh" {
			return func(p, g string, _ []string) float64 { return QAF1Zh(seg, p, g) }, nil
		}
		return func(p, g string, _ []string) float64 { return RougeLZh(seg, p, g) }, nil
	}
	return nil, fmt.Errorf("unknown metric %q (known: %v)", name, Names())
}
