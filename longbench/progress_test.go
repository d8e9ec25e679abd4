package longbench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressTerminalLine(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	p := &Progress{w: &buf, tty: true, now: func() time.Time { return now }}
	p.begin(10)
	now = now.Add(4 * time.Second)
	p.step("hotpotqa", 3, 5)
	now = now.Add(4 * time.Second)
	p.step("hotpotqa", 4, 5)
	p.finish()
	// 2 rows in 8 s: 0.25 rows/s, 8 rows left, 32 s.
	if got := buf.String(); !strings.Contains(got, "hotpotqa 4/5 | all 2/10 | 0.25 rows/s | ETA 32s") || !strings.HasSuffix(got, "\n") {
		t.Errorf("progress output %q", got)
	}
}

func TestProgressLogsWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf)
	p.begin(2)
	p.step("lcc", 1, 2)
	if got := buf.String(); !strings.Contains(got, "task=lcc") || !strings.Contains(got, "done=1 total=2") || strings.Contains(got, "\r") {
		t.Errorf("log output %q", got)
	}
}
