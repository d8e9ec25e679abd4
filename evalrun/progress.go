package evalrun

// RunProgress reports one generated row.
type RunProgress struct {
	Task string
	// TaskDone of the task's TaskRows rows are done (resumed ones
	// included).
	TaskDone, TaskRows int
	// Done of the Total rows this run generates are done.
	Done, Total int
}

// Progress counts the rows a run generates and hands each report to
// Report, and each row that failed (the run goes on) to Failed; the
// command shows them with internal/progress. Either may be nil.
type Progress struct {
	Report      func(RunProgress)
	Failed      func(task, id string, err error)
	total, done int
}

// begin sets the number of rows this run will generate.
func (p *Progress) begin(total int) {
	if p != nil {
		p.total, p.done = total, 0
	}
}

// step records one generated row of task (taskDone of taskRows done).
func (p *Progress) step(task string, taskDone, taskRows int) {
	if p == nil {
		return
	}
	p.done++
	if p.Report != nil {
		p.Report(RunProgress{Task: task, TaskDone: taskDone, TaskRows: taskRows, Done: p.done, Total: p.total})
	}
}

// fail reports a row that failed (the run goes on).
func (p *Progress) fail(task, id string, err error) {
	if p != nil && p.Failed != nil {
		p.Failed(task, id, err)
	}
}

// finish ends the run's reports.
func (p *Progress) finish() {}
