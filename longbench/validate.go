package longbench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sdtp/sdtp/evalrun"
	"github.com/sdtp/sdtp/longbench/metrics"
)

// FileCheck is the validation result of one data file.
type FileCheck struct {
	File     string // e.g. "data/hotpotqa_e.jsonl"
	Task     Task
	E        bool
	Rows     int
	Want     int      // rows the official data set has
	Problems []string // empty when the file is valid
}

// maxProblems bounds the problems listed per file.
const maxProblems = 10

// dataFiles lists every file of the official data set: the 21 tasks and
// the 13 LongBench-E tasks.
func dataFiles() []FileCheck {
	var out []FileCheck
	for _, t := range tasks {
		out = append(out, FileCheck{File: "data/" + t.FileName(false), Task: t, Want: t.Rows})
	}
	for _, t := range tasks {
		if t.ERows > 0 {
			out = append(out, FileCheck{File: "data/" + t.FileName(true), Task: t, E: true, Want: t.ERows})
		}
	}
	return out
}

// Validate checks every data file under dir (dir/data/*.jsonl): present,
// every row with the official fields and types, unique ids, the dataset
// name, class lists for the classification tasks, retrieval answers with a
// paragraph number, and the official row count per task.
func Validate(dir string) []FileCheck {
	var out []FileCheck
	for _, fc := range dataFiles() {
		f, err := os.Open(filepath.Join(dir, fc.File))
		if err != nil {
			fc.Problems = append(fc.Problems, err.Error())
			out = append(out, fc)
			continue
		}
		checkData(&fc, f, filepath.Join(dir, fc.File))
		f.Close()
		out = append(out, fc)
	}
	return out
}

// checkData validates one data file's content into fc.
func checkData(fc *FileCheck, r io.Reader, name string) {
	add := func(format string, args ...any) {
		if len(fc.Problems) < maxProblems {
			fc.Problems = append(fc.Problems, fmt.Sprintf(format, args...))
		}
	}
	ids := map[string]int{}
	prefix := map[string]string{"retrieval": "Paragraph ", "retrieval_zh": "段落"}[fc.Task.Metric]
	torn, err := evalrun.ReadLines(r, name, func(line int, b []byte) error {
		fc.Rows++
		row, err := ParseRow(b)
		if err != nil {
			add("line %d: %v", line, err)
			return nil
		}
		if prev, dup := ids[row.ID]; dup {
			add("line %d: _id %s already on line %d", line, row.ID, prev)
		}
		ids[row.ID] = line
		if row.Dataset != fc.Task.Name && row.Dataset != fc.Task.Name+"_e" {
			add("line %d: dataset %q, want %q", line, row.Dataset, fc.Task.Name)
		}
		if fc.Task.Metric == "classification" && len(row.AllClasses) == 0 {
			add("line %d: all_classes is empty for a classification task", line)
		}
		for _, a := range row.Answers {
			if prefix == "" {
				break
			}
			if _, ok := metrics.RetrievalID(a, prefix); !ok {
				add("line %d: answer %q has no %q number", line, a, prefix)
			}
		}
		return nil
	})
	if err != nil {
		add("%v", err)
		return
	}
	if torn > 0 {
		add("last line cut short (%d bytes without a newline)", torn)
	}
	if fc.Rows != fc.Want {
		add("%d rows, the official data has %d", fc.Rows, fc.Want)
	}
}
