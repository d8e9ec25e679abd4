package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/chat"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/longbench"
)

// TestLongbenchScoreOracle is issue 5's first acceptance item as a
// command: score --json reproduces the official result.json.
func TestLongbenchScoreOracle(t *testing.T) {
	want := testdata.Path(t, "longbench/pred/llama2-7b-chat/result.json")
	code, out, errOut := run(t, "longbench", "score", "--preds", filepath.Dir(want), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got, official map[string]float64
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &official); err != nil {
		t.Fatal(err)
	}
	if len(got) != 21 || len(official) != 21 {
		t.Fatalf("%d scores, official %d", len(got), len(official))
	}
	for task, w := range official {
		if got[task] != w {
			t.Errorf("%s: %v, official %v", task, got[task], w)
		}
	}
	if !strings.Contains(out, `"trec": 64.5,`) {
		t.Errorf("floats not printed as Python does:\n%s", out)
	}
}

func TestLongbenchPrompt(t *testing.T) {
	file := testdata.Path(t, "longbench/rows/hotpotqa.jsonl")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := longbench.ReadRows(f, file)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	task, _ := longbench.LookupTask("hotpotqa")
	plain, err := longbench.BuildPrompt(task, rows[0], longbench.PromptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "longbench", "prompt", "--data", file, "--chat-template", "none")
	if code != 0 || out != plain {
		t.Fatalf("exit %d (%s): printed prompt differs from BuildPrompt", code, errOut)
	}
	code, out, _ = run(t, "longbench", "prompt", "--data", file, "--chat-template", "official-llama2")
	if code != 0 || out != "[INST]"+plain+"[/INST]" {
		t.Errorf("official-llama2 template: exit %d, %.80q", code, out)
	}
	code, out, _ = run(t, "longbench", "prompt", "--data", file, "--chat-template", "chatml")
	if code != 0 || !strings.HasPrefix(out, "<|im_start|>system\n") || !strings.HasSuffix(out, plain+"<|im_end|>\n<|im_start|>assistant\n") {
		t.Errorf("chatml template: exit %d, %.80q", code, out)
	}
	// trec is on the skip list: no template.
	trec := testdata.Path(t, "longbench/rows/trec.jsonl")
	code, out, _ = run(t, "longbench", "prompt", "--data", trec, "--chat-template", "chatml")
	if code != 0 || strings.Contains(out, "<|im_start|>") {
		t.Errorf("trec got a chat template: exit %d", code)
	}
	tok := testdata.Path(t, "qwen2/tokenizer.json")
	code, out, errOut = run(t, "longbench", "prompt", "--data", file, "--tokenizer", tok, "--max-length", "500", "--chat-template", "none")
	if code != 0 || !strings.HasPrefix(out, plain[:200]) || !strings.HasSuffix(out, "Answer:") || len(out) >= len(plain) {
		t.Errorf("truncated prompt: exit %d, %d of %d bytes", code, len(out), len(plain))
	}
	var n int
	if _, err := fmt.Sscanf(strings.TrimSpace(errOut), "[%d tokens]", &n); err != nil || n < 496 || n > 504 {
		t.Errorf("token count %q", errOut)
	}
	// --positions fits the prompt as the runner does: with hotpotqa's 32
	// new tokens and the template inside the model's 512 positions.
	tok512 := testdata.Path(t, "llama2c/tok512.bin")
	code, out, errOut = run(t, "longbench", "prompt", "--data", file, "--tokenizer", tok512, "--positions", "512", "--chat-template", "llama2")
	if _, err := fmt.Sscanf(strings.TrimSpace(errOut), "[%d tokens]", &n); code != 0 || err != nil || n+32 > 512 || n+32 < 506 || !strings.HasPrefix(out, "<s>[INST] ") {
		t.Errorf("--positions 512: exit %d, %q, %.40q", code, errOut, out)
	}
	if code, _, errOut = run(t, "longbench", "prompt", "--data", file, "--positions", "512"); code == 0 || !strings.Contains(errOut, "--positions needs --tokenizer") {
		t.Errorf("--positions without --tokenizer: exit %d, %s", code, errOut)
	}
}

