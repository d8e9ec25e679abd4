// Package progress shows long work on a stream (stderr): one status line
// redrawn in place on a terminal, log/slog text records otherwise, at most
// one every Every (and the last). Rate and ETA count from each phase's
// first report, so a phase resumed part-way (training from a checkpoint)
// is not credited with the work before it. train, bench and longbench all
// report through it.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/sdtp/sdtp/internal/sysinfo"
)

// Display shows the progress of one command's work.
type Display struct {
	// Every is the least time between two log records when the stream is
	// not a terminal (New sets 10 seconds).
	Every time.Duration

	w     io.Writer
	tty   bool
	log   *slog.Logger
	now   func() time.Time
	phase string
	start time.Time
	last  time.Time
	from  int // done at the phase's first report
	width int // of the status line on screen
}

// New shows progress on w: a status line when w is a terminal, log
// records otherwise.
func New(w io.Writer) *Display {
	return newDisplay(w, sysinfo.IsTerminal(w), time.Now)
}

func newDisplay(w io.Writer, tty bool, now func() time.Time) *Display {
	d := &Display{Every: 10 * time.Second, w: w, tty: tty, now: now}
	if !tty {
		d.log = slog.New(slog.NewTextHandler(w, nil))
	}
	return d
}

// Status is one report.
type Status struct {
	Phase       string
	Done, Total int
	// ETA, when positive, is the caller's own estimate of the time left
	// (bench weighs runs by their FLOPs); otherwise the rate gives it.
	ETA time.Duration
	// Fields are key/value pairs shown after the counts.
	Fields []any
}

// Update reports done of total in phase, with key/value fields.
func (d *Display) Update(phase string, done, total int, fields ...any) {
	d.Show(Status{Phase: phase, Done: done, Total: total, Fields: fields})
}

// Show reports s.
func (d *Display) Show(s Status) {
	now := d.now()
	if s.Phase != d.phase {
		d.End()
		d.phase, d.start, d.from = s.Phase, now, s.Done
	}
	elapsed := now.Sub(d.start)
	rate, eta := 0.0, s.ETA
	if elapsed > 100*time.Millisecond {
		rate = float64(s.Done-d.from) / elapsed.Seconds()
		if eta <= 0 && rate > 0 {
			eta = time.Duration(float64(s.Total-s.Done) / rate * float64(time.Second))
		}
	}
	if !d.tty {
		if s.Done < s.Total && now.Sub(d.last) < d.Every {
			return
		}
		d.last = now
		args := append([]any{"done", fmt.Sprintf("%d/%d", s.Done, s.Total), "rate_per_s", math.Round(rate*100) / 100,
			"elapsed", elapsed.Round(time.Second), "eta", eta.Round(time.Second)}, s.Fields...)
		d.log.Info(s.Phase, args...)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d (%.2f/s, ETA %s)", s.Phase, s.Done, s.Total, rate, eta.Round(time.Second))
	for i := 0; i+1 < len(s.Fields); i += 2 {
		fmt.Fprintf(&b, " %v %v", s.Fields[i], s.Fields[i+1])
	}
	line := b.String()
	fmt.Fprintf(d.w, "\r%-*s", d.width, line)
	d.width = len(line)
}

// Warn reports a problem that does not stop the work (a failed bench
// row): a line of its own on a terminal, a warning record otherwise.
func (d *Display) Warn(msg string, fields ...any) {
	if !d.tty {
		d.log.Warn(msg, fields...)
		return
	}
	d.End()
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&b, " %v=%v", fields[i], fields[i+1])
	}
	fmt.Fprintln(d.w, b.String())
}

// End finishes the status line, if one is on screen.
func (d *Display) End() {
	if d.tty && d.width > 0 {
		fmt.Fprintln(d.w)
		d.width = 0
	}
}
