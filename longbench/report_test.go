package longbench

import (
	"bytes"
	"context"
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
		"| **AVG en+code** (mean of 2) |  | 100.00 | 0.00 | -100.00 | 100.00 | 0.00 |",
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
