// Package shard splits an evaluation run's rows over N independent runs
// (shards: a Slurm job array, a Kubernetes indexed Job, several GPUs) and
// merges the shard folders back into one run folder.
//
// The split is by position: the i-th row of each task (in the data's
// order) belongs to shard i mod N, so every row is in exactly one shard,
// the shards' sizes differ by at most one row per task, and any shard can
// be run, resumed or rerun on its own.
package shard

import (
	"fmt"
	"strconv"
	"strings"
)

// Spec names one shard: Index of Count (0 ≤ Index < Count). The zero
// Spec (Count 0) means no sharding.
type Spec struct {
	Index, Count int
}

// Parse reads "I/N" (shard I of N, counting from 0); "" gives the zero
// Spec.
func Parse(s string) (Spec, error) {
	if strings.TrimSpace(s) == "" {
		return Spec{}, nil
	}
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Spec{}, fmt.Errorf("%q: want I/N, shard I of N counting from 0 (e.g. 0/4)", s)
	case n < 1 || i < 0 || i >= n:
		return Spec{}, fmt.Errorf("%q: want 0 ≤ I < N", s)
	}
	return Spec{Index: i, Count: n}, nil
}

// On reports whether s shards at all.
func (s Spec) On() bool { return s.Count > 0 }

// Has reports whether the i-th row of a task (from 0, in data order)
// belongs to the shard; every row belongs to the zero Spec.
func (s Spec) Has(i int) bool { return !s.On() || i%s.Count == s.Index }

// Of returns the index of the shard of N that holds the i-th row.
func Of(i, n int) int { return i % n }

// String is the "I/N" form Parse reads ("" for the zero Spec).
func (s Spec) String() string {
	if !s.On() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
