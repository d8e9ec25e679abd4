package ruler

import (
	"strings"
	"testing"
)

// scoreCases are hand-made predictions with the scores RULER gives them.
// The expected values follow from reading RULER's
// scripts/eval/synthetic/constants.py (string_match_all: per row the
// share of references r with r.lower() in pred.lower(); string_match_part:
// 1 when any is; mean ×100, round(x, 2)) and scripts/eval/evaluate.py
// (postprocess_pred: strip, [\x00-\x1f] → "\n", strip); they were checked
// by running those two Python functions (CPython 3.11) on these inputs.
var scoreCases = []struct {
	pred      string
	refs      []string
	all, part float64
	why       string
}{
	{"The special magic number is 1234567.", []string{"1234567"}, 100, 100, "the reference is in the prediction"},
	{"1234567 and 7654321", []string{"1234567", "7654321", "1111111"}, 66.67, 100, "two of three references: all scores 2/3, part 1"},
	{"", []string{"x"}, 0, 0, "an empty prediction finds nothing"},
	{"QWERT, asdfg", []string{"qwert", "ASDFG"}, 100, 100, "case is ignored on both sides"},
	{"12345678", []string{"1234567"}, 100, 100, "a plain substring test: no word boundaries"},
	{"abc\tdef", []string{"abc\tdef"}, 0, 0, "the prediction's tab becomes a newline; the reference is not post-processed"},
	{"\x00 cat\x1f", []string{"cat"}, 100, 100, "control characters at the ends become newlines and are stripped"},
	{"İSTANBUL", []string{"istanbul"}, 0, 0, "Python lowers İ to i plus a combining dot, which breaks the match (Go's simple mapping would not)"},
	{"VAR ABCDE", []string{"abcde", "fghij"}, 50, 100, "one variable of two"},
	{"  \u3000 answer: Kelvin \u212a \n", []string{"kelvin k"}, 100, 100, "Unicode white space is stripped; the Kelvin sign lowers to k"},
}

func TestRowScoresMatchRULER(t *testing.T) {
	for _, c := range scoreCases {
		for _, m := range []struct {
			metric Metric
			want   float64
		}{{MatchAll, c.all}, {MatchPart, c.part}} {
			got, err := Score(m.metric, []string{c.pred}, [][]string{c.refs})
			if err != nil || got != m.want {
				t.Errorf("%s %q %q: %v, %v; want %v (%s)", m.metric, c.pred, c.refs, got, err, m.want, c.why)
			}
		}
	}
}

func TestScoreAggregatesAsRULER(t *testing.T) {
	var preds []string
	var refs [][]string
	for _, c := range scoreCases {
		preds = append(preds, c.pred)
		refs = append(refs, c.refs)
	}
	many := func(right, n int) ([]string, [][]string) {
		var p []string
		var r [][]string
		for i := range n {
			p = append(p, map[bool]string{true: "x", false: ""}[i < right])
			r = append(r, []string{"x"})
		}
		return p, r
	}
	p1, r1 := many(1, 32)
	p5, r5 := many(5, 32)
	for _, c := range []struct {
		name   string
		metric Metric
		preds  []string
		refs   [][]string
		want   float64
	}{
		// The rows above: (1 + 2/3 + 0 + 1 + 1 + 0 + 1 + 0 + 1/2 + 1)/10.
		{"cases all", MatchAll, preds, refs, 61.67},
		{"cases part", MatchPart, preds, refs, 70},
		// 1/32 is 3.125 exactly, a tie that round(x, 2) takes to even.
		{"tie to even", MatchAll, p1, r1, 3.12},
		{"tie to even, part", MatchPart, p5, r5, 15.62},
		{"fractions", MatchAll, []string{"a", "a b", "a"}, [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}}, 77.78},
	} {
		got, err := Score(c.metric, c.preds, c.refs)
		if err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestScoreErrors(t *testing.T) {
	if _, err := Score(MatchAll, nil, nil); err == nil {
		t.Error("no rows: no error")
	}
	if _, err := Score(MatchAll, []string{"a"}, [][]string{{}}); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("no references: %v", err)
	}
	if _, err := Score("exact", []string{"a"}, [][]string{{"a"}}); err == nil {
		t.Error("unknown metric: no error")
	}
}
