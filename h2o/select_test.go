package h2o

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// refSelect is H2O's rule written out plainly: sort by position to find
// the recent window, sort the rest by score (earlier position first on
// ties), keep the best, evict the others.
func refSelect(pos []int32, scores []float64, keep, recent int) []int32 {
	n := len(pos)
	if n <= keep {
		return nil
	}
	byPos := make([]int, n)
	for i := range byPos {
		byPos[i] = i
	}
	sort.Slice(byPos, func(a, b int) bool { return pos[byPos[a]] > pos[byPos[b]] })
	kept := map[int]bool{}
	for _, r := range byPos[:recent] {
		kept[r] = true
	}
	rest := byPos[recent:]
	sort.Slice(rest, func(a, b int) bool {
		if scores[rest[a]] != scores[rest[b]] {
			return scores[rest[a]] > scores[rest[b]]
		}
		return pos[rest[a]] < pos[rest[b]]
	})
	for _, r := range rest[:keep-recent] {
		kept[r] = true
	}
	var out []int32
	for r := range n {
		if !kept[r] {
			out = append(out, int32(r))
		}
	}
	return out
}

// TestSelectMatchesRule compares Select with the rule written out, on
// random layers: contiguous and gapped positions (SDTP pruning leaves
// gaps), rows in any order (eviction moves them), tied scores, one token
// over the budget (a decode step) and many (after the prefill).
func TestSelectMatchesRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for it := range 3000 {
		n := 1 + rng.IntN(60)
		pos := make([]int32, n)
		p := int32(0)
		for i := range pos {
			p += 1 + int32(rng.IntN(1+it%3)) // gaps in some cases
			pos[i] = p
		}
		rng.Shuffle(n, func(a, b int) { pos[a], pos[b] = pos[b], pos[a] })
		scores := make([]float64, n)
		for i := range scores {
			scores[i] = float64(rng.IntN(8)) / 4 // few values: many ties
			if it%2 == 0 {
				scores[i] = rng.Float64()
			}
		}
		keep := 1 + rng.IntN(n)
		if it%3 == 0 {
			keep = max(1, n-1)
		}
		recent := rng.IntN(keep + 1)
		got := Select(pos, scores, keep, recent)
		want := refSelect(pos, scores, keep, recent)
		if !slices.Equal(got, want) {
			t.Fatalf("Select(pos %v, scores %v, keep %d, recent %d) = %v, want %v", pos, scores, keep, recent, got, want)
		}
		if len(got) != max(0, n-keep) {
			t.Fatalf("evicted %d of %d to keep %d", len(got), n, keep)
		}
	}
}

func TestSelectExamples(t *testing.T) {
	pos := []int32{0, 1, 2, 3, 4, 5}
	scores := []float64{5, 0.1, 3, 0.2, 0.05, 0.01}
	for _, tc := range []struct {
		keep, recent int
		want         []int32
	}{
		{6, 2, nil},
		{5, 2, []int32{1}},          // 4 and 5 are recent; 1 has the least score of the rest
		{3, 2, []int32{1, 2, 3}},    // heavy hitter 0 and the two recent tokens stay
		{3, 0, []int32{1, 4, 5}},    // heavy hitters only: 0, 2 and 3
		{2, 2, []int32{0, 1, 2, 3}}, // recent window only
	} {
		if got := Select(pos, scores, tc.keep, tc.recent); !slices.Equal(got, tc.want) {
			t.Errorf("keep %d recent %d: evicted %v, want %v", tc.keep, tc.recent, got, tc.want)
		}
	}
}
