package ruler

import (
	"math"
	"strings"
	"testing"
)

// handRows are predictions whose scores follow by hand: niah_single_1 at
// 4096 has one right row and one wrong (50); at 8192 one failed row (0);
// cwe at 4096 names 5 of its 10 words (50).
func handRows() []Prediction {
	ten := []string{"a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8", "i9", "j0"}
	return []Prediction{
		{ID: "niah_single_1-4096-0", Task: "niah_single_1", Length: 4096, Pred: " 1234567.", Outputs: []string{"1234567"}, PromptTokens: 3900, AliveTokens: 1950, Seconds: 2},
		{ID: "niah_single_1-4096-1", Task: "niah_single_1", Length: 4096, Index: 1, Pred: "7654320", Outputs: []string{"7654321"}, PromptTokens: 3950, AliveTokens: 1975, Seconds: 4},
		{ID: "niah_single_1-8192-0", Task: "niah_single_1", Length: 8192, Outputs: []string{"1"}, Error: "out of memory"},
		{ID: "cwe-4096-0", Task: "cwe", Length: 4096, Pred: "1. A1 2. b2 3. c3 4. d4 5. e5", Outputs: ten},
	}
}

func TestScoreRows(t *testing.T) {
	got, err := ScoreRows(handRows())
	if err != nil {
		t.Fatal(err)
	}
	want := []TaskScore{
		{Task: "niah_single_1", Length: 4096, Metric: MatchAll, Rows: 2, Score: 50, PromptTokens: 3925, AliveTokens: 1962.5, Seconds: 3, Measured: 2},
		{Task: "niah_single_1", Length: 8192, Metric: MatchAll, Rows: 1, Failed: 1, Nulls: 1, Score: 0},
		{Task: "cwe", Length: 4096, Metric: MatchAll, Rows: 1, Score: 50},
	}
	if len(got) != len(want) {
		t.Fatalf("%d scores, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("score %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []Prediction{
		{ID: "x", Task: "qa_1", Length: 4096, Outputs: []string{"a"}},
		{ID: "y", Task: "vt", Length: 4096},
	} {
		if _, err := ScoreRows([]Prediction{bad}); err == nil || !strings.Contains(err.Error(), bad.ID) {
			t.Errorf("row %s: error %v", bad.ID, err)
		}
	}
}

func TestReport(t *testing.T) {
	base, err := ScoreRows(handRows())
	if err != nil {
		t.Fatal(err)
	}
	rows := handRows()
	rows[1].Pred = "7654321" // both niah rows right: 100 at 4K
	rows = rows[:2]          // no cwe, no 8K
	pruned, err := ScoreRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	runs := []RunScores{{Name: "base", Scores: base}, {Name: "paper", Scores: pruned}}
	m := Means(runs)
	// At 4K only niah_single_1 is common: base 50, paper 100; at 8K only
	// base has rows: its one task, 0.
	if len(m.Lengths) != 2 || m.Tasks[0] != 1 || m.Tasks[1] != 1 || m.Means[0][0] != 50 || m.Means[1][0] != 100 || m.Means[0][1] != 0 || !math.IsNaN(m.Means[1][1]) {
		t.Fatalf("means %+v", m)
	}
	var b strings.Builder
	if err := WriteReport(&b, runs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| run | 4K | 8K | mean |",
		"| base | 50.00 | 0.00 | 50.00 |",
		"| paper | 100.00 (+50.00) | — | 100.00 (+50.00) |",
		"The mean column covers only the lengths every run has.",
		"| tasks averaged | 1 | 1 | |",
		"### 4K (4096 tokens)",
		"| niah_single_1 | string_match_all | 50.00 | 100.00 | +50.00 |",
		"| cwe | string_match_all | 50.00 | — | — |",
		"### 8K (8192 tokens)",
		"| niah_single_1 | string_match_all | 0.00 | — | — |",
		"**base: 1 rows failed** and count as 0 above (niah_single_1 at 8K: 1)",
		"| base | 2 | 3925.0 | 50.0% | 3.000 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if err := WriteReport(&b, nil); err == nil {
		t.Error("no runs: no error")
	}
}
