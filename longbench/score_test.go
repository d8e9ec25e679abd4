package longbench

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

// TestScoreOracle is acceptance test 1: scoring the shared predictions of
// llama2-7b-chat reproduces the official scorer's result.json for every
// task, to two decimals (English, code and, with the jieba port, Chinese).
func TestScoreOracle(t *testing.T) {
	dir := filepath.Dir(testdata.Path(t, "longbench/pred/llama2-7b-chat/result.json"))
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]float64
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	got := oracleScores(t)
	if len(got) != len(want) {
		t.Errorf("scored %d tasks, result.json has %d", len(got), len(want))
	}
	for _, ts := range got {
		w, ok := want[ts.Task.Name]
		if !ok {
			t.Errorf("%s: not in result.json", ts.Task.Name)
			continue
		}
		if ts.Score != w {
			t.Errorf("%s (%s): score %v, official %v", ts.Task.Name, ts.Task.Metric, ts.Score, w)
		}
	}
}

func TestPyRound2(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{2.675, 2.67},   // the double is 2.67499999...
		{0.125, 0.12},   // exact tie: to even
		{0.375, 0.38},   // exact tie: to even
		{27.185, 27.18}, // 27.184999...
		{-1.005, -1},
		{100, 100},
	} {
		if got := pyRound2(c.in); got != c.want {
			t.Errorf("pyRound2(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(pyRound2(math.NaN())) {
		t.Error("pyRound2(NaN) is not NaN")
	}
}

// TestPairwiseSum checks numpy's summation order against a float64 sum of
// exactly representable values (which any order gets right) and shows the
// order matters for others.
func TestPairwiseSum(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 16, 127, 128, 129, 300, 1000} {
		xs := make([]float64, n)
		want := 0.0
		for i := range xs {
			xs[i] = float64(i%7) * 0.25
			want += xs[i]
		}
		if got := pairwiseSum(xs); got != want {
			t.Errorf("n=%d: pairwiseSum = %v, want %v", n, got, want)
		}
	}
	// 1e16 and sixteen 1s: sequential summation loses every 1 (1e16+1 rounds
	// back to 1e16); numpy's eight accumulators add the 1s together first.
	xs := []float64{1e16}
	for range 16 {
		xs = append(xs, 1)
	}
	seq := 0.0
	for _, x := range xs {
		seq += x
	}
	if got := pairwiseSum(xs); got == seq || got != 1e16+16 {
		t.Errorf("pairwiseSum = %v, sequential %v; want %v", got, seq, 1e16+16)
	}
}

// TestRowScoresOracle compares every row's score with the official scorer's
// (testdata/official_rows_llama2-7b-chat.json), bit for bit.
func TestRowScoresOracle(t *testing.T) {
	dir := filepath.Dir(testdata.Path(t, "longbench/pred/llama2-7b-chat/result.json"))
	b, err := os.ReadFile(filepath.Join("testdata", "official_rows_llama2-7b-chat.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct{ Rows map[string][]float64 }
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for name, rows := range want.Rows {
		task, err := LookupTask(name)
		if err != nil {
			t.Fatal(err)
		}
		pf, err := ReadPredictionFile(filepath.Join(dir, task.FileName(false)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := RowScores(task, pf.Rows)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rows) {
			t.Fatalf("%s: %d rows, oracle has %d", name, len(got), len(rows))
		}
		bad := 0
		for i := range got {
			if got[i] != rows[i] {
				if bad++; bad <= 3 {
					t.Errorf("%s row %d: %v, official %v", name, i+1, got[i], rows[i])
				}
			}
		}
	}
}

// oracleScores scores the shared predictions once (with the LongBench-E
// buckets, which also gives the plain scores) for the tests below.
var oracleScores = func() func(t *testing.T) []TaskScore {
	var once sync.Once
	var scores []TaskScore
	var err error
	return func(t *testing.T) []TaskScore {
		t.Helper()
		dir := filepath.Dir(testdata.Path(t, "longbench/pred/llama2-7b-chat/result.json"))
		once.Do(func() { scores, err = ScoreDir(dir, true) })
		if err != nil {
			t.Fatal(err)
		}
		return scores
	}
}()

// TestScoreEOracle compares the LongBench-E buckets with the official
// scorer_e on the same predictions (testdata/official_e_llama2-7b-chat.json).
func TestScoreEOracle(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "official_e_llama2-7b-chat.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Buckets map[string]map[string]*float64
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for _, ts := range oracleScores(t) {
		for _, bk := range Buckets() {
			w := want.Buckets[ts.Task.Name][bk]
			g := ts.Buckets[bk]
			switch {
			case w == nil && !math.IsNaN(g):
				t.Errorf("%s %s: %v, official NaN (empty bucket)", ts.Task.Name, bk, g)
			case w != nil && g != *w:
				t.Errorf("%s %s: %v, official %v", ts.Task.Name, bk, g, *w)
			}
		}
	}
}
