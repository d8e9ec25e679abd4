package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/longbench"
)

// writePreds writes a predictions folder: for each task, rows answered
// right (pred = gold answer) while i < right, wrong otherwise.
func writePreds(t *testing.T, dir string, rows, right int, tasks ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		var b bytes.Buffer
		for i := range rows {
			gold := fmt.Sprintf("answer number %d", i)
			pred := "something else entirely"
			if i < right {
				pred = gold
			}
			line, _ := json.Marshal(map[string]any{"pred": pred, "answers": []string{gold}, "all_classes": nil, "length": 1000 + i})
			b.Write(append(line, '\n'))
		}
		if err := os.WriteFile(filepath.Join(dir, task+".jsonl"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseLongBenchRun(t *testing.T) {
	for _, tc := range []struct {
		in          string
		config, dir string
		err         bool
	}{
		{"paper=runs/lb-paper", "paper", "runs/lb-paper", false},
		{"runs/keep0.8/", "keep0.8", "runs/keep0.8/", false},
		{"=x", "", "", true},
		{"paper=", "", "", true},
		{"", "", "", true},
	} {
		r, err := ParseLongBenchRun(tc.in)
		if (err != nil) != tc.err || r.Config != tc.config || r.Dir != tc.dir {
			t.Errorf("ParseLongBenchRun(%q) = %+v, %v", tc.in, r, err)
		}
	}
}

func TestQualityAgainstSpeed(t *testing.T) {
	res := tinyResult(t)
	root := t.TempDir()
	dirs := map[string]string{"baseline": filepath.Join(root, "b"), "paper": filepath.Join(root, "p"), "keep0.7": filepath.Join(root, "k")}
	writePreds(t, dirs["baseline"], 10, 10, "hotpotqa", "triviaqa", "lsht")
	writePreds(t, dirs["paper"], 10, 6, "hotpotqa", "triviaqa")
	writePreds(t, dirs["keep0.7"], 10, 3, "hotpotqa", "triviaqa", "passage_count")
	var runs []LongBenchRun
	for _, c := range []string{"baseline", "paper", "keep0.7"} {
		runs = append(runs, LongBenchRun{Config: c, Dir: dirs[c]})
	}
	q, err := ScoreLongBench(runs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(q.Tasks, ",") != "hotpotqa,triviaqa" {
		t.Errorf("averaged tasks %v, want the two every run has", q.Tasks)
	}
	for i, s := range q.Scores {
		ts, err := longbench.ScoreDir(dirs[s.Config], false)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		n := 0
		for _, x := range ts {
			if x.Task.Name == "hotpotqa" || x.Task.Name == "triviaqa" {
				sum += x.Score
				n++
			}
		}
		if s.Config != runs[i].Config || s.Score != sum/float64(n) {
			t.Errorf("%s: score %v, want %v", s.Config, s.Score, sum/float64(n))
		}
	}
	if !(q.Scores[0].Score > q.Scores[1].Score && q.Scores[1].Score > q.Scores[2].Score) {
		t.Errorf("scores %v do not follow the share of right answers", q.Scores)
	}

	var buf bytes.Buffer
	if err := Write(&buf, res, q); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	_, rows := parseTable(t, md, "| Config | LongBench average |")
	if len(rows) != 3 {
		t.Fatalf("quality table has %d rows", len(rows))
	}
	for i, cells := range rows {
		s := q.Scores[i]
		checkCell(t, "quality "+s.Config, cells[1], s.Score)
		if s.Config == bench.Baseline {
			continue
		}
		checkCell(t, "change "+s.Config, cells[2], s.Score-q.Scores[0].Score)
		row := res.Find(160, s.Config)
		checkCell(t, "prefill speedup "+s.Config, cells[3], row.Speedup.Prefill)
		checkCell(t, "e2e speedup "+s.Config, cells[4], row.Speedup.Total)
		v, _ := strconv.ParseFloat(strings.TrimSuffix(cells[5], "×"), 64)
		if d := v - 1/row.Speedup.PrefillFLOPs; d > 0.005 || d < -0.005 {
			t.Errorf("FLOPs reduction %s, want %v", cells[5], 1/row.Speedup.PrefillFLOPs)
		}
	}
	if !strings.Contains(md, "at 160 tokens") || !strings.Contains(md, "| hotpotqa | qa_f1 |") {
		t.Errorf("quality section lacks the speed length or the per-task table:\n%s", md)
	}

	if _, err := ScoreLongBench([]LongBenchRun{{"a", dirs["paper"]}, {"a", dirs["keep0.7"]}}); err == nil || !strings.Contains(err.Error(), "two LongBench runs") {
		t.Errorf("duplicate names: %v", err)
	}
	writePreds(t, filepath.Join(root, "zh"), 4, 4, "lsht")
	if _, err := ScoreLongBench([]LongBenchRun{{"a", dirs["paper"]}, {"b", filepath.Join(root, "zh")}}); err == nil || !strings.Contains(err.Error(), "no task in common") {
		t.Errorf("no common task: %v", err)
	}
	if _, err := ScoreLongBench([]LongBenchRun{{"a", filepath.Join(root, "missing")}}); err == nil {
		t.Error("missing folder: no error")
	}
}

// TestQualityAveragesThePaperTasks: the quality average is the SDTP
// paper's AVG (its 14 datasets, without passage_count and
// passage_retrieval_en) when the runs have any of them, else the tasks
// they have.
func TestQualityAveragesThePaperTasks(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		tasks []string
		want  string
		paper bool
	}{
		{[]string{"hotpotqa", "passage_count", "lcc"}, "hotpotqa,lcc", true},
		{[]string{"passage_count"}, "passage_count", false},
	} {
		var runs []LongBenchRun
		for _, cfg := range []string{"baseline", "paper"} {
			dir := filepath.Join(root, strings.Join(c.tasks, "-"), cfg)
			writePreds(t, dir, 4, 2, c.tasks...)
			runs = append(runs, LongBenchRun{Config: cfg, Dir: dir})
		}
		q, err := ScoreLongBench(runs)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(q.Tasks, ","); got != c.want || q.Paper != c.paper {
			t.Errorf("runs of %v: averaged %s (paper %v), want %s (paper %v)", c.tasks, got, q.Paper, c.want, c.paper)
		}
	}
}
