package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/ruler"
)

// TestRulerEndToEnd runs 'sdtp ruler' on the CPU with a tiny real model
// (stories260K, 512 positions) at 512 tokens: a baseline run killed
// part-way by SIGKILL and resumed, a run with an SDTP module and one with
// the keep-most-recent scorer, then score, report and plot. Every
// prediction file ends with each sample exactly once.
func TestRulerEndToEnd(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		return
	}
	ckpt, tok := testmodel.Stories260KFiles(t)
	dir := t.TempDir()
	tasks := []string{"niah_single_1", "niah_multikey_2", "fwe"}
	const samples = 6
	base, module, recent := filepath.Join(dir, "base"), filepath.Join(dir, "module"), filepath.Join(dir, "recent")
	common := []string{"ruler", "run", "--backend", "cpu", "--threads", "1", "--model", ckpt, "--tokenizer", tok,
		"--tasks", strings.Join(tasks, ","), "--lengths", "512", "--samples", fmt.Sprint(samples)}

	// Baseline in a child process, killed once it has written a few rows.
	generated, resumed := killAndResume(t, append(append([]string(nil), common...), "--out", base), filepath.Join(base, tasks[0]+".jsonl"), 2)
	if resumed < 2 || generated < 1 || generated+resumed != samples*len(tasks) {
		t.Errorf("resume after the kill: %d generated, %d already done", generated, resumed)
	}

	mod := initModule(t, ckpt, dir, "1,2,3")
	if code, _, errOut := run(t, append(common, "--out", module, "--prune-module", mod)...); code != 0 {
		t.Fatalf("module run: %s", errOut)
	}
	if code, _, errOut := run(t, append(common, "--out", recent, "--prune-layers", "1,2,3", "--keep-ratio", "0.7", "--prune-scorer", "recent")...); code != 0 {
		t.Fatalf("recent run: %s", errOut)
	}
	for _, d := range []string{base, module, recent} {
		for _, task := range tasks {
			got := wholeRows(t, d, task, samples, ruler.ReadPredictionFile)
			rt, err := ruler.LookupTask(task)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, p := range got {
				if seen[p.ID] || p.Error != "" || p.PromptTokens == 0 || p.PromptTokens+rt.NewTokens() > 512 || len(p.Outputs) == 0 {
					t.Errorf("%s/%s: row %+v", d, task, p)
				}
				seen[p.ID] = true
				if d != base && p.AliveTokens >= p.PromptTokens {
					t.Errorf("pruned row %s keeps all %d tokens", p.ID, p.PromptTokens)
				}
			}
		}
	}
	code, out, errOut := run(t, "ruler", "score", "--preds", module)
	if code != 0 || !strings.Contains(out, "niah_multikey_2     512     6") || !strings.Contains(out, "mean of 3 tasks     512") {
		t.Errorf("score: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, "ruler", "report", "--runs", base+","+module+","+recent)
	if code != 0 {
		t.Fatalf("report: %s", errOut)
	}
	for _, want := range []string{"| run | 512 | mean |", "| recent |", "| niah_single_1 | string_match_all |", "| tasks averaged | 3 | |", "| module | 18 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	figs := filepath.Join(dir, "figs")
	if code, out, errOut := run(t, "ruler", "plot", "--runs", base+","+module+","+recent, "--out", figs, "--formats", "png"); code != 0 || strings.Count(out, ".png") != 2 {
		t.Errorf("plot: exit %d: %s %s", code, out, errOut)
	}
	// Resuming with another pruning setting is refused.
	if code, _, errOut := run(t, append(common, "--out", module)...); code == 0 || !strings.Contains(errOut, "pruning") {
		t.Errorf("resume with other settings: exit %d, %s", code, errOut)
	}
}

func TestRulerErrors(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	dir := t.TempDir()
	model := []string{"--backend", "cpu", "--model", ckpt, "--tokenizer", tok}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ruler", "run", "--model", ckpt}, "--out is required"},
		{append([]string{"ruler", "run", "--out", dir}, model...), "fewer than RULER's shortest length"},
		{append([]string{"ruler", "run", "--out", dir, "--lengths", "1K"}, model...), "1024 tokens exceed the model's 512 positions"},
		{append([]string{"ruler", "run", "--out", dir, "--lengths", "512", "--tasks", "vt"}, model...), "vt: length 512 is too short"},
		{append([]string{"ruler", "run", "--out", dir, "--tasks", "qa_1"}, model...), `unknown task "qa_1"`},
		{[]string{"ruler", "prompt", "--tokenizer", tok, "--task", "niah_single_1", "--length", "100"}, "niah_single_1"},
		{[]string{"ruler", "score", "--preds", dir}, "no RULER predictions file"},
		{[]string{"ruler", "prompt", "--tokenizer", tok}, "--task is required"},
		{[]string{"ruler", "prompt", "--task", "niah_single_1"}, "--tokenizer is required"},
		{[]string{"ruler", "prompt", "--tokenizer", tok, "--task", "niah_single_1", "extra"}, `unexpected argument "extra"`},
		{[]string{"ruler", "merge", "--out", dir, dir}, "--lengths is required"},
		{[]string{"ruler", "merge", "--lengths", "4K", dir}, "--out is required"},
		{[]string{"ruler", "merge", "--out", filepath.Join(dir, "merged"), "--lengths", "4K"}, "name the shard folders"},
		{[]string{"ruler", "score"}, "--preds is required"},
		{[]string{"ruler", "report"}, "--runs is required"},
		{[]string{"ruler", "plot", "--runs", dir}, "--out is required"},
		{[]string{"ruler", "bogus"}, `unknown verb "bogus"`},
	} {
		code, _, errOut := run(t, c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", c.args, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "meta.json")); err == nil {
		t.Error("a refused run wrote meta.json")
	}
}

// TestRulerExport checks that 'ruler export' writes each sample exactly
// as 'ruler prompt' makes it (prompt and answers), in task, length,
// index order from --first, and refuses bad flags before writing.
func TestRulerExport(t *testing.T) {
	_, tok := testmodel.Stories260KFiles(t)
	out := filepath.Join(t.TempDir(), "samples.jsonl")
	code, _, errOut := run(t, "ruler", "export", "--tokenizer", tok, "--out", out, "--tasks", "niah_single_1,fwe",
		"--lengths", "512,768", "--samples", "2", "--first", "3", "--seed", "9")
	if code != 0 {
		t.Fatalf("export: %s", errOut)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var want []string
	for _, task := range []string{"niah_single_1", "fwe"} {
		for _, l := range []int{512, 768} {
			for _, i := range []int{3, 4} {
				want = append(want, ruler.SampleID(task, l, i))
			}
		}
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for k, line := range lines {
		var s exportedSample
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("line %d: %v", k+1, err)
		}
		if s.ID != want[k] {
			t.Fatalf("line %d is %s, want %s", k+1, s.ID, want[k])
		}
		code, prompt, errOut := run(t, "ruler", "prompt", "--tokenizer", tok, "--task", s.Task, "--length", fmt.Sprint(s.Length),
			"--index", fmt.Sprint(s.Index), "--seed", "9")
		if code != 0 {
			t.Fatalf("prompt: %s", errOut)
		}
		if prompt != s.Prompt || !strings.Contains(errOut, "answers: "+strings.Join(s.Outputs, ", ")+"]") || s.Tokens+s.NewTokens > s.Length {
			t.Errorf("%s differs from 'ruler prompt': %q answers %v, prompt said %s", s.ID, s.Prompt, s.Outputs, errOut)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", out}, "--tokenizer is required"},
		{[]string{"--tokenizer", tok}, "--out is required"},
		{[]string{"--tokenizer", tok, "--out", out, "--samples", "0"}, "--samples 0"},
		{[]string{"--tokenizer", tok, "--out", out, "--first", "-1"}, "--first -1"},
		{[]string{"--tokenizer", tok, "--out", out, "--tasks", "qa_1"}, `unknown task "qa_1"`},
		{[]string{"--tokenizer", tok, "--out", out, "--lengths", "x"}, "--lengths"},
		{[]string{"--tokenizer", tok, "--out", out, "--lengths", "100"}, "niah_single_1"},
		{[]string{"--tokenizer", filepath.Join(t.TempDir(), "none.json"), "--out", out}, "--tokenizer"},
	} {
		code, _, errOut := run(t, append([]string{"ruler", "export"}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", c.args, code, errOut, c.want)
		}
	}
	if got, err := os.ReadFile(out); err != nil || string(got) != string(data) {
		t.Error("a refused export changed the file written before")
	}
}
