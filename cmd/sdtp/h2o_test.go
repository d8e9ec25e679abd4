package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testmodel"
)

// TestH2OFlagErrors: the H2O flags' bad values name the flag, in every
// command that has them.
func TestH2OFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range [][]string{
		{"generate", "--prompt-ids", "1,2,3"},
		{"serve", "--model", "synthetic:tiny"},
		{"longbench", "run", "--model", "synthetic:tiny", "--out", dir},
		{"ruler", "run", "--model", "synthetic:tiny", "--out", dir},
	} {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--h2o-budget", "1.5"}, "--h2o-budget: budget fraction 1.5"},
			{[]string{"--h2o-budget", "lots"}, "--h2o-budget: budget:"},
			{[]string{"--h2o-budget", "0.4", "--h2o-recent", "-1"}, "--h2o-recent: recent window of -1 tokens"},
			{[]string{"--h2o-recent", "0.5"}, "--h2o-recent needs --h2o-budget"},
		} {
			args := append(append([]string(nil), cmd...), tc.args...)
			code, _, errOut := run(t, args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("%v: exit %d, %q; want an error with %q", args, code, errOut, tc.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "meta.json")); err == nil {
		t.Error("a refused run wrote meta.json")
	}
}

// TestGenerateH2O: generate --h2o-budget keeps each layer at its budget
// after the prefill, and --json accounts for the evictions.
func TestGenerateH2O(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	prompt := strings.Repeat("Once upon a time there was a little girl. ", 6)
	code, out, errOut := run(t, "generate", "--backend", "cpu", "--model", ckpt, "--tokenizer", tok, "--prompt", prompt,
		"--max-tokens", "10", "--ignore-eos", "--h2o-budget", "40%", "--h2o-recent", "8", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res generate.Summary
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	keep := int(math.Round(0.4 * float64(res.PromptTokens)))
	if res.H2O == nil || res.H2O.Budget != "0.4 recent 8" || len(res.H2O.Keep) != 5 {
		t.Fatalf("h2o account %+v", res.H2O)
	}
	for l, n := range res.KVTokens {
		if n != keep || res.H2O.Keep[l] != keep {
			t.Errorf("layer %d: %d tokens after the prefill, budget %d; want %d", l, n, res.H2O.Keep[l], keep)
		}
	}
	if want := 5 * (res.PromptTokens + len(res.TokenIDs) - 1 - keep); res.H2O.Evicted != want {
		t.Errorf("%d tokens evicted, want %d", res.H2O.Evicted, want)
	}
}

// TestEvalRunsRecordH2O: longbench run and ruler run with --h2o-budget
// record the budget in meta.json, and a folder run with one budget refuses
// to resume with another.
func TestEvalRunsRecordH2O(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	dir := t.TempDir()
	writeLongbenchRows(t, dir, 1, "hotpotqa")
	model := []string{"--backend", "cpu", "--threads", "1", "--model", ckpt, "--tokenizer", tok}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"longbench", []string{"longbench", "run", "--data", dir, "--tasks", "hotpotqa"}},
		{"ruler", []string{"ruler", "run", "--tasks", "niah_single_1", "--lengths", "512", "--samples", "1"}},
	} {
		out := filepath.Join(dir, tc.name)
		args := append(append(append([]string(nil), tc.args...), model...), "--out", out)
		if code, _, errOut := run(t, append(args, "--h2o-budget", "0.4", "--batch", "2")...); code != 0 {
			t.Fatalf("%s run: %s", tc.name, errOut)
		}
		meta, err := evalrun.ReadRunMeta(out)
		if err != nil {
			t.Fatal(err)
		}
		if got := meta.Settings["h2o"]; got != "0.4 recent 0.5" {
			t.Errorf("%s: settings record h2o %q", tc.name, got)
		}
		code, _, errOut := run(t, append(args, "--h2o-budget", "0.5")...)
		if code == 0 || !strings.Contains(errOut, `h2o: "0.4 recent 0.5" before, "0.5 recent 0.5" now`) {
			t.Errorf("%s: resumed with another budget: exit %d, %s", tc.name, code, errOut)
		}
	}
}
