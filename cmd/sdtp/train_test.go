package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train"
)

// TestTrainWorkflow runs corpus → saliency → train → train eval on
// stories260K at toy sizes: each step's output is read by the next.
func TestTrainWorkflow(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	dir := t.TempDir()
	corpus := filepath.Join(dir, "c.jsonl")
	code, _, errOut := run(t, "train", "corpus", "--model", ckpt, "--tokenizer", tok, "--texts", "4", "--seed", "7", "--max-tokens", "90", "--workers", "2", "--out", corpus)
	if code != 0 {
		t.Fatalf("corpus: exit %d: %s", code, errOut)
	}
	common := []string{"--model", ckpt, "--tokenizer", tok, "--data", corpus, "--max-tokens", "80"}

	sal := filepath.Join(dir, "s.jsonl")
	if code, _, errOut := run(t, append([]string{"saliency", "--out", sal}, common...)...); code != 0 {
		t.Fatalf("saliency: exit %d: %s", code, errOut)
	}
	f, err := os.Open(sal)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	lines := 0
	for sc.Scan() {
		if lines == 0 {
			var h train.SaliencyHeader
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != train.SaliencyFormat || h.Layers != 5 {
				t.Fatalf("meta line %q: %v", sc.Text(), err)
			}
		}
		lines++
	}
	if lines < 2 {
		t.Fatalf("saliency file has %d lines", lines)
	}

	mod := filepath.Join(dir, "m.safetensors")
	args := append([]string{"train", "--out", mod, "--prune-layers", "1,3", "--keep-ratio", "0.7", "--epochs", "2", "--batch", "2", "--continuation", "8", "--min-tokens", "30", "--checkpoint-every", "1", "--resume"}, common...)
	code, out, errOut := run(t, args...)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "wrote "+mod) || !strings.Contains(errOut, "no checkpoint at "+mod+".ckpt yet; starting afresh") {
		t.Fatalf("train output %q, stderr %q", out, errOut)
	}
	first, err := os.ReadFile(mod)
	if err != nil {
		t.Fatal(err)
	}
	// Resuming the finished run says where it resumed and changes nothing.
	code, _, errOut = run(t, args...)
	at := regexp.MustCompile(`resuming from \S+\.ckpt at step (\d+) of (\d+)\n`).FindStringSubmatch(errOut)
	if again, _ := os.ReadFile(mod); code != 0 || at == nil || at[1] != at[2] || !bytes.Equal(again, first) {
		t.Fatalf("resuming a finished run: exit %d, stderr %q, module unchanged %v", code, errOut, bytes.Equal(again, first))
	}
	m, err := prune.Load(mod)
	if err != nil {
		t.Fatal(err)
	}
	rec, trained, err := train.ReadRecord(m)
	if err != nil || !trained || rec.Steps < 1 || len(m.Stages) != 2 || m.Width != 16 {
		t.Fatalf("module %s: %v", m.Training, err)
	}
	if _, err := os.Stat(mod + ".ckpt"); err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	logLines, _ := os.ReadFile(mod + ".log.jsonl")
	if n := strings.Count(string(logLines), "\n"); n < 2 {
		t.Fatalf("loss log has %d lines", n)
	}

	code, out, errOut = run(t, append([]string{"train", "eval", "--module", mod, "--continuation", "8", "--json"}, common...)...)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errOut)
	}
	var rep train.EvalFile
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(rep.Report.Scorers) != 4 || rep.Report.Scorers[0].Name != "m" || rep.Report.Scorers[3].Name != "saliency-oracle" || len(rep.Report.Scorers[0].Locations) != 2 {
		t.Fatalf("report %+v", rep.Report)
	}

	// The saliency pictures: with the oracle at a schedule, and with the
	// module at its own, for another text with a continuation.
	figs := filepath.Join(dir, "figs")
	for _, extra := range [][]string{{"--prune-layers", "3,4", "--keep-ratio", "0.6"}, {"--module", mod, "--model", ckpt, "--text", "1", "--continuation", "8"}} {
		code, out, errOut = run(t, append([]string{"plot", "--saliency", sal, "--out", figs, "--formats", "png"}, extra...)...)
		if code != 0 {
			t.Fatalf("plot --saliency %v: exit %d: %s", extra, code, errOut)
		}
		for _, want := range []string{"| 4 | ", "tokens holding 90% of |π̂|", "tokens alive after each stage: "} {
			if !strings.Contains(out, want) {
				t.Errorf("plot --saliency %v: output lacks %q:\n%s", extra, want, out)
			}
		}
		js, err := os.ReadFile(filepath.Join(figs, "saliency-summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		var sum train.SaliencySummary
		if err := json.Unmarshal(js, &sum); err != nil {
			t.Fatal(err)
		}
		if k := sum.Example.Kept; k == nil || len(k.Alive) != 2 || len(sum.TokenShare) != 5 {
			t.Errorf("plot --saliency %v: summary %+v", extra, k)
		}
		for _, f := range []string{"saliency-heatmap.png", "saliency-sparsity.png", "saliency-kept.png"} {
			if _, err := os.Stat(filepath.Join(figs, f)); err != nil {
				t.Error(err)
			}
		}
	}
	if !strings.Contains(out, "scores: module") || !strings.Contains(out, "locations 1,3 ratio 0.7") {
		t.Errorf("plot --saliency --module: %s", out)
	}
	if code, _, errOut := run(t, "plot", "--saliency", sal, "--out", figs, "--module", mod); code == 0 || !strings.Contains(errOut, "--module needs --model") {
		t.Errorf("plot --saliency --module without --model: exit %d, %s", code, errOut)
	}

	// A sweep of two schedules and one more loss variant, on the corpus as
	// training and held-out texts, then again: everything is resumed.
	sweep := filepath.Join(dir, "sweep")
	args = append([]string{"train", "sweep", "--heldout", corpus, "--schedules", "1,3:0.7 4:0.5", "--losses", "full,no-mse", "--epochs", "1", "--batch", "2", "--continuation", "8", "--min-tokens", "30", "--formats", "svg", "--out", sweep}, common...)
	for pass := range 2 {
		code, out, errOut = run(t, args...)
		if code != 0 {
			t.Fatalf("sweep pass %d: exit %d: %s", pass, code, errOut)
		}
		if want := fmt.Sprintf("3 points (%d done before)", 3*pass); !strings.Contains(errOut, want) {
			t.Errorf("sweep pass %d: stderr %q lacks %q", pass, errOut, want)
		}
		for _, p := range []string{"| 1,3/0.7/full |", "| 4/0.5/full |", "| 1,3/0.7/no-mse |", "ablation-quality-vs-flops.svg"} {
			if !strings.Contains(out, p) {
				t.Errorf("sweep pass %d: output lacks %q:\n%s", pass, p, out)
			}
		}
	}
	for _, f := range []string{"sweep.jsonl", "sweep.md", "ablation-quality-vs-flops.svg", "modules/4_0.5_full.safetensors"} {
		if _, err := os.Stat(filepath.Join(sweep, f)); err != nil {
			t.Errorf("sweep: %v", err)
		}
	}
	code, _, errOut = run(t, append(args, "--epochs", "2")...)
	if code == 0 || !strings.Contains(errOut, "other settings") {
		t.Errorf("sweep with other settings into the same folder: exit %d, %s", code, errOut)
	}
}

func TestTrainErrors(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"text\": \"Once upon a time\"}\n\n{\"text\": 3}\n"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--model", ckpt, "--data", bad}, "--out is required"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--prune-layers", "1"}, bad + ":3: field \"text\" is not a string"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--target", "x"}, "--target"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", dir}, "--out " + dir + " is a folder"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--checkpoint", dir}, "--checkpoint " + dir + " is a folder"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "no", "m")}, "its folder cannot be used"},
		{[]string{"train", "eval", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--module", "x", "--out", dir}, "--out " + dir + " is a folder"},
		{[]string{"saliency", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", dir}, "--out " + dir + " is a folder"},
		{[]string{"train", "corpus", "--model", ckpt, "--out", dir}, "--out " + dir + " is a folder"},
		{[]string{"train", "eval", "--model", ckpt, "--tokenizer", tok, "--data", bad}, "--module is required"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--batch", "0"}, "--batch must be at least 1"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--lr", "-1"}, "--lr must be positive"},
		{[]string{"train", "corpus", "--model", ckpt, "--out", filepath.Join(dir, "c"), "--top-p", "2"}, "--top-p"},
		{[]string{"train", "corpus", "--model", ckpt, "--out", filepath.Join(dir, "c"), "--temperature", "inf"}, "--temperature +Inf must be finite"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--clip", "inf"}, "--clip must be finite"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--lr", "+Inf"}, "--lr must be positive and finite"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--max-tokens", "40"}, "--max-tokens 40 is too short: --continuation 32"},
		{[]string{"train", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "m"), "--min-tokens", "20"}, "--min-tokens 20 is too small: --continuation 32"},
		{[]string{"saliency", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "s"), "--continuation", "600"}, "--max-tokens 512 is too short: --continuation 600"},
		{[]string{"saliency", "--model", ckpt, "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "s")}, bad + ":3:"},
		{[]string{"saliency", "--model", "synthetic:tiny", "--tokenizer", tok, "--data", bad, "--out", filepath.Join(dir, "s")}, "trained weights"},
		{[]string{"plot", "--saliency", bad, "--bench", bad, "--out", dir}, "give one or the other"},
		{[]string{"plot", "--saliency", bad, "--out", dir}, "--saliency: " + bad + ":1: not a saliency file"},
		{[]string{"train", "sweep", "--model", ckpt, "--data", bad, "--heldout", bad, "--schedules", "3:0.5"}, "--out is required"},
		{[]string{"train", "sweep", "--model", ckpt, "--data", bad, "--heldout", bad, "--out", dir}, "--schedules is required"},
		{[]string{"train", "sweep", "--model", ckpt, "--data", bad, "--out", dir, "--schedules", "3:0.5"}, "--heldout is required"},
		{[]string{"train", "sweep", "--model", ckpt, "--data", bad, "--heldout", bad, "--out", dir, "--schedules", "3:0.5", "--losses", "full,none"}, "--losses: loss variant \"none\""},
		{[]string{"train", "sweep", "--model", ckpt, "--data", bad, "--heldout", bad, "--out", dir, "--schedules", "3:0.5", "--teacher"}, "--teacher is not available"},
		{[]string{"train", "sweep", "--model", ckpt, "--data", bad, "--heldout", bad, "--out", dir, "--schedules", "3:0.5", "--formats", "pdf"}, "--formats: unknown format"},
	}
	for _, tc := range tests {
		code, _, errOut := run(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	for _, p := range []string{"m", "s", "c"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("a failed command left %s behind", p)
		}
	}
}

// TestTrainCorpusLeavesOutEmptySamples samples very short, very hot texts,
// some of which end at once: the file holds only non-empty texts (the data
// readers refuse empty ones) and the command says how many it left out.
func TestTrainCorpusLeavesOutEmptySamples(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	out := filepath.Join(t.TempDir(), "hot.jsonl")
	code, stdout, errOut := run(t, "train", "corpus", "--model", ckpt, "--tokenizer", tok, "--texts", "2000", "--max-tokens", "1", "--temperature", "100", "--workers", "2", "--out", out)
	if code != 0 || !strings.Contains(stdout, "empty samples left out") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var row struct{ Text string }
		if err := json.Unmarshal([]byte(line), &row); err != nil || strings.TrimSpace(row.Text) == "" {
			t.Fatalf("line %d: %q (%v)", i+1, line, err)
		}
	}
}

// TestApplyRecipe: a recipe fills the flags the command line left unset,
// never overrides a given one, keeps an explicitly given schedule whole,
// and an unknown recipe is an error naming the choices.
func TestApplyRecipe(t *testing.T) {
	newFS := func(args ...string) *flag.FlagSet {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		for _, n := range []string{"max-tokens", "prune-layers", "keep-ratio", "epochs", "data-format", "prune"} {
			fs.String(n, "", "")
		}
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	get := func(fs *flag.FlagSet, n string) string { return fs.Lookup(n).Value.String() }
	fs := newFS("--epochs", "1")
	if err := applyRecipe(fs, "stories260K"); err != nil {
		t.Fatal(err)
	}
	if get(fs, "epochs") != "1" || get(fs, "max-tokens") != "256" || get(fs, "prune-layers") != "3,4" || get(fs, "keep-ratio") != "0.6" {
		t.Errorf("stories260K with --epochs 1: epochs %s max-tokens %s layers %s ratio %s", get(fs, "epochs"), get(fs, "max-tokens"), get(fs, "prune-layers"), get(fs, "keep-ratio"))
	}
	fs = newFS("--prune", "keep0.8")
	if err := applyRecipe(fs, "stories260K"); err != nil {
		t.Fatal(err)
	}
	if get(fs, "prune-layers") != "" || get(fs, "keep-ratio") != "" || get(fs, "prune") != "keep0.8" {
		t.Errorf("an explicit --prune was mixed with the recipe's schedule: %s %s %s", get(fs, "prune"), get(fs, "prune-layers"), get(fs, "keep-ratio"))
	}
	fs = newFS()
	if err := applyRecipe(fs, "paper"); err != nil || get(fs, "data-format") != "dolly" || get(fs, "prune") != "paper" || get(fs, "epochs") != "2" {
		t.Errorf("paper: err %v, format %s prune %s epochs %s", err, get(fs, "data-format"), get(fs, "prune"), get(fs, "epochs"))
	}
	if err := applyRecipe(newFS(), "nosuch"); err == nil || !strings.Contains(err.Error(), "stories260K, paper") {
		t.Errorf("unknown recipe: %v", err)
	}
}
