package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/internal/testmodel"
)

func TestBenchReportPlot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := run(t, "bench", "--backend", "cpu", "--model", "synthetic:tiny", "--lengths", "32,64,5K",
		"--configs", "baseline,paper", "--new-tokens", "2", "--warmup", "0", "--repeats", "1", "--max-repeats", "2", "--noise-limit", "0.05", "--out", dir)
	if code != 0 {
		t.Fatalf("bench exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "| 64 | paper |") || !strings.Contains(out, "Results in "+dir) || !strings.Contains(out, "5120 tokens, paper: prompt of 5120 tokens") {
		t.Errorf("bench output lacks the table, the failed row or the folder:\n%s", out)
	}
	for _, f := range []string{"bench.json", "report.md", "latency.png", "latency.svg", "speedup-heatmap.png", "kv-cache.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	res, err := bench.Load(filepath.Join(dir, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Meta.Model.Name != "synthetic:tiny" || len(res.Rows) != 6 || res.Meta.Command[1] != "bench" {
		t.Errorf("bench.json: model %q, %d rows, command %v", res.Meta.Model.Name, len(res.Rows), res.Meta.Command)
	}
	// One planned run gives no range to judge, so a second one runs.
	if o := res.Meta.Options; o.MaxRepeats != 2 || o.NoiseLimit != 0.05 {
		t.Errorf("bench.json options %+v, want max_repeats 2, noise_limit 0.05", o)
	}
	if lo, hi := res.TimedRuns(); lo != 2 || hi != 2 {
		t.Errorf("rows got %d to %d timed runs, want 2", lo, hi)
	}

	code, out, errOut = run(t, "report", "--bench", filepath.Join(dir, "bench.json"))
	if code != 0 || !strings.Contains(out, "# SDTP latency benchmark: synthetic:tiny on cpu") || !strings.Contains(out, "Mistral-7B") {
		t.Errorf("report exit %d: %s\n%s", code, errOut, out)
	}
	md := filepath.Join(dir, "again.md")
	if code, _, errOut = run(t, "report", "--bench", filepath.Join(dir, "bench.json"), "--out", md); code != 0 {
		t.Errorf("report --out exit %d: %s", code, errOut)
	}
	if a, _ := os.ReadFile(md); !strings.HasPrefix(string(a), "# SDTP latency benchmark") {
		t.Errorf("report --out wrote %q", a)
	}

	figs := filepath.Join(dir, "figs")
	code, out, errOut = run(t, "plot", "--bench", filepath.Join(dir, "bench.json"), "--out", figs, "--formats", "svg")
	if code != 0 || strings.Count(out, ".svg\n") != 5 || strings.Contains(out, ".png") {
		t.Errorf("plot exit %d: %s\n%s", code, errOut, out)
	}

	// LongBench predictions of two configurations add the quality tables and figure.
	lb := map[string]string{}
	for _, c := range []string{"baseline", "paper"} {
		lb[c] = filepath.Join(dir, "lb-"+c)
		if err := os.MkdirAll(lb[c], 0o755); err != nil {
			t.Fatal(err)
		}
		line := `{"pred": "Paris", "answers": ["Paris"], "all_classes": null, "length": 900}` + "\n"
		if c == "paper" {
			line += `{"pred": "Lyon", "answers": ["Rome"], "all_classes": null, "length": 900}` + "\n"
		} else {
			line += `{"pred": "Rome", "answers": ["Rome"], "all_classes": null, "length": 900}` + "\n"
		}
		if err := os.WriteFile(filepath.Join(lb[c], "hotpotqa.jsonl"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lbArgs := []string{"--longbench", "baseline=" + lb["baseline"], "--longbench", "paper=" + lb["paper"]}
	code, out, errOut = run(t, append([]string{"report", "--bench", filepath.Join(dir, "bench.json")}, lbArgs...)...)
	if code != 0 || !strings.Contains(out, "## Quality versus speed (LongBench)") || !strings.Contains(out, "| paper | 50.00 | -50.00 |") {
		t.Errorf("report --longbench exit %d: %s\n%s", code, errOut, out)
	}
	if strings.Contains(errOut, "warning") || strings.Contains(out, "Different models") {
		t.Errorf("report warns of folders without meta.json: %s", errOut)
	}
	code, out, errOut = run(t, append([]string{"plot", "--bench", filepath.Join(dir, "bench.json"), "--out", figs, "--formats", "png"}, lbArgs...)...)
	if code != 0 || !strings.Contains(out, "quality-vs-speed.png") {
		t.Errorf("plot --longbench exit %d: %s\n%s", code, errOut, out)
	}
	// Issue 12's item 15: a LongBench run of another model is named, with
	// both models, by report (stderr and the markdown) and plot.
	for c, m := range map[string]string{"baseline": "synthetic:tiny", "paper": "stories260K"} {
		meta := `{"settings": {"model": "x"}, "info": {"model_name": "` + m + `"}}`
		if err := os.WriteFile(filepath.Join(lb[c], "meta.json"), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := "warning: LongBench run paper (" + lb["paper"] + ") is of model stories260K, but the benchmark measured synthetic:tiny\n"
	code, out, errOut = run(t, append([]string{"report", "--bench", filepath.Join(dir, "bench.json")}, lbArgs...)...)
	if code != 0 || errOut != want || !strings.Contains(out, "**Different models:** LongBench run paper") {
		t.Errorf("report of another model's LongBench run: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, append([]string{"plot", "--bench", filepath.Join(dir, "bench.json"), "--out", figs, "--formats", "png"}, lbArgs...)...)
	if code != 0 || errOut != want {
		t.Errorf("plot of another model's LongBench run: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "report", "--bench", filepath.Join(dir, "bench.json"), "--longbench", filepath.Join(dir, "nothing"))
	if code == 0 || !strings.Contains(errOut, "--longbench") {
		t.Errorf("missing LongBench folder: exit %d, %s", code, errOut)
	}
}

// TestPruneInitShow makes modules with a preset and with explicit
// locations and reads their headers back.
func TestPruneInitShow(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args     []string
		schedule string
	}{
		{[]string{"--prune", "paper"}, "schedule: locations 4,7 ratio 0.9\n"},
		{nil, "schedule: locations 4,7 ratio 0.9\n"},
		{[]string{"--prune-layers", "1,2", "--keep-ratio", "0.5"}, "schedule: locations 1,2 ratio 0.5\n"},
		{[]string{"--prune-layers", "3"}, "schedule: locations 3 ratio 0.9\n"},
	} {
		path := filepath.Join(dir, "m.safetensors")
		if code, _, errOut := run(t, append([]string{"prune", "init", "--model", "synthetic:tiny", "--out", path}, tc.args...)...); code != 0 {
			t.Fatalf("prune init %v: exit %d: %s", tc.args, code, errOut)
		}
		code, out, errOut := run(t, "prune", "show", path)
		if code != 0 || !strings.Contains(out, tc.schedule) || !strings.Contains(out, `training: {"kind":"random","seed":1}`) {
			t.Errorf("prune show after init %v: exit %d, out %q, err %q; want %q", tc.args, code, out, errOut, tc.schedule)
		}
	}
	if code, out, _ := run(t, "prune", "show", "--help"); code != 0 || !strings.Contains(out, "Usage: sdtp prune show FILE") {
		t.Errorf("prune show --help: exit %d, %q", code, out)
	}
}

// TestWrongFileKinds: a file of another kind is named as such, not quoted
// as header numbers read from the wrong place.
func TestWrongFileKinds(t *testing.T) {
	readme := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(readme, []byte("# sdtp\n\nsdtp makes long-context LLM inference cheaper with Saliency-driven Dynamic Token Pruning.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(t.TempDir(), "m.safetensors")
	if code, _, errOut := run(t, "prune", "init", "--model", "synthetic:tiny", "--out", mod); code != 0 {
		t.Fatalf("prune init: %s", errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"prune", "show", readme}, readme + ": not a safetensors file (it holds text)"},
		{[]string{"generate", "--backend", "cpu", "--model", readme}, readme + ": not a llama2.c checkpoint (it holds text)"},
		{[]string{"prune", "init", "--model", readme, "--out", filepath.Join(t.TempDir(), "x.safetensors")}, readme + ": not a llama2.c checkpoint (it holds text)"},
		{[]string{"generate", "--backend", "cpu", "--model", mod}, mod + ": not a llama2.c checkpoint (it is a safetensors file); a Hugging Face model is opened from its folder"},
		{[]string{"generate", "--backend", "cpu", "--model", "synthetic:tiny", "--prune-module", readme, "--prune", "paper"}, readme + ": not a safetensors file (it holds text)"},
	} {
		code, _, errOut := run(t, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("sdtp %s: exit %d, stderr %q; want one line saying %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
}

func TestBenchReportPlotErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--backend", "cpu", "--model", "synthetic:tiny", "--lengths", "12,abc"}, "--lengths"},
		{[]string{"bench", "--backend", "cpu", "--model", "synthetic:tiny", "--lengths", "16", "--configs", "baseline,fast"}, "--configs"},
		{[]string{"bench", "--backend", "cpu", "--model", "synthetic:tiny", "--repeats", "0"}, "--repeats"},
		{[]string{"bench", "--backend", "cpu", "--model", "synthetic:tiny", "--max-repeats", "-1"}, "--max-repeats -1: must not be negative"},
		{[]string{"bench", "--backend", "cpu", "--model", "synthetic:tiny", "--noise-limit", "0"}, "--noise-limit 0: must be positive"},
		{[]string{"bench", "--backend", "tpu"}, "--backend"},
		{[]string{"bench", "--backend", "cpu", "--model", "synthetic:nope"}, "--model"},
		{[]string{"bench", "--backend", "cpu", "--model", "synthetic:tiny", "--module-width", "4611686018427387904"}, "--module-width: module width 4611686018427387904 must be from 1 to"},
		{[]string{"prune", "init", "--model", "synthetic:tiny", "--prune-layers", "1", "--keep-ratio", "0.5", "--width", "100000000", "--out", "x"}, "--width: module width 100000000 must be from 1 to"},
		{[]string{"report"}, "--bench is required"},
		{[]string{"report", "--bench", missing}, "--bench"},
		{[]string{"plot", "--bench", missing, "--out", "x"}, "--bench"},
		{[]string{"plot", "--bench", missing}, "--out is required"},
		{[]string{"plot", "--bench", missing, "--out", "x", "--formats", "gif"}, "--formats"},
	} {
		code, _, errOut := run(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want a one-line error naming %s", tc.args, code, errOut, tc.want)
		}
	}
	// A run whose every row fails writes its outputs (with the failures)
	// and exits non-zero.
	out := t.TempDir()
	code, _, errOut := run(t, "bench", "--backend", "cpu", "--model", testmodel.Stories260KPath(t), "--lengths", "1K", "--configs", "baseline", "--no-plots", "--out", out)
	if code == 0 || !strings.Contains(errOut, "every one of the 1 rows failed (first: prompt of 1024 tokens + 32 new tokens exceeds the model's 512 positions)") {
		t.Errorf("all rows failing: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(out, "bench.json")); err != nil {
		t.Errorf("no bench.json after a run whose rows all failed: %v", err)
	}
}

// TestBenchDevices: --devices deals the configurations over backends of
// their own (here two CPU backends standing in for GPUs) and records
// where each row ran.
func TestBenchDevices(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, _, errOut := run(t, "bench", "--backend", "cpu", "--devices", "0,1", "--model", "synthetic:tiny", "--lengths", "32",
		"--configs", "baseline,paper", "--new-tokens", "2", "--warmup", "0", "--repeats", "2", "--no-plots", "--out", dir)
	if code != 0 {
		t.Fatalf("bench exit %d: %s", code, errOut)
	}
	res, err := bench.Load(filepath.Join(dir, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].Device != "cpu:0" || res.Rows[1].Device != "cpu:1" || res.Rows[1].Speedup == nil || len(res.Meta.Devices) != 2 {
		t.Errorf("rows %+v, devices %v", res.Rows, res.Meta.Devices)
	}
	for _, args := range [][]string{{"--devices", "0,0"}, {"--devices", "x"}, {"--devices", "0,1", "--device", "1"}} {
		code, _, errOut := run(t, append([]string{"bench", "--backend", "cpu", "--model", "synthetic:tiny", "--out", t.TempDir()}, args...)...)
		if code == 0 || !strings.Contains(errOut, "--device") {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
}

// TestBenchThroughput: both workloads run at batch 1 and 3 and print the
// table; the JSON holds a row per (configuration, batch size).
func TestBenchThroughput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "tp.json")
	code, stdout, errOut := run(t, "bench", "throughput", "--backend", "cpu", "--model", "synthetic:tiny", "--batch", "3", "--requests", "4",
		"--prompt", "40", "--new-tokens", "5", "--configs", "baseline,paper", "--kv-budget", "16MiB", "--out", out)
	if code != 0 || !strings.Contains(stdout, "| paper | 3 | 4 |") || !strings.Contains(stdout, "KV budget 16 MiB") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, stdout)
	}
	var res bench.ThroughputResult
	if data, err := os.ReadFile(out); err != nil || json.Unmarshal(data, &res) != nil || len(res.Rows) != 4 || res.Meta.KVBudget != 16<<20 {
		t.Errorf("%s: %v, %+v", out, err, res)
	}
	preds := filepath.Join(dir, "preds")
	if err := os.MkdirAll(preds, 0o755); err != nil {
		t.Fatal(err)
	}
	rows := `{"pred":"a b","answers":[],"all_classes":null,"length":30}` + "\n" + `{"pred":"a b c d","answers":[],"all_classes":null,"length":90}` + "\n"
	if err := os.WriteFile(filepath.Join(preds, "hotpotqa.jsonl"), []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errOut = run(t, "bench", "throughput", "--backend", "cpu", "--model", "synthetic:tiny", "--batch", "2", "--workload", "longbench", "--lengths-from", preds)
	if code != 0 || !strings.Contains(stdout, "LongBench-shaped: 2 of the 2 rows") || !strings.Contains(stdout, "| baseline | 2 | 2 |") {
		t.Errorf("longbench workload: exit %d: %s\n%s", code, errOut, stdout)
	}
	for _, args := range [][]string{{"--batch", "0"}, {"--workload", "other"}, {"--workload", "longbench"}, {"--requests", "0"}} {
		if code, _, _ := run(t, append([]string{"bench", "throughput", "--backend", "cpu", "--model", "synthetic:tiny"}, args...)...); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
