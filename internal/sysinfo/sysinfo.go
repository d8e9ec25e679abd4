// Package sysinfo reads facts about the host that reports record.
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