func TestLongbenchErrors(t *testing.T) {
	lbData := t.TempDir()
	writeLongbenchRows(t, lbData, 1, "samsum")
	ckpt, tok := testmodel.Stories260KFiles(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"longbench", "frobnicate"}, `unknown verb "frobnicate"`},
		{[]string{"longbench", "score"}, "--preds is required"},
		{[]string{"longbench", "prompt"}, "--data is required"},
		{[]string{"longbench", "run", "--model", "x"}, "--out is required"},
		{[]string{"longbench", "merge", t.TempDir()}, "--out is required"},
		{[]string{"longbench", "score", "--preds", t.TempDir()}, "no <task>.jsonl"},
		{[]string{"longbench", "run", "--model", "x", "--out", t.TempDir(), "--tasks", "nq"}, `--tasks: unknown LongBench task "nq"`},
		{[]string{"longbench", "run", "--out", t.TempDir(), "--limit", "-1"}, "--limit -1"},
		{[]string{"longbench", "prompt", "--data", "missing.jsonl"}, "--data: open missing.jsonl"},
		{[]string{"longbench", "prompt", "--data", testdata.Path(t, "longbench/rows/trec.jsonl"), "--task", "nq"}, `--task: unknown LongBench task "nq"`},
		{[]string{"longbench", "prompt", "--data", testdata.Path(t, "longbench/rows/trec.jsonl"), "--max-length", "100"}, "--max-length needs --tokenizer"},
		{[]string{"longbench", "download", "--dir", t.TempDir(), "--url", "http://127.0.0.1:1/data.zip", "--quiet"}, "offline"},
		{[]string{"longbench", "validate", "--dir", t.TempDir()}, "34 of 34 data files"},
		{[]string{"longbench", "validate", "--dir", filepath.Join(t.TempDir(), "none")}, "no such file or directory (download the data"},
		{[]string{"longbench", "score", "--preds", filepath.Join(t.TempDir(), "none")}, "--preds: "},
		{[]string{"longbench", "report", "--runs", filepath.Join(t.TempDir(), "none")}, "--runs: "},
		{[]string{"longbench", "run", "--model", ckpt, "--tokenizer", tok, "--data", lbData, "--tasks", "samsum", "--max-length", "500", "--out", filepath.Join(t.TempDir(), "run")},
			"--max-length: 500 prompt tokens and samsum's 128 new tokens exceed the model's 512 positions"},
		{[]string{"longbench", "run", "--model", "x", "--out", t.TempDir(), "--tasks", ""}, "--tasks: no tasks named"},
	} {
		code, _, errOut := run(t, c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want it to mention %q", c.args, code, errOut, c.want)
		}
	}
}

// failSecond fails the second request it gets and passes the others on.
type failSecond struct {
	inner longbench.Generator
	n     int
}

func (g *failSecond) Generate(ctx context.Context, req longbench.GenRequest) (longbench.GenResult, error) {
	if g.n++; g.n == 2 {
		return longbench.GenResult{}, errors.New("out of device memory")
	}
	return g.inner.Generate(ctx, req)
}

