package shard

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		bad  bool
	}{
		{"", Spec{}, false},
		{"0/1", Spec{0, 1}, false},
		{" 3/4 ", Spec{3, 4}, false},
		{"4/4", Spec{}, true},
		{"-1/4", Spec{}, true},
		{"1/0", Spec{}, true},
		{"1", Spec{}, true},
		{"a/b", Spec{}, true},
		{"1/2/3", Spec{}, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
		if err == nil && got.String() != strings.TrimSpace(tc.in) {
			t.Errorf("Parse(%q).String() = %q", tc.in, got.String())
		}
	}
}

// TestSplitTakesEveryRowOnce: for every shard count, each row is in
// exactly one shard (the one Of names), and 24-hex-digit ids (LongBench's
// _id) spread evenly: each shard within 10% of the mean over 20,000 ids.
func TestSplitTakesEveryRowOnce(t *testing.T) {
	const rows = 20000
	for n := 1; n <= 9; n++ {
		sizes := make([]int, n)
		for i := range rows {
			id := fmt.Sprintf("%024x", uint64(i)*0x9E3779B97F4A7C15)
			holders := 0
			for k := range n {
				if (Spec{k, n}).Has(id) {
					holders++
					sizes[k]++
					if Of(id, n) != k {
						t.Fatalf("%s: held by shard %d, Of says %d", id, k, Of(id, n))
					}
				}
			}
			if holders != 1 {
				t.Fatalf("%d shards: row %s is in %d shards", n, id, holders)
			}
		}
		for k, s := range sizes {
			if mean := float64(rows) / float64(n); float64(s) < 0.9*mean || float64(s) > 1.1*mean {
				t.Errorf("%d shards: shard %d has %d rows, mean %.0f", n, k, s, mean)
			}
		}
	}
	if !(Spec{}).Has("x") {
		t.Error("the zero Spec must hold every row")
	}
}

// fixture writes the shard folders of one run of tasks a (7 rows) and b
// (3 rows) split in n, each row a line {"id": ...}; settings apply to
// every shard (after which each may be changed).
type fixture struct {
	t     *testing.T
	root  string
	dirs  []string
	tasks []Task
}

func newFixture(t *testing.T, n int) *fixture {
	f := &fixture{t: t, root: t.TempDir()}
	parse := func(line []byte) (string, error) {
		var r struct{ ID string }
		err := json.Unmarshal(line, &r)
		return r.ID, err
	}
	f.tasks = []Task{{File: "a.jsonl", Parse: parse}, {File: "b.jsonl", Parse: parse}}
	for i := range 7 {
		f.tasks[0].IDs = append(f.tasks[0].IDs, fmt.Sprintf("a%d", i))
	}
	for i := range 3 {
		f.tasks[1].IDs = append(f.tasks[1].IDs, fmt.Sprintf("b%d", i))
	}
	for k := range n {
		d := filepath.Join(f.root, fmt.Sprintf("shard-%d", k))
		f.dirs = append(f.dirs, d)
		f.meta(k, fmt.Sprintf("%d/%d", k, n), "m")
		for _, task := range f.tasks {
			var lines []string
			// Written out of order, as rows finish in a batch.
			for i := len(task.IDs) - 1; i >= 0; i-- {
				if Of(task.IDs[i], n) == k {
					lines = append(lines, fmt.Sprintf(`{"id":%q,"pred":"p%d"}`, task.IDs[i], i))
				}
			}
			f.write(k, task.File, strings.Join(lines, "\n")+"\n")
		}
	}
	return f
}

func (f *fixture) meta(k int, shard, model string) {
	f.write(k, "meta.json", fmt.Sprintf(`{"program":"sdtp","settings":{"model":%q,"shard":%q},"info":{"device":"gpu%d"}}`, model, shard, k))
}

func (f *fixture) write(k int, name, body string) {
	if err := os.MkdirAll(f.dirs[k], 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dirs[k], name), []byte(body), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) merge() (string, error) {
	out := filepath.Join(f.root, "merged")
	set, err := Open(f.dirs, "meta.json")
	if err != nil {
		return out, err
	}
	_, err = set.Merge(out, f.tasks)
	return out, err
}

