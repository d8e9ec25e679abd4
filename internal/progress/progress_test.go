package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// clock is a fake time source the tests advance.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestTerminalLine(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{time.Unix(0, 0)}
	d := newDisplay(&buf, true, c.now)
	d.Update("eval", 3, 10) // the phase starts here, with 3 done (resumed)
	c.t = c.t.Add(4 * time.Second)
	d.Update("eval", 5, 10, "loss", "0.5")
	c.t = c.t.Add(4 * time.Second)
	d.Show(Status{Phase: "eval", Done: 7, Total: 10, ETA: time.Minute})
	d.End()
	got := buf.String()
	// 2 in 4 s since the phase began: 0.50/s, 5 left, 10 s.
	for _, want := range []string{"\reval 5/10 (0.50/s, ETA 10s) loss 0.5", "\reval 7/10 (0.50/s, ETA 1m0s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
	if !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("output %q: want one final newline", got)
	}
}

func TestLogRecordsAreThrottled(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{time.Unix(0, 0)}
	d := newDisplay(&buf, false, c.now)
	for i := 1; i <= 6; i++ {
		c.t = c.t.Add(3 * time.Second)
		d.Update("saliency", i, 6, "task", "lcc")
	}
	got := buf.String()
	// Records at the first report (3 s), the first 10 s after it (15 s),
	// and the last (18 s).
	if n := strings.Count(got, "msg=saliency"); n != 3 || !strings.Contains(got, "done=5/6") || !strings.Contains(got, "done=6/6") || !strings.Contains(got, "task=lcc") || strings.Contains(got, "\r") {
		t.Errorf("%d records: %q", n, got)
	}
	d.Warn("row failed", "length", 4096)
	if !strings.Contains(buf.String(), "level=WARN msg=\"row failed\" length=4096") {
		t.Errorf("warning record: %q", buf.String())
	}
}

func TestWarnOnTerminalEndsTheLine(t *testing.T) {
	var buf bytes.Buffer
	d := newDisplay(&buf, true, time.Now)
	d.Update("bench", 1, 4)
	d.Warn("sdtp bench: row failed", "length", 4096, "err", "out of memory")
	if got := buf.String(); !strings.HasSuffix(got, "\nsdtp bench: row failed length=4096 err=out of memory\n") {
		t.Errorf("output %q", got)
	}
}
