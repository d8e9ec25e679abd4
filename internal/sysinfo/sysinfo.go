// Package sysinfo reads facts about the host and the process's streams:
// what reports record and how progress is shown.
package sysinfo

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// CPUModel returns the processor's marketing name where the OS tells it
// (Linux /proc/cpuinfo), and the architecture otherwise.
func CPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, val, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return runtime.GOARCH
}

// IsTerminal reports whether w is a character device (a terminal), where
// progress can rewrite one line instead of logging records.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