func TestMerge(t *testing.T) {
	f := newFixture(t, 3)
	set, err := Open([]string{f.dirs[2], f.dirs[0], f.dirs[1]}, "meta.json")
	if err != nil {
		t.Fatal(err)
	}
	if files, err := set.Files(); err != nil || strings.Join(files, ",") != "a.jsonl,b.jsonl" {
		t.Errorf("files %v, %v", files, err)
	}
	out := filepath.Join(f.root, "merged")
	st, err := set.Merge(out, f.tasks)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tasks != 2 || st.Rows != 10 {
		t.Errorf("stats %+v", st)
	}
	for _, task := range f.tasks {
		b, err := os.ReadFile(filepath.Join(out, task.File))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i, id := range task.IDs {
			want = append(want, fmt.Sprintf(`{"id":%q,"pred":"p%d"}`, id, i))
		}
		if got := string(b); got != strings.Join(want, "\n")+"\n" {
			t.Errorf("%s:\n%s\nwant every row once, in data order:\n%s", task.File, got, strings.Join(want, "\n"))
		}
	}
	var meta struct {
		Program  string
		Settings map[string]string
		Info     map[string]string
	}
	b, _ := os.ReadFile(filepath.Join(out, "meta.json"))
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Program != "sdtp" || meta.Settings["model"] != "m" || meta.Settings["shard"] != "" || meta.Info["device"] != "gpu0" || !strings.Contains(meta.Info["merged_from"], "shard-2") {
		t.Errorf("merged meta %s", b)
	}
	if _, err := os.Stat(out + ".merging"); err == nil {
		t.Error("the temporary folder was left behind")
	}
	if _, err := set.Merge(out, f.tasks); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("merging into an existing folder: %v", err)
	}
}

// TestMergeRefuses: shards of other settings or splits, missing or
// repeated shards, and missing, repeated, foreign, misplaced or cut rows.
func TestMergeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(f *fixture)
		want  string
	}{
		{"other settings", func(f *fixture) { f.meta(1, "1/3", "other") }, `model: "m" and "other"`},
		{"other split", func(f *fixture) { f.meta(1, "1/4", "m") }, "different splits"},
		{"shard twice", func(f *fixture) { f.meta(2, "1/3", "m") }, "are both shard 1/3"},
		{"shard missing", func(f *fixture) { f.dirs = f.dirs[:2] }, "shards 2/3 are missing"},
		{"not a shard", func(f *fixture) { f.meta(0, "", "m") }, "not a shard"},
		// With 3 shards, a0 a3 a5 are shard 1's, a2 a4 b0 shard 0's, b1 b2 shard 2's.
		{"row missing", func(f *fixture) { f.write(1, "a.jsonl", `{"id":"a0","pred":"x"}`+"\n"+`{"id":"a3","pred":"x"}`+"\n") }, "1 of 7 rows are missing: 1 in shard 1/3"},
		{"task file missing", func(f *fixture) { os.Remove(filepath.Join(f.dirs[2], "b.jsonl")) }, "b.jsonl: 2 of 3 rows are missing"},
		{"row twice", func(f *fixture) {
			f.write(0, "a.jsonl", `{"id":"a2","pred":"x"}`+"\n"+`{"id":"a4","pred":"x"}`+"\n"+`{"id":"a2","pred":"y"}`+"\n")
		}, "row a2 is twice"},
		{"row of another shard", func(f *fixture) {
			f.write(0, "b.jsonl", `{"id":"b0","pred":"x"}`+"\n"+`{"id":"b1","pred":"x"}`+"\n")
		}, "belongs to shard 2/3, not 0/3"},
		{"foreign row", func(f *fixture) { f.write(0, "b.jsonl", `{"id":"b0","pred":"x"}`+"\n"+`{"id":"zz","pred":"x"}`+"\n") }, "row zz is not a row"},
		{"cut line", func(f *fixture) { f.write(0, "b.jsonl", `{"id":"b0","pred":"x"}`+"\n"+`{"id":"b`) }, "cut short: shard 0/3"},
		{"bad line", func(f *fixture) { f.write(0, "b.jsonl", "not json\n") }, "b.jsonl line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 3)
			tc.spoil(f)
			out, err := f.merge()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed merge left its folder")
			}
		})
	}
}