// TestLongbenchRunFailedRow is issue 12's item 2 as a command: a row that
// fails is recorded and the run goes on, then exits non-zero; score counts
// the row as failed; running the command again retries it.
func TestLongbenchRunFailedRow(t *testing.T) {
	dir := t.TempDir()
	writeLongbenchRows(t, dir, 3, "hotpotqa")
	out := filepath.Join(dir, "run")
	ckpt, tok := testmodel.Stories260KFiles(t)
	args := []string{"--backend", "cpu", "--model", ckpt, "--tokenizer", tok,
		"--data", dir, "--tasks", "hotpotqa", "--out", out}
	var stdout, stderr strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, argv: append([]string{"sdtp", "longbench", "run"}, args...)}
	cfg, closeEngine, err := lbRunConfig(e, args)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Generator = &failSecond{inner: cfg.Generator}
	err = runLongbenchConfig(context.Background(), e, cfg)
	closeEngine()
	if err == nil || !strings.Contains(err.Error(), "1 rows failed") || stdout.String() != "2 rows generated, 0 already done, 1 failed, in "+out+"\n" {
		t.Fatalf("run with a failing row: %v, %q", err, stdout.String())
	}
	pf, err := longbench.ReadPredictionFile(filepath.Join(out, "hotpotqa.jsonl"))
	if err != nil || len(pf.Rows) != 3 || pf.Rows[1].Error != "out of device memory" || pf.Rows[1].ID != "hotpotqa-001" {
		t.Fatalf("prediction file: %+v, %v", pf.Rows, err)
	}
	code, scoreOut, errOut := run(t, "longbench", "score", "--preds", out)
	if code != 0 || !strings.Contains(errOut, "1 of the 3 rows of hotpotqa.jsonl failed") || !strings.Contains(strings.Join(strings.Fields(scoreOut), " "), "hotpotqa qa_f1 3 1 ") {
		t.Errorf("score: exit %d, %s\n%s", code, errOut, scoreOut)
	}
	code, runOut, errOut := run(t, append([]string{"longbench", "run"}, args...)...)
	if code != 0 || runOut != "1 rows generated, 2 already done, 0 failed, in "+out+"\n" {
		t.Errorf("retry: exit %d, %q, %s", code, runOut, errOut)
	}
}

// TestLongbenchMissingFolders is issue 12's item 18: validate on a missing
// folder says so in one line, and a download that fails offline leaves no
// folder behind.
func TestLongbenchMissingFolders(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	code, out, errOut := run(t, "longbench", "validate", "--dir", missing)
	if code == 0 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "--dir "+missing+": ") {
		t.Errorf("validate on a missing folder: exit %d, stdout %q, stderr %q; want one line on stderr", code, out, errOut)
	}
	dir := filepath.Join(missing, "x")
	code, _, errOut = run(t, "longbench", "download", "--dir", dir, "--url", "http://127.0.0.1:1/data.zip", "--quiet")
	if code == 0 || !strings.Contains(errOut, "offline") {
		t.Errorf("offline download: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed download made %s (%v)", missing, err)
	}
}

