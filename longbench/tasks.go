package longbench

import (
	"fmt"
	"slices"
	"strings"
)

// Task categories, as the LongBench paper groups its tasks.
const (
	SingleDocQA  = "Single-Doc QA"
	MultiDocQA   = "Multi-Doc QA"
	Summarize    = "Summarization"
	FewShot      = "Few-shot"
	Synthetic    = "Synthetic"
	CodeComplete = "Code"
)

// Categories lists the categories in the paper's order.
func Categories() []string {
	return []string{SingleDocQA, MultiDocQA, Summarize, FewShot, Synthetic, CodeComplete}
}

// Task is one LongBench v1 task.
type Task struct {
	Name     string // file and dataset name, e.g. "hotpotqa"
	Language string // "en", "zh" or "code"
	Category string
	Metric   string // a metrics.Lookup name
	Rows     int    // rows in LongBench
	ERows    int    // rows in LongBench-E; 0 when the task has no "_e" file
}

// tasks is the task table in the official order of pred.py.
var tasks = []Task{
	{"narrativeqa", "en", SingleDocQA, "qa_f1", 200, 0},
	{"qasper", "en", SingleDocQA, "qa_f1", 200, 224},
	{"multifieldqa_en", "en", SingleDocQA, "qa_f1", 150, 150},
	{"multifieldqa_zh", "zh", SingleDocQA, "qa_f1_zh", 200, 0},
	{"hotpotqa", "en", MultiDocQA, "qa_f1", 200, 300},
	{"2wikimqa", "en", MultiDocQA, "qa_f1", 200, 300},
	{"musique", "en", MultiDocQA, "qa_f1", 200, 0},
	{"dureader", "zh", MultiDocQA, "rouge_zh", 200, 0},
	{"gov_report", "en", Summarize, "rouge", 200, 300},
	{"qmsum", "en", Summarize, "rouge", 200, 0},
	{"multi_news", "en", Summarize, "rouge", 200, 294},
	{"vcsum", "zh", Summarize, "rouge_zh", 200, 0},
	{"trec", "en", FewShot, "classification", 200, 300},
	{"triviaqa", "en", FewShot, "qa_f1", 200, 300},
	{"samsum", "en", FewShot, "rouge", 200, 300},
	{"lsht", "zh", FewShot, "classification", 200, 0},
	{"passage_count", "en", Synthetic, "count", 200, 300},
	{"passage_retrieval_en", "en", Synthetic, "retrieval", 200, 300},
	{"passage_retrieval_zh", "zh", Synthetic, "retrieval_zh", 200, 0},
	{"lcc", "code", CodeComplete, "code_sim", 500, 300},
	{"repobench-p", "code", CodeComplete, "code_sim", 500, 300},
}

// Tasks returns the 21 tasks in the official order.
func Tasks() []Task { return slices.Clone(tasks) }

// ETasks returns the 13 tasks that LongBench-E has, in the official order.
func ETasks() []Task {
	var out []Task
	for _, t := range tasks {
		if t.ERows > 0 {
			out = append(out, t)
		}
	}
	return out
}

// LookupTask returns the task with the given name.
func LookupTask(name string) (Task, error) {
	for _, t := range tasks {
		if t.Name == name {
			return t, nil
		}
	}
	return Task{}, fmt.Errorf("unknown LongBench task %q (known: %s)", name, strings.Join(TaskNames(), ", "))
}

// TaskNames returns the names of the 21 tasks in the official order.
func TaskNames() []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.Name
	}
	return out
}

// ParseTasks resolves a comma-separated task list; "" or "all" means every
// task (of LongBench-E when e is set), "en", "zh" and "code" select by
// language.
func ParseTasks(list string, e bool) ([]Task, error) {
	all := Tasks()
	if e {
		all = ETasks()
	}
	var out []Task
	add := func(t Task) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case "":
			continue // "a,,b"
		case "all":
			for _, t := range all {
				add(t)
			}
			continue
		case "en", "zh", "code":
			for _, t := range all {
				if t.Language == name {
					add(t)
				}
			}
			continue
		}
		t, err := LookupTask(name)
		if err != nil {
			return nil, err
		}
		if e && t.ERows == 0 {
			return nil, fmt.Errorf("task %q has no LongBench-E file", name)
		}
		add(t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tasks named (all, en, zh, code, or task names)")
	}
	return out, nil
}

// UsesChatTemplate reports whether the official pred.py wraps this task's
// prompt in the chat template: every task except trec, triviaqa, samsum,
// lsht, lcc and repobench-p ("chat models are better off without build
// prompts on these tasks").
func (t Task) UsesChatTemplate() bool {
	switch t.Name {
	case "trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p":
		return false
	}
	return true
}

// FirstLineOnly reports whether the official scorer keeps only the first
// line of the prediction (after leading newlines): trec, triviaqa, samsum
// and lsht.
func (t Task) FirstLineOnly() bool {
	switch t.Name {
	case "trec", "triviaqa", "samsum", "lsht":
		return true
	}
	return false
}

// StopAtNewline reports whether generation stops at the first newline
// token (samsum only, as in pred.py).
func (t Task) StopAtNewline() bool { return t.Name == "samsum" }

// InEnglishAndCode reports whether the task is one of the 16 English and
// code tasks of LongBench v1 (the Chinese tasks are left out).
func (t Task) InEnglishAndCode() bool { return t.Language == "en" || t.Language == "code" }

// InPaperAverage reports whether the task is one of the 14 datasets the
// SDTP paper averages (its Table 1 AVG): the English and code tasks
// without the two synthetic ones, passage_count and passage_retrieval_en.
func (t Task) InPaperAverage() bool {
	return t.InEnglishAndCode() && t.Name != "passage_count" && t.Name != "passage_retrieval_en"
}

// FileName is the task's data and prediction file name: "<task>.jsonl", or
// "<task>_e.jsonl" for LongBench-E data.
func (t Task) FileName(e bool) string {
	if e {
		return t.Name + "_e.jsonl"
	}
	return t.Name + ".jsonl"
}
