package ruler

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/evalrun"
)

// needleModel answers with the value of the first needle in the prompt
// and fails the calls numbered in fail (from 1).
type needleModel struct {
	fail  map[int]bool
	calls int
}

var needleValue = regexp.MustCompile(`special magic \w+ for \S+ is: (\S+)\.`)

func (m *needleModel) Generate(_ context.Context, req evalrun.GenRequest) (evalrun.GenResult, error) {
	m.calls++
	if m.fail[m.calls] {
		return evalrun.GenResult{}, errors.New("device out of memory")
	}
	text := " nothing"
	if v := needleValue.FindStringSubmatch(req.Prompt); v != nil {
		text = " " + v[1] + "."
	}
	return evalrun.GenResult{Text: text, PromptTokens: len(req.Prompt) / 4, AliveTokens: len(req.Prompt) / 8, Seconds: 0.5}, nil
}

func rulerRun(t *testing.T, out string, m evalrun.Generator, samples int, model string) (evalrun.Stats, error) {
	t.Helper()
	tasks, err := ParseTasks("niah_single_1,vt")
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), RunConfig{Out: out, Tasks: tasks, Lengths: []int{2048, 1024}, Samples: samples,
		Data: qwenGenerator(t, 5), Generator: m, Meta: evalrun.RunMeta{Settings: map[string]string{"model": model}}})
}

func TestRunResumesAndExtends(t *testing.T) {
	out := t.TempDir()
	m := &needleModel{fail: map[int]bool{7: true}} // vt-2048-0
	st, err := rulerRun(t, out, m, 2, "m")
	if err != nil {
		t.Fatal(err)
	}
	if st != (evalrun.Stats{Generated: 7, Failed: 1}) {
		t.Errorf("stats %+v", st)
	}
	c, err := ReadPredictionFile(filepath.Join(out, "vt.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range c.Rows {
		ids = append(ids, p.ID)
	}
	// Length by length, shortest first.
	if want := []string{"vt-1024-0", "vt-1024-1", "vt-2048-0", "vt-2048-1"}; !slices.Equal(ids, want) {
		t.Errorf("vt rows %v, want %v", ids, want)
	}
	if c.Rows[2].Error == "" || len(c.Rows[2].Outputs) != 5 || c.Rows[2].Pred != "" {
		t.Errorf("failed row %+v", c.Rows[2])
	}
	ds, err := ScoreDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ds.Scores {
		switch {
		case s.Task == "niah_single_1" && s.Score != 100:
			t.Errorf("niah_single_1 at %d: %v, want 100 (the model names the only needle's value)", s.Length, s.Score)
		case s.Task == "vt" && s.Length == 2048 && (s.Failed != 1 || s.Nulls != 1):
			t.Errorf("vt at 2048: %+v", s)
		}
	}

	// The same run again retries only the failed sample.
	m2 := &needleModel{}
	if st, err = rulerRun(t, out, m2, 2, "m"); err != nil || st != (evalrun.Stats{Generated: 1, Resumed: 7}) {
		t.Errorf("resume: %+v %v", st, err)
	}
	// More samples add only the new ones; other settings are refused.
	if st, err = rulerRun(t, out, m2, 3, "m"); err != nil || st != (evalrun.Stats{Generated: 4, Resumed: 8}) {
		t.Errorf("extend: %+v %v", st, err)
	}
	if _, err = rulerRun(t, out, m2, 3, "other"); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("other settings: %v", err)
	}
	ds, err = ScoreDir(out)
	if err != nil || len(ds.Scores) != 4 || ds.Scores[0].Rows != 3 {
		t.Errorf("scores %+v %v", ds, err)
	}
}

func TestRunChecksLengthsFirst(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	tasks, _ := ParseTasks("cwe")
	_, err := Run(context.Background(), RunConfig{Out: out, Tasks: tasks, Lengths: []int{4096, 300}, Samples: 1,
		Data: qwenGenerator(t, 1), Generator: &needleModel{}})
	if err == nil || !strings.Contains(err.Error(), "cwe") {
		t.Fatalf("error %v", err)
	}
	if _, err := ScoreDir(out); err == nil {
		t.Error("a folder was written")
	}
}
