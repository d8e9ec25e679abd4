package bench

import (
	"context"
	"strings"
	"testing"
)

// TestThroughputTiny runs a small workload at batch 1 and 4 for the
// baseline and a pruned configuration: every request generates exactly
// its new tokens, batch 1 never decodes two requests together, batch 4
// does (never more than 4), and the speedups are set against batch 1.
func TestThroughputTiny(t *testing.T) {
	m := openTiny(t)
	work := []Work{{20, 5}, {60, 8}, {33, 3}, {7, 9}, {41, 6}, {12, 4}}
	var seen []ThroughputRow
	res, err := Throughput(context.Background(), m, ThroughputOptions{
		Configs: []string{"baseline", "paper"}, Batches: []int{4}, Work: work, Workload: "test", Seed: 1,
		CommandLine: []string{"sdtp", "bench", "throughput"},
		Progress:    func(r ThroughputRow) { seen = append(seen, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 4 || len(seen) != 4 {
		t.Fatalf("%d rows, %d progress reports, want 4 (two configurations × batch 1 and 4)", len(res.Rows), len(seen))
	}
	want := int64(0)
	for _, w := range work {
		want += int64(w.NewTokens)
	}
	for i, row := range res.Rows {
		wantBatch := []int{1, 4}[i%2]
		switch {
		case row.Error != "":
			t.Errorf("row %d: %s", i, row.Error)
		case row.Batch != wantBatch || row.Config != []string{"baseline", "paper"}[i/2]:
			t.Errorf("row %d is %s batch %d", i, row.Config, row.Batch)
		case row.GeneratedTokens != want || row.Rows != len(work):
			t.Errorf("row %d: %d rows, %d generated tokens, want %d and %d", i, row.Rows, row.GeneratedTokens, len(work), want)
		case row.PeakBatch > row.Batch || (row.Batch == 4 && row.PeakBatch < 2):
			t.Errorf("row %d: batch %d peaked at %d", i, row.Batch, row.PeakBatch)
		case row.Seconds <= 0 || row.RowsPerSecond != float64(row.Rows)/row.Seconds:
			t.Errorf("row %d: %v s, %v rows/s", i, row.Seconds, row.RowsPerSecond)
		}
		base := res.Rows[i/2*2]
		if got := row.Speedup; got != row.RowsPerSecond/base.RowsPerSecond {
			t.Errorf("row %d: speedup %v, want %v", i, got, row.RowsPerSecond/base.RowsPerSecond)
		}
	}
	var b strings.Builder
	if err := WriteThroughput(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| paper | 4 | 6 |") {
		t.Errorf("table:\n%s", b.String())
	}
	if _, err := Throughput(context.Background(), m, ThroughputOptions{Configs: []string{"baseline"}, Work: []Work{{0, 1}}}); err == nil {
		t.Error("an empty prompt was accepted")
	}
}
