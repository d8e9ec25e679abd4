package longbench

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunScoreReport is the end-to-end flow on hand-made rows: a baseline
// run that answers every row right and a "pruned" run that answers none
// and keeps half the tokens, then scores and the report.
func TestRunScoreReport(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 5, "hotpotqa", "trec", "lcc")
	base, pruned := filepath.Join(dir, "base"), filepath.Join(dir, "pruned")
	if _, err := Run(context.Background(), runCfg(dir, base, &fakeGen{right: true}, "hotpotqa", "trec", "lcc")); err != nil {
		t.Fatal(err)
	}
	cfg := runCfg(dir, pruned, &fakeGen{keepFrac: 0.5}, "hotpotqa", "trec")
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	runs, err := ScoreRuns([]string{base, pruned})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteReport(&out, runs); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{
		"| task | metric | base | pruned | Δ pruned | hit base | hit pruned |",
		// exact answers: qa_f1 1 and classification 1 on every row.
		"| hotpotqa | qa_f1 | 100.00 | 0.00 | -100.00 | 100.00 | 0.00 |",
		"| trec | classification | 100.00 | 0.00 | -100.00 | 100.00 | 0.00 |",
		// lcc is only in the baseline.
		"| lcc | code_sim | 100.00 | — | — | 100.00 | — |",
		"| **paper AVG (14)** (2 of 14 tasks) |  | 100.00 | 0.00 | -100.00 | 100.00 | 0.00 |",
		"| **EN+code (16)** (2 of 16 tasks) |  | 100.00 | 0.00 | -100.00 | 100.00 | 0.00 |",
		"Means cover only the tasks every run has.",
		"| pruned | 10 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// The pruned run keeps half of the prompt tokens (rounded down per row).
	if !strings.Contains(md, "| base | 15 |") || !strings.Contains(md, "| 100.0% |") {
		t.Errorf("measurements missing:\n%s", md)
	}
}

// TestReportAverages is issue 12's item 5: the SDTP paper's AVG (its 14
// datasets) and the mean of the 16 English and code tasks, each labelled.
func TestReportAverages(t *testing.T) {
	// The 14 datasets of the SDTP paper's Table 1.
	paper := map[string]bool{"narrativeqa": true, "qasper": true, "multifieldqa_en": true, "hotpotqa": true,
		"2wikimqa": true, "musique": true, "gov_report": true, "qmsum": true, "multi_news": true,
		"trec": true, "triviaqa": true, "samsum": true, "lcc": true, "repobench-p": true}
	var all, some []TaskScore
	var sumPaper, sumEN, sumSome float64
	for i, task := range Tasks() {
		s := TaskScore{Task: task, Score: float64(3 * i)}
		all = append(all, s)
		if paper[task.Name] {
			sumPaper += s.Score
		}
		if task.Language != "zh" {
			sumEN += s.Score
		}
		if task.Name == "hotpotqa" || task.Name == "passage_count" {
			some = append(some, s)
			sumSome += s.Score
		}
	}
	for _, c := range []struct {
		scores []TaskScore
		want   []string
	}{
		{all, []string{
			fmt.Sprintf("| **paper AVG (14)** |  | %.2f |", sumPaper/14),
			fmt.Sprintf("| **EN+code (16)** |  | %.2f |", sumEN/16),
		}},
		{some, []string{
			fmt.Sprintf("| **paper AVG (14)** (1 of 14 tasks) |  | %.2f |", some[0].Score),
			fmt.Sprintf("| **EN+code (16)** (2 of 16 tasks) |  | %.2f |", sumSome/2),
		}},
	} {
		var b strings.Builder
		if err := WriteReport(&b, []RunScores{{Name: "r", Scores: c.scores}}); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("report lacks %q:\n%s", w, b.String())
			}
		}
	}
}
