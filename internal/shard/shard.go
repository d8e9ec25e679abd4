// Package shard splits an evaluation run's rows over N independent runs
// (shards: a Slurm job array, a Kubernetes indexed Job, several GPUs) and
// merges the shard folders back into one run folder.
//
// A row belongs to shard FNV-1a(id) mod N, its id being the row's id in
// the predictions file (LongBench's _id, a RULER sample id): the split
// depends on nothing but the ids, so every row is in exactly one shard
// whatever order, --limit or other tasks a run has, any shard can be run,
// resumed or rerun on its own, and a merge can tell where each row
// belongs. Shards differ in size by chance only (about √(rows/N)).
package shard

import (
	"fmt"
	"hash/fnv"
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

// Has reports whether the row id belongs to the shard; every row belongs
// to the zero Spec.
func (s Spec) Has(id string) bool { return !s.On() || Of(id, s.Count) == s.Index }

// Of returns the index of the shard of n that holds the row id.
func Of(id string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(n))
}

// String is the "I/N" form Parse reads ("" for the zero Spec).
func (s Spec) String() string {
	if !s.On() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