// writeLongbenchRows writes n short hand-made rows per task, small enough
// for stories260K's 512 positions.
func writeLongbenchRows(t *testing.T, dir string, n int, tasks ...string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		var b strings.Builder
		for i := range n {
			r := longbench.Row{
				Input:   fmt.Sprintf("Who had the red ball in story %d?", i),
				Context: fmt.Sprintf("Once upon a time Lily had a red ball. Tom had %d cats. They played in the park.", i),
				Answers: []string{"Lily"}, Length: 20 + i, Dataset: task, Language: "en", ID: fmt.Sprintf("%s-%03d", task, i),
			}
			if task == "trec" {
				r.AllClasses = []string{"Individual", "City", "Lily"}
			}
			line, _ := json.Marshal(r)
			b.Write(line)
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, "data", task+".jsonl"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLongbenchEndToEnd is issue 5's third acceptance item on the CPU with
// a tiny real model (stories260K): a baseline run killed part-way by
// SIGKILL and resumed, a pruned run with an SDTP module, then score and
// report. Every prediction file ends with each row exactly once.
func TestLongbenchEndToEnd(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		return
	}
	ckpt, tok := testmodel.Stories260KFiles(t)
	dir := t.TempDir()
	tasks := []string{"hotpotqa", "trec", "samsum", "lcc"}
	const rows = 10
	writeLongbenchRows(t, dir, rows, tasks...)
	base, pruned := filepath.Join(dir, "base"), filepath.Join(dir, "pruned")
	common := []string{"longbench", "run", "--backend", "cpu", "--model", ckpt, "--tokenizer", tok, "--data", dir, "--tasks", strings.Join(tasks, ","), "--max-length", "384"}

	// Baseline in a child process, killed once it has written a few rows.
	generated, resumed := killAndResume(t, append(append([]string(nil), common...), "--out", base), filepath.Join(base, "hotpotqa.jsonl"), 3)
	if resumed < 3 || generated < 1 || generated+resumed != rows*len(tasks) {
		t.Errorf("resume after the kill: %d generated, %d already done", generated, resumed)
	}

	mod := initModule(t, ckpt, dir, "1,2,3")
	if code, _, errOut := run(t, append(common, "--out", pruned, "--prune-module", mod)...); code != 0 {
		t.Fatalf("pruned run: %s", errOut)
	}
	for _, d := range []string{base, pruned} {
		for _, task := range tasks {
			for i, p := range wholeRows(t, d, task, rows, longbench.ReadPredictionFile) {
				if want := fmt.Sprintf("%s-%03d", task, i); p.ID != want || p.PromptTokens == 0 {
					t.Errorf("%s/%s row %d: id %s (want %s), %d prompt tokens", d, task, i, p.ID, want, p.PromptTokens)
				}
				if d == pruned && p.AliveTokens >= p.PromptTokens {
					t.Errorf("pruned row %s keeps all %d tokens", p.ID, p.PromptTokens)
				}
			}
		}
	}
	code, out, errOut := run(t, "longbench", "report", "--runs", base+","+pruned)
	if code != 0 {
		t.Fatalf("report: %s", errOut)
	}
	for _, want := range []string{"| task | metric | base | pruned | Δ pruned | hit base | hit pruned |", "| hotpotqa | qa_f1 |", "| lcc | code_sim |", "| **paper AVG (14)** (4 of 14 tasks) |", "| **EN+code (16)** (4 of 16 tasks) |", "| pruned | 40 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Resuming with another pruning setting is refused.
	if code, _, errOut := run(t, append(common, "--out", pruned)...); code == 0 || !strings.Contains(errOut, "pruning") {
		t.Errorf("resume with other settings: exit %d, %s", code, errOut)
	}
}

// fitCheck wraps the engine's generator: it checks that each prompt, as
// the engine tokenizes it, leaves room for the task's new tokens in the
// model's positions, then lets the engine generate only a few of them.
type fitCheck struct {
	inner     longbench.Generator
	tok       longbench.Tokenizer
	positions int
	requests  int
	over      []string
}

func (g *fitCheck) Generate(ctx context.Context, req longbench.GenRequest) (longbench.GenResult, error) {
	g.requests++
	n := len(longbench.EncodePrompt(g.tok, req.Prompt))
	if n+req.MaxNewTokens > g.positions || req.MaxNewTokens < 1 {
		g.over = append(g.over, fmt.Sprintf("%d prompt tokens + %d new tokens", n, req.MaxNewTokens))
	}
	req.MaxNewTokens = min(req.MaxNewTokens, 2)
	res, err := g.inner.Generate(ctx, req)
	if err == nil && res.PromptTokens != n {
		g.over = append(g.over, fmt.Sprintf("the engine read %d prompt tokens, the check counted %d", res.PromptTokens, n))
	}
	return res, err
}

// TestLongbenchRunFitsEveryTemplate is issue 12's acceptance line for
// LongBench: 'longbench run --tasks all' over the shared real rows (12 of
// the 21 tasks: the others are left out with a warning) with the default
// --max-length, with stories260K (512 positions, llama2.c tokenizer) and
// synthetic:qwen2-tiny (Qwen2's byte-level tokenizer, 1024 positions), and
// every chat template: every row completes, its prompt plus the task's new
// tokens within the positions. To stay fast each model is opened once
// through the command's flags, each template resolved as --chat-template
// does, and the engine generates 2 of the new tokens; the prompts are
// fitted for the full number.
func TestLongbenchRunFitsEveryTemplate(t *testing.T) {
	rowsDir := testdata.Path(t, "longbench/rows")
	files, err := filepath.Glob(filepath.Join(rowsDir, "*.jsonl"))
	if err != nil || len(files) != 12 {
		t.Fatalf("%d shared rows (%v), want 12", len(files), err)
	}
	var tasks []string
	for _, f := range files {
		tasks = append(tasks, strings.TrimSuffix(filepath.Base(f), ".jsonl"))
	}
	templates := append([]string{"none", "official-llama2"}, chat.Names()...)
	ckpt, tok := testmodel.Stories260KFiles(t)
	for _, m := range []struct {
		model, tok string
		positions  int
	}{
		{ckpt, tok, 512},
		{"synthetic:qwen2-tiny", testdata.Path(t, "qwen2/tokenizer.json"), 1024},
	} {
		args := []string{"--backend", "cpu", "--model", m.model, "--tokenizer", m.tok, "--data", rowsDir,
			"--tasks", "all", "--out", filepath.Join(t.TempDir(), "unused")}
		var stderr strings.Builder
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, argv: append([]string{"sdtp", "longbench", "run"}, args...)}
		cfg, closeEngine, err := lbRunConfig(e, args)
		if err != nil {
			t.Fatalf("%s: %v", m.model, err)
		}
		if len(cfg.Tasks) != len(tasks) || !strings.Contains(stderr.String(), "9 of 21 tasks have no data file") {
			t.Errorf("--tasks all over the %d shared rows: %d tasks, stderr %q", len(tasks), len(cfg.Tasks), stderr.String())
		}
		defer closeEngine()
		for _, name := range templates {
			tmpl, _, err := longbench.ResolveTemplate(name, m.tok, m.model)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "run")
			g := &fitCheck{inner: cfg.Generator, tok: cfg.Prompt.Tokenizer, positions: m.positions}
			c := cfg
			c.Prompt.Template, c.Out, c.Generator, c.Progress = tmpl, out, g, nil
			st, err := longbench.Run(context.Background(), c)
			if err != nil || st.Failed != 0 || st.Generated != len(tasks) || g.requests != len(tasks) {
				t.Errorf("%s, template %s: %+v, %d requests, %v", m.model, name, st, g.requests, err)
				for _, task := range tasks {
					pf, _ := longbench.ReadPredictionFile(filepath.Join(out, task+".jsonl"))
					for _, p := range pf.Rows {
						if p.Error != "" {
							t.Errorf("  %s: %s", task, p.Error)
						}
					}
				}
			}
			if len(g.over) > 0 {
				t.Errorf("%s, template %s: %s", m.model, name, strings.Join(g.over, "; "))
			}
		}
	}
}

// TestLongbenchTaskGroups: a group of tasks runs the tasks whose files are
// there; a folder with none of them is one error; a task named outright
// must have its file.
func TestLongbenchTaskGroups(t *testing.T) {
	for list, want := range map[string]bool{"all": true, "en,code": true, " zh ": true, "all,trec": false, "trec": false} {
		if groupsOnly(list) != want {
			t.Errorf("groupsOnly(%q) = %v", list, !want)
		}
	}
	model, tok := testmodel.Stories260KFiles(t)
	empty := t.TempDir()
	for _, tc := range []struct{ tasks, want string }{
		{"all", "no data file of the 21 tasks"},
		{"trec", "trec"},
	} {
		args := []string{"--backend", "cpu", "--model", model, "--tokenizer", tok, "--data", empty, "--tasks", tc.tasks, "--out", filepath.Join(t.TempDir(), "o")}
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, argv: args}
		cfg, closeEngine, err := lbRunConfig(e, args)
		if err == nil {
			_, err = longbench.Run(context.Background(), cfg)
			closeEngine()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--tasks %s over an empty folder: %v, want an error naming %q", tc.tasks, err, tc.want)
		}
	}
}
