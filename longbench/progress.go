package longbench

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sdtp/sdtp/internal/sysinfo"
)

// Progress reports the runner's progress: a status line redrawn in place
// when w is a terminal, a log record per row otherwise.
type Progress struct {
	w     io.Writer
	tty   bool
	log   *slog.Logger
	now   func() time.Time
	start time.Time
	total int // rows to generate in this session
	done  int
}

// NewProgress reports to w (usually stderr).
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w, now: time.Now, tty: sysinfo.IsTerminal(w)}
	if !p.tty {
		p.log = slog.New(slog.NewTextHandler(w, nil))
	}
	return p
}

// begin sets the number of rows this session will generate.
func (p *Progress) begin(total int) {
	if p == nil {
		return
	}
	p.total, p.done, p.start = total, 0, p.now()
}

// step records one generated row of task (taskDone of taskTotal done).
func (p *Progress) step(task string, taskDone, taskTotal int) {
	if p == nil {
		return
	}
	p.done++
	elapsed := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed
	}
	eta := time.Duration(0)
	if rate > 0 {
		eta = time.Duration(float64(p.total-p.done) / rate * float64(time.Second)).Round(time.Second)
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s %d/%d | all %d/%d | %.2f rows/s | ETA %s", task, taskDone, taskTotal, p.done, p.total, rate, eta)
		return
	}
	p.log.Info("longbench", "task", task, "row", taskDone, "of", taskTotal, "done", p.done, "total", p.total,
		"rows_per_s", fmt.Sprintf("%.3f", rate), "eta", eta.String())
}

// fail reports a row that failed (the run goes on).
func (p *Progress) fail(task, id string, err error) {
	if p == nil {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s row %s failed: %v\n", task, id, err)
		return
	}
	p.log.Warn("longbench row failed", "task", task, "_id", id, "error", err.Error())
}

// finish ends the status line.
func (p *Progress) finish() {
	if p != nil && p.tty && p.done > 0 {
		fmt.Fprintln(p.w)
	}
}
