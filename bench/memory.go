package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// resetHostPeak returns freed Go memory to the OS and resets the
// resident-set high-water mark (Linux: writing 5 to /proc/self/clear_refs),
// so the next hostPeak reading covers only what follows. It reports
// whether the reset took effect.
func resetHostPeak() bool {
	runtime.GC()
	debug.FreeOSMemory()
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	_, err = f.WriteString("5")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil
}

// hostPeak returns the process's resident-set high-water mark in bytes:
// VmHWM from /proc/self/status, or getrusage's maxrss where that is missing.
func hostPeak() int64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		if v, err := statusField(f, "VmHWM"); err == nil {
			return v
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		return ru.Maxrss * 1024 // kilobytes on Linux
	}
	return 0
}

// availableMemory returns MemAvailable from /proc/meminfo in bytes, or 0
// when unknown.
func availableMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	v, err := statusField(f, "MemAvailable")
	if err != nil {
		return 0
	}
	return v
}

// statusField reads a "Key:   123 kB" line of a /proc file as bytes.
func statusField(r io.Reader, key string) (int64, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok || k != key {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			return 0, fmt.Errorf("%s: no value", key)
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		if len(fields) > 1 && strings.EqualFold(fields[1], "kB") {
			n *= 1024
		}
		return n, nil
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: not found", key)
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or 0
// where that is unavailable.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return v
}
