package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/model"
)

// batchFlags are the flags of the commands that decode several
// sequences together (generate.Batcher).
type batchFlags struct {
	name string // the batch size flag's name
	size int
	kv   *kvBudgetFlag
}

// registerBatch adds the batch size flag (named name) and --kv-budget.
func registerBatch(fs *flag.FlagSet, name, usage string) *batchFlags {
	f := &batchFlags{name: name}
	fs.IntVar(&f.size, name, 1, usage)
	f.kv = registerKVBudget(fs)
	return f
}

// check validates the flags' values.
func (f *batchFlags) check() error {
	if f.size < 1 {
		return fmt.Errorf("--%s %d must be at least 1", f.name, f.size)
	}
	return f.kv.check()
}

// batcher starts a batcher on m, or returns nil for a batch of 1.
func (f *batchFlags) batcher(m *model.Model) (*generate.Batcher, error) {
	if f.size <= 1 {
		return nil, nil
	}
	budget, err := f.kv.budget(m.B)
	if err != nil {
		return nil, err
	}
	return generate.NewBatcher(m, generate.BatchOptions{MaxBatch: f.size, KVBudget: budget})
}

// kvBudgetFlag is --kv-budget.
type kvBudgetFlag struct{ v string }

func registerKVBudget(fs *flag.FlagSet) *kvBudgetFlag {
	k := &kvBudgetFlag{}
	fs.StringVar(&k.v, "kv-budget", "auto", "bytes of KV cache a batch may hold (e.g. 40GiB, 512MiB; 0: no bound); a request waits while the batch holds too much. auto: 85% of the GPU memory free once the model is loaded, no bound on the CPU")
	return k
}

func (k *kvBudgetFlag) check() error {
	if _, _, err := parseKVBudget(k.v); err != nil {
		return fmt.Errorf("--kv-budget: %w", err)
	}
	return nil
}

// budget resolves the flag on backend b.
func (k *kvBudgetFlag) budget(b backend.Backend) (int64, error) {
	n, auto, err := parseKVBudget(k.v)
	if err != nil {
		return 0, fmt.Errorf("--kv-budget: %w", err)
	}
	if !auto {
		return n, nil
	}
	fm, ok := b.(backend.FreeMemoryer)
	if !ok {
		return 0, nil
	}
	free, _, err := fm.FreeMemory()
	if err != nil {
		return 0, fmt.Errorf("--kv-budget auto: %w", err)
	}
	return max(1, free/100*85), nil
}

// parseKVBudget reads a --kv-budget value: auto, or a byte count with an
// optional unit (KiB, MiB, GiB, TiB; KB, MB, GB, TB; B).
func parseKVBudget(s string) (n int64, auto bool, err error) {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		return 0, true, nil
	}
	n, err = parseBytes(s)
	return n, false, err
}

// parseBytes reads a byte count: a number with an optional binary (KiB
// to TiB) or decimal (KB to TB) unit, any case.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' })
	unit := strings.ToLower(t[len(num):])
	mult, ok := map[string]float64{"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}[unit]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (want B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", s, t[len(num):])
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || v*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a byte count", s)
	}
	return int64(v * mult), nil
}

// parseDevices reads a --devices list of GPU indices ("0,1,3"); empty
// gives nil.
func parseDevices(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("--devices %q: %q is not a device index", s, f)
		}
		if seen[d] {
			return nil, fmt.Errorf("--devices %q: device %d is listed twice", s, d)
		}
		seen[d] = true
		out = append(out, d)
	}
	return out, nil
}
