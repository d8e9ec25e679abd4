package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/longbench"
)

// LongBenchRun names a LongBench predictions folder (what `sdtp longbench`
// writes: one <task>.jsonl per task) by the bench configuration it ran.
type LongBenchRun struct {
	Config, Dir string
}

// ParseLongBenchRun parses "CONFIG=DIR", or "DIR" alone, which names the
// configuration after the folder.
func ParseLongBenchRun(s string) (LongBenchRun, error) {
	if s == "" {
		return LongBenchRun{}, fmt.Errorf("empty LongBench run (want CONFIG=DIR or DIR)")
	}
	if cfg, dir, ok := strings.Cut(s, "="); ok {
		if cfg == "" || dir == "" {
			return LongBenchRun{}, fmt.Errorf("LongBench run %q: want CONFIG=DIR", s)
		}
		return LongBenchRun{Config: cfg, Dir: dir}, nil
	}
	return LongBenchRun{Config: filepath.Base(filepath.Clean(s)), Dir: s}, nil
}

// Quality is the LongBench side of a quality-versus-speed comparison.
type Quality struct {
	// Runs are the official task scores, each run named by its configuration.
	Runs []longbench.RunScores
	// Models names the model of each run, from its meta.json ("" when the
	// folder has none).
	Models []string
	// Dirs are the runs' folders.
	Dirs []string
	// Tasks are the tasks averaged: those every run has, only the SDTP
	// paper's 14 datasets (its AVG) when any of them are present (Paper).
	Tasks []string
	Paper bool
	// Scores holds each run's mean over Tasks.
	Scores []bench.Quality
}

// ScoreLongBench scores the runs with the official metrics (package
// longbench) and averages each over the tasks they all have.
func ScoreLongBench(runs []LongBenchRun) (*Quality, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("no LongBench runs")
	}
	seen := map[string]bool{}
	dirs := make([]string, len(runs))
	for i, r := range runs {
		if seen[r.Config] {
			return nil, fmt.Errorf("two LongBench runs are named %q (name them CONFIG=DIR)", r.Config)
		}
		seen[r.Config] = true
		dirs[i] = r.Dir
	}
	scored, err := longbench.ScoreRuns(dirs)
	if err != nil {
		return nil, err
	}
	q := &Quality{Runs: scored, Dirs: dirs}
	for i := range q.Runs {
		q.Runs[i].Name = runs[i].Config
		m, err := longbench.ReadRunMeta(runs[i].Dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		q.Models = append(q.Models, m.Model())
	}
	counts := map[string]int{}
	paper := false
	for _, r := range q.Runs {
		for _, s := range r.Scores {
			counts[s.Task.Name]++
		}
	}
	var common []longbench.Task
	for _, t := range longbench.Tasks() {
		if counts[t.Name] == len(q.Runs) {
			common = append(common, t)
			paper = paper || t.InPaperAverage()
		}
	}
	if len(common) == 0 {
		return nil, fmt.Errorf("the LongBench runs have no task in common")
	}
	q.Paper = paper
	use := map[string]bool{}
	for _, t := range common {
		if !paper || t.InPaperAverage() {
			use[t.Name] = true
			q.Tasks = append(q.Tasks, t.Name)
		}
	}
	for _, r := range q.Runs {
		var sum float64
		for _, s := range r.Scores {
			if use[s.Task.Name] {
				sum += s.Score
			}
		}
		q.Scores = append(q.Scores, bench.Quality{Config: r.Name, Score: sum / float64(len(q.Tasks))})
	}
	return q, nil
}

// ModelWarnings says which LongBench runs are of another model than the
// benchmark r (runs whose model is unknown are not listed). Speed of a
// synthetic model with the published shape against quality of the real
// model is a deliberate pairing, but one the reader must be told of.
func (q *Quality) ModelWarnings(r *bench.Result) []string {
	var out []string
	for i, m := range q.Models {
		if m != "" && m != r.Meta.Model.Name {
			out = append(out, fmt.Sprintf("LongBench run %s (%s) is of model %s, but the benchmark measured %s", q.Runs[i].Name, q.Dirs[i], m, r.Meta.Model.Name))
		}
	}
	return out
}

// qualitySection writes the quality-versus-speed table and the per-task
// LongBench table.
func qualitySection(out *writer, r *bench.Result, q *Quality) {
	out.printf("\n## Quality versus speed (LongBench)\n\n")
	for _, w := range q.ModelWarnings(r) {
		out.printf("**Different models:** %s.\n\n", w)
	}
	n := r.SpeedLength(r.Lengths(), q.Scores)
	var base float64
	hasBase := false
	for _, s := range q.Scores {
		if s.Config == bench.Baseline {
			base, hasBase = s.Score, true
		}
	}
	t := newTable("Config", ">LongBench average", ">Change", ">Prefill speedup", ">E2E speedup", ">FLOPs reduction")
	for _, s := range q.Scores {
		cells := []string{s.Config, strconv.FormatFloat(s.Score, 'f', 2, 64), "—", "—", "—", "—"}
		if hasBase && s.Config != bench.Baseline {
			cells[2] = strconv.FormatFloat(s.Score-base, 'f', 2, 64)
			if !strings.HasPrefix(cells[2], "-") {
				cells[2] = "+" + cells[2]
			}
		}
		if row := r.Find(n, s.Config); n > 0 && row != nil && row.Speedup != nil && s.Config != bench.Baseline {
			sp := row.Speedup
			cells[3], cells[4], cells[5] = speedup(sp.Prefill, sp.PrefillNoisy), speedup(sp.Total, sp.TotalNoisy), times(1/sp.PrefillFLOPs)
		}
		t.add(cells...)
	}
	out.table(t)
	speed := "No length of the benchmark measured every scored configuration against the baseline, so no speed is shown."
	if n > 0 {
		speed = fmt.Sprintf("Speed columns are from this benchmark at %d tokens.", n)
		for _, s := range q.Scores {
			if row := r.Find(n, s.Config); row != nil && row.Speedup != nil && s.Config != bench.Baseline && (row.Speedup.PrefillNoisy || row.Speedup.TotalNoisy) {
				speed += " " + noisyMark + " marks a noisy speedup (see the notes under the Table-2 layout)."
				break
			}
		}
	}
	among := ""
	if q.Paper {
		among = " among the SDTP paper's 14 datasets (its AVG)"
	}
	out.printf("\nThe average is the mean of the official task scores over the %d tasks every run has%s (%s). %s "+
		"Configurations are matched to LongBench runs by name (--longbench CONFIG=DIR). Per task:\n\n",
		len(q.Tasks), among, strings.Join(q.Tasks, ", "), speed)
	if out.err == nil {
		out.err = longbench.WriteReport(out.w, q.Runs)
	}
}
