package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/longbench"
	"github.com/sdtp/sdtp/ruler"
)

// TestLongbenchShardedBatchedRun: a run split in two shards, one with
// three rows in flight decoding together, the other over two engines
// (--devices, two CPU backends standing in for GPUs), merges into a run
// folder whose predictions equal, row for row, those of the plain run
// (batched decoding is bit-identical on the CPU); merge refuses an
// incomplete set of shards and a shard of other settings.
func TestLongbenchShardedBatchedRun(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	dir := t.TempDir()
	tasks := []string{"hotpotqa", "trec", "samsum", "lcc"}
	const rows = 8
	writeLongbenchRows(t, dir, rows, tasks...)
	common := []string{"longbench", "run", "--backend", "cpu", "--model", ckpt, "--tokenizer", tok, "--data", dir, "--tasks", strings.Join(tasks, ","), "--max-length", "300"}
	runOK := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(append([]string(nil), common...), args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	plain, s0, s1 := filepath.Join(dir, "plain"), filepath.Join(dir, "s0"), filepath.Join(dir, "s1")
	runOK("--out", plain)
	runOK("--out", s0, "--shard", "0/2", "--batch", "3")
	runOK("--out", s1, "--shard", "1/2", "--devices", "0,1", "--batch", "2")
	m, err := evalrun.ReadRunMeta(s1)
	if err != nil || m.Settings["shard"] != "1/2" || m.Settings["limit"] != "0" || m.Info["devices"] != "0,1" || m.Info["rows_in_flight"] != "4" {
		t.Errorf("shard 1 meta: %+v %+v, %v", m.Settings, m.Info, err)
	}

	merged := filepath.Join(dir, "merged")
	code, out, errOut := run(t, "longbench", "merge", "--data", dir, "--out", merged, s1, s0)
	if code != 0 || !strings.Contains(out, "32 rows of 4 tasks from 2 shards") {
		t.Fatalf("merge: exit %d: %s%s", code, out, errOut)
	}
	for _, task := range tasks {
		want, err := longbench.ReadPredictionFile(filepath.Join(plain, task+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := longbench.ReadPredictionFile(filepath.Join(merged, task+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rows) != rows {
			t.Fatalf("%s: %d merged rows, want %d", task, len(got.Rows), rows)
		}
		for i, w := range want.Rows {
			g := got.Rows[i]
			if g.ID != w.ID || g.Pred != w.Pred || g.PromptTokens != w.PromptTokens || g.Error != "" {
				t.Errorf("%s row %d: merged %s %q (%d tokens), plain %s %q (%d tokens)", task, i, g.ID, g.Pred, g.PromptTokens, w.ID, w.Pred, w.PromptTokens)
			}
		}
	}
	if m, err := evalrun.ReadRunMeta(merged); err != nil || m.Settings["shard"] != "" || m.Settings["model"] != ckpt {
		t.Errorf("merged meta: %+v, %v", m.Settings, err)
	}
	if code, _, errOut := run(t, "longbench", "score", "--preds", merged); code != 0 {
		t.Errorf("score of the merged run: %s", errOut)
	}

	other := filepath.Join(dir, "other")
	runOK("--out", other, "--shard", "1/2", "--max-length", "200")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{s0}, "shards 1/2 are missing"},
		{[]string{s0, other}, "max_length"},
		{[]string{s0, s1, plain}, "not a shard"},
		{[]string{}, "name the shard folders"},
	} {
		code, _, errOut := run(t, append([]string{"longbench", "merge", "--data", dir, "--out", filepath.Join(dir, "bad")}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("merge %v: exit %d, %s", tc.args, code, errOut)
		}
	}
	if code, _, errOut := run(t, "longbench", "merge", "--data", dir, "--out", merged, s0, s1); code == 0 || !strings.Contains(errOut, "exists") {
		t.Errorf("merge into an existing folder: exit %d, %s", code, errOut)
	}
	if code, _, errOut := run(t, append(common, "--out", s0, "--shard", "1/2")...); code == 0 || !strings.Contains(errOut, "shard") {
		t.Errorf("another shard in shard 0's folder: exit %d, %s", code, errOut)
	}
	for _, bad := range []string{"2/2", "x"} {
		if code, _, errOut := run(t, append(common, "--out", filepath.Join(dir, "x"), "--shard", bad)...); code == 0 || !strings.Contains(errOut, "--shard") {
			t.Errorf("--shard %s: exit %d, %s", bad, code, errOut)
		}
	}
}

// TestRulerShardedBatchedRun: RULER runs through the same runner: two
// shards, batched, merge into exactly the plain run's samples and
// predictions; a merge expecting a sample no shard ran is refused.
func TestRulerShardedBatchedRun(t *testing.T) {
	ckpt, tok := testmodel.Stories260KFiles(t)
	dir := t.TempDir()
	tasks := []string{"niah_single_1", "fwe"}
	common := []string{"ruler", "run", "--backend", "cpu", "--model", ckpt, "--tokenizer", tok, "--tasks", strings.Join(tasks, ","), "--lengths", "512", "--samples", "5"}
	outs := []string{filepath.Join(dir, "plain"), filepath.Join(dir, "s0"), filepath.Join(dir, "s1")}
	for i, extra := range [][]string{nil, {"--shard", "0/2", "--batch", "4"}, {"--shard", "1/2", "--batch", "4"}} {
		if code, _, errOut := run(t, append(append(append([]string(nil), common...), "--out", outs[i]), extra...)...); code != 0 {
			t.Fatalf("%v: %s", extra, errOut)
		}
	}
	merged := filepath.Join(dir, "merged")
	code, out, errOut := run(t, "ruler", "merge", "--out", merged, "--tasks", strings.Join(tasks, ","), "--lengths", "512", "--samples", "5", outs[1], outs[2])
	if code != 0 || !strings.Contains(out, "10 samples of 2 tasks from 2 shards") {
		t.Fatalf("merge: exit %d: %s%s", code, out, errOut)
	}
	for _, task := range tasks {
		want, err := ruler.ReadPredictionFile(filepath.Join(outs[0], task+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ruler.ReadPredictionFile(filepath.Join(merged, task+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rows) != len(want.Rows) {
			t.Fatalf("%s: %d merged samples, %d in the plain run", task, len(got.Rows), len(want.Rows))
		}
		for i, p := range want.Rows {
			if g := got.Rows[i]; g.ID != p.ID || g.Pred != p.Pred {
				t.Errorf("%s sample %d: merged %s %q, plain %s %q", task, i, g.ID, g.Pred, p.ID, p.Pred)
			}
		}
	}
	if code, _, errOut := run(t, "ruler", "merge", "--out", filepath.Join(dir, "bad"), "--tasks", strings.Join(tasks, ","), "--lengths", "512", "--samples", "6", outs[1], outs[2]); code == 0 || !strings.Contains(errOut, "rows are missing") {
		t.Errorf("merge with a sample no shard ran: exit %d, %s", code, errOut)
	}
}
