package longbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeData writes n hand-made rows for each task into dir/data/.
func writeData(t testing.TB, dir string, n int, names ...string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var b strings.Builder
		for i := range n {
			r := Row{
				Input:    fmt.Sprintf("question %d of %s", i, name),
				Context:  fmt.Sprintf("context %d: the answer is gold%d.", i, i),
				Answers:  []string{fmt.Sprintf("gold%d", i)},
				Length:   1000 + 3000*i,
				Dataset:  name,
				Language: "en",
				ID:       fmt.Sprintf("%s-%02d", name, i),
			}
			if name == "trec" {
				r.AllClasses = []string{"gold0", "gold1", "gold2", "gold3", "gold4", "gold5"}
			}
			line, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, "data", name+".jsonl"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeGen answers with the gold answer named in the prompt ("gold<i>") for
// even rows when right is set, and records the requests it gets.
type fakeGen struct {
	mu       sync.Mutex
	reqs     []GenRequest
	right    bool
	delay    time.Duration
	after    int    // cancel after this many calls (0: never)
	cancel   func() // called after `after` calls
	keepFrac float64
}

func (g *fakeGen) Generate(ctx context.Context, req GenRequest) (GenResult, error) {
	g.mu.Lock()
	g.reqs = append(g.reqs, req)
	n := len(g.reqs)
	g.mu.Unlock()
	if g.delay > 0 {
		time.Sleep(g.delay)
	}
	if g.after > 0 && n == g.after {
		g.cancel()
	}
	text := "no idea\nsecond line"
	if i := strings.Index(req.Prompt, "the answer is gold"); i >= 0 && g.right {
		num := req.Prompt[i+len("the answer is gold"):][:1]
		text = "gold" + num
	}
	prompt := len(strings.Fields(req.Prompt))
	alive := prompt
	if g.keepFrac > 0 {
		alive = int(float64(prompt) * g.keepFrac)
	}
	return GenResult{Text: text, PromptTokens: prompt, AliveTokens: alive, Seconds: 0.01}, nil
}

func runCfg(data, out string, g Generator, tasks ...string) RunConfig {
	var ts []Task
	for _, name := range tasks {
		task, err := LookupTask(name)
		if err != nil {
			panic(err)
		}
		ts = append(ts, task)
	}
	return RunConfig{Data: data, Tasks: ts, Out: out, Generator: g, Prompt: PromptOptions{Template: OfficialLlama2Template()},
		Meta: RunMeta{Settings: map[string]string{"model": "fake"}}, Progress: &Progress{}}
}

// checkPredFile checks that path holds exactly the ids of rows 0..n-1 of
// task, once each, in data order, with complete lines.
func checkPredFile(t *testing.T, path, task string, n int) []Prediction {
	t.Helper()
	pf, err := ReadPredictionFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pf.Torn != 0 {
		t.Errorf("%s: torn last line of %d bytes", path, pf.Torn)
	}
	if len(pf.Rows) != n {
		t.Fatalf("%s: %d rows, want %d", path, len(pf.Rows), n)
	}
	for i, p := range pf.Rows {
		if want := fmt.Sprintf("%s-%02d", task, i); p.ID != want {
			t.Errorf("%s row %d: _id %s, want %s", path, i, p.ID, want)
		}
	}
	return pf.Rows
}

func TestRunWritesPredictions(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 4, "hotpotqa", "samsum", "lcc")
	out := filepath.Join(dir, "run")
	g := &fakeGen{right: true}
	st, err := Run(context.Background(), runCfg(dir, out, g, "hotpotqa", "samsum", "lcc"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Generated != 12 || st.Resumed != 0 {
		t.Errorf("stats %+v, want 12 generated", st)
	}
	for _, name := range []string{"hotpotqa", "samsum", "lcc"} {
		rows := checkPredFile(t, filepath.Join(out, name+".jsonl"), name, 4)
		if rows[1].Pred != "gold1" || rows[1].Answers[0] != "gold1" || rows[1].Length != 4000 || rows[1].PromptTokens == 0 {
			t.Errorf("%s row 1: %+v", name, rows[1])
		}
	}
	for _, r := range g.reqs {
		hot := strings.Contains(r.Prompt, "of hotpotqa")
		if hot != strings.HasPrefix(r.Prompt, "[INST]") {
			t.Errorf("chat template rule broken for prompt %.60q", r.Prompt)
		}
		sam := strings.Contains(r.Prompt, "of samsum")
		if r.StopAtNewline != sam {
			t.Errorf("StopAtNewline %v for %.40q", r.StopAtNewline, r.Prompt)
		}
		want := map[bool]int{true: 128, false: 0}[sam]
		if hot {
			want = 32
		}
		if want > 0 && r.MaxNewTokens != want {
			t.Errorf("MaxNewTokens %d, want %d", r.MaxNewTokens, want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "meta.json")); err != nil {
		t.Error(err)
	}
	// Running again does nothing.
	st, err = Run(context.Background(), runCfg(dir, out, &fakeGen{right: true}, "hotpotqa", "samsum", "lcc"))
	if err != nil || st.Generated != 0 || st.Resumed != 12 {
		t.Errorf("second run: %+v, %v", st, err)
	}
}

func TestRunResumesAfterCancelAndTornLine(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 6, "hotpotqa", "trec")
	out := filepath.Join(dir, "run")
	ctx, cancel := context.WithCancel(context.Background())
	g := &fakeGen{after: 8, cancel: cancel}
	if _, err := Run(ctx, runCfg(dir, out, g, "hotpotqa", "trec")); err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("cancelled run: error %v", err)
	}
	checkPredFile(t, filepath.Join(out, "hotpotqa.jsonl"), "hotpotqa", 6)
	// A kill in the middle of a write leaves half a line.
	f, err := os.OpenFile(filepath.Join(out, "trec.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"_id":"trec-05","pred":"hal`)
	f.Close()
	st, err := Run(context.Background(), runCfg(dir, out, &fakeGen{}, "hotpotqa", "trec"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Resumed != 8 || st.Generated != 4 {
		t.Errorf("resume stats %+v, want 8 resumed and 4 generated", st)
	}
	checkPredFile(t, filepath.Join(out, "trec.jsonl"), "trec", 6)
}

func TestRunRefusesOtherSettings(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 2, "lcc")
	out := filepath.Join(dir, "run")
	if _, err := Run(context.Background(), runCfg(dir, out, &fakeGen{}, "lcc")); err != nil {
		t.Fatal(err)
	}
	cfg := runCfg(dir, out, &fakeGen{}, "lcc")
	cfg.Meta.Settings["model"] = "other"
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "model") {
		t.Errorf("resume with another model: %v", err)
	}
}

// TestRunChecksBeforeTouchingTheFolder: a mistake found before the first
// row (an empty data file, a failing per-task length) leaves no folder, and
// a folder whose run failed before writing a row is not bound to its old
// settings.
func TestRunChecksBeforeTouchingTheFolder(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 0, "trec")
	out := filepath.Join(dir, "run")
	if _, err := Run(context.Background(), runCfg(dir, out, &fakeGen{}, "trec")); err == nil || !strings.Contains(err.Error(), "task trec: the data file has no rows") {
		t.Fatalf("empty data file: %v", err)
	}
	writeData(t, dir, 2, "lcc")
	cfg := runCfg(dir, out, &fakeGen{}, "lcc")
	cfg.Prompt = PromptOptions{Tokenizer: runeTok{}, MaxLength: 500, Positions: 512}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "task lcc: 500 prompt tokens and lcc's 64 new tokens exceed the model's 512 positions") {
		t.Fatalf("failing max length: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a run that failed its checks left %s (%v)", out, err)
	}

	// A run stopped during its first row leaves meta.json but no
	// prediction: the next run, with other settings, may use the folder.
	ctx, cancel := context.WithCancel(context.Background())
	failing := runCfg(dir, out, stopGen{cancel}, "lcc")
	failing.Meta.Settings["max_length"] = "100000"
	if _, err := Run(ctx, failing); err == nil {
		t.Fatal("the stopped run did not fail")
	}
	if _, err := Run(context.Background(), runCfg(dir, out, &fakeGen{}, "lcc")); err != nil {
		t.Fatalf("a folder with no predictions stayed bound to the failed run's settings: %v", err)
	}
	checkPredFile(t, filepath.Join(out, "lcc.jsonl"), "lcc", 2)
	// Now it holds predictions, so other settings are refused again.
	if _, err := Run(context.Background(), failing); err == nil || !strings.Contains(err.Error(), "max_length") {
		t.Fatalf("other settings on a folder with predictions: %v", err)
	}
}

// stopGen stops the run (as SIGINT does) during its first request.
type stopGen struct{ cancel func() }

func (g stopGen) Generate(ctx context.Context, _ GenRequest) (GenResult, error) {
	g.cancel()
	return GenResult{}, ctx.Err()
}

// failGen fails the requests whose number (from 1) is in bad and answers
// the others with "gold0".
type failGen struct {
	bad   map[int]bool
	calls int
}

func (g *failGen) Generate(_ context.Context, req GenRequest) (GenResult, error) {
	g.calls++
	if g.bad[g.calls] {
		return GenResult{}, fmt.Errorf("request %d is cursed", g.calls)
	}
	return GenResult{Text: "gold0", PromptTokens: 7, AliveTokens: 7}, nil
}

// TestRunRecordsFailedRows is issue 12's item 2: a failing row is written
// with its error and the run goes on; it scores 0 and counts as failed; a
// resumed run retries exactly the failed rows.
func TestRunRecordsFailedRows(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 4, "hotpotqa", "lcc")
	out := filepath.Join(dir, "run")
	// Requests 2 and 7: hotpotqa row 1 and lcc row 2.
	st, err := Run(context.Background(), runCfg(dir, out, &failGen{bad: map[int]bool{2: true, 7: true}}, "hotpotqa", "lcc"))
	if err != nil {
		t.Fatalf("a failing row stopped the run: %v", err)
	}
	if st.Generated != 6 || st.Failed != 2 {
		t.Errorf("stats %+v, want 6 generated and 2 failed", st)
	}
	rows := checkPredFile(t, filepath.Join(out, "hotpotqa.jsonl"), "hotpotqa", 4)
	if rows[1].Error != "request 2 is cursed" || rows[1].Pred != "" || rows[1].Answers[0] != "gold1" || rows[0].Error != "" {
		t.Errorf("failed row recorded as %+v (row 0: %+v)", rows[1], rows[0])
	}
	lcc := checkPredFile(t, filepath.Join(out, "lcc.jsonl"), "lcc", 4)
	lcc[2].Pred = lcc[2].Answers[0] // a failed row scores 0 whatever its pred says
	if s, err := RowScores(mustTask(t, "lcc"), lcc); err != nil || s[2] != 0 || s[1] == 0 {
		t.Errorf("lcc row scores %v, %v: want 0 for the failed row 2 only", s, err)
	}
	scores, err := ScoreDir(out, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scores {
		if s.Failed != 1 || s.Rows != 4 {
			t.Errorf("%s: %d of %d rows failed; want 1 of 4", s.Task.Name, s.Failed, s.Rows)
		}
		// hotpotqa: row 0 is right ("gold0"), the others wrong.
		if s.Task.Name == "hotpotqa" && s.Score != 25 {
			t.Errorf("hotpotqa score %v, want 25", s.Score)
		}
	}
	var md strings.Builder
	if err := WriteReport(&md, []RunScores{{Name: "run", Scores: scores}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "**run: 2 rows failed** and count as 0 above (hotpotqa 1, lcc 1)") {
		t.Errorf("report does not count the failed rows:\n%s", md.String())
	}

	// Resuming retries the two failed rows only, in place of their lines.
	g := &fakeGen{}
	st, err = Run(context.Background(), runCfg(dir, out, g, "hotpotqa", "lcc"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Generated != 2 || st.Resumed != 6 || st.Failed != 0 || len(g.reqs) != 2 {
		t.Errorf("resume: %+v, %d requests; want the 2 failed rows again", st, len(g.reqs))
	}
	for _, task := range []string{"hotpotqa", "lcc"} {
		pf, err := ReadPredictionFile(filepath.Join(out, task+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, p := range pf.Rows {
			if p.Error != "" || ids[p.ID] {
				t.Errorf("%s after the retry: %+v", task, p)
			}
			ids[p.ID] = true
		}
		if len(ids) != 4 {
			t.Errorf("%s after the retry: %d rows", task, len(ids))
		}
	}
}

// TestRunRefusesForeignRows is issue 12's item 4: a prediction whose _id is
// not in the task's data (a trec row in 2wikimqa.jsonl) is refused at
// resume, naming the file and line; rows beyond a smaller --limit are not
// foreign.
func TestRunRefusesForeignRows(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 3, "2wikimqa", "trec")
	out := filepath.Join(dir, "run")
	if _, err := Run(context.Background(), runCfg(dir, out, &fakeGen{}, "2wikimqa", "trec")); err != nil {
		t.Fatal(err)
	}
	cfg := runCfg(dir, out, &fakeGen{}, "2wikimqa")
	cfg.Limit = 2
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatalf("a smaller --limit: %v", err)
	}
	trec, err := os.ReadFile(filepath.Join(out, "trec.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, "2wikimqa.jsonl")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(trec[:bytes.IndexByte(trec, '\n')+1])
	f.Close()
	_, err = Run(context.Background(), runCfg(dir, out, &fakeGen{}, "2wikimqa"))
	if err == nil || !strings.Contains(err.Error(), path+" line 4: _id trec-00 is not a row of this task's data") {
		t.Errorf("foreign row: %v", err)
	}
}

// TestRunKilledAndResumed kills a real child process running the runner
// with SIGKILL part-way, then resumes in this process: every row is there
// exactly once.
func TestRunKilledAndResumed(t *testing.T) {
	if os.Getenv("LONGBENCH_KILL_CHILD") != "" {
		return // the child's copy of this test does nothing
	}
	dir := t.TempDir()
	writeData(t, dir, 40, "hotpotqa")
	out := filepath.Join(dir, "run")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$")
	cmd.Env = append(os.Environ(), "LONGBENCH_KILL_CHILD="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pred := filepath.Join(out, "hotpotqa.jsonl")
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(pred)
		if strings.Count(string(b), "\n") >= 5 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child wrote nothing in 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	before, err := ReadPredictionFile(pred)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Rows) >= 40 {
		t.Fatalf("child finished (%d rows) before the kill", len(before.Rows))
	}
	st, err := Run(context.Background(), runCfg(dir, out, &fakeGen{}, "hotpotqa"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Resumed != len(before.Rows) || st.Generated != 40-len(before.Rows) {
		t.Errorf("after kill at %d rows: %+v", len(before.Rows), st)
	}
	checkPredFile(t, pred, "hotpotqa", 40)
}

// TestKillChild is the child of TestRunKilledAndResumed: a slow run that
// the parent kills.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("LONGBENCH_KILL_CHILD")
	if dir == "" {
		t.Skip("only run as the child of TestRunKilledAndResumed")
	}
	Run(context.Background(), runCfg(dir, filepath.Join(dir, "run"), &fakeGen{delay: 20 * time.Millisecond}, "hotpotqa"))
}

// TestRunTruncatesPerTask: with the model's positions and no max length,
// each task's prompt is cut to fit its own new tokens and the template.
func TestRunTruncatesPerTask(t *testing.T) {
	dir := t.TempDir()
	writeData(t, dir, 1, "hotpotqa", "lcc")
	g := &fakeGen{}
	cfg := runCfg(dir, filepath.Join(dir, "run"), g, "hotpotqa", "lcc")
	cfg.Prompt.Tokenizer = runeTok{}
	cfg.Prompt.Positions = 100
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if len(g.reqs) != 2 {
		t.Fatalf("%d requests", len(g.reqs))
	}
	// hotpotqa: cut to 100 - 32 new tokens - 13 template runes = 55, whose
	// halves keep 2×27 runes, then the template.
	if n := len([]rune(g.reqs[0].Prompt)); n != 67 || g.reqs[0].MaxNewTokens != 32 || !strings.HasPrefix(g.reqs[0].Prompt, "[INST]") {
		t.Errorf("hotpotqa prompt has %d runes for %d new tokens, want 67 with the template", n, g.reqs[0].MaxNewTokens)
	}
	// lcc: 64 new tokens are capped at half the positions; no template.
	if n := len([]rune(g.reqs[1].Prompt)); n != 50 || g.reqs[1].MaxNewTokens != 50 {
		t.Errorf("lcc prompt has %d runes for %d new tokens, want 50 and 50", n, g.reqs[1].MaxNewTokens)
	}
}
