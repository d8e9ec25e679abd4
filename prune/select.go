package prune

import (
	"fmt"
	"sort"
)

// Select chooses which alive tokens survive a stage. pos holds the original
// position of each alive token (ascending), scores their scores, n the
// prompt length and keep the number to keep. Protected tokens are always
// kept; the rest of the budget goes to the highest scores, ties to the lower
// position. The result is the ascending row indices to keep.
func Select(pos []int32, scores []float32, n, keep int) ([]int32, error) {
	if len(pos) != len(scores) {
		return nil, fmt.Errorf("select: %d positions but %d scores", len(pos), len(scores))
	}
	alive := len(pos)
	if keep >= alive {
		all := make([]int32, alive)
		for i := range all {
			all[i] = int32(i)
		}
		return all, nil
	}
	chosen := make([]bool, alive)
	var rest []int
	budget := keep
	for i, p := range pos {
		if IsProtected(int(p), n) {
			chosen[i] = true
			budget--
		} else {
			rest = append(rest, i)
		}
	}
	if budget > 0 {
		sort.SliceStable(rest, func(a, b int) bool {
			sa, sb := scores[rest[a]], scores[rest[b]]
			na, nb := sa != sa, sb != sb // NaN scores rank last
			switch {
			case na != nb:
				return nb
			case !na && sa != sb:
				return sa > sb
			}
			return pos[rest[a]] < pos[rest[b]]
		})
		for _, i := range rest[:min(budget, len(rest))] {
			chosen[i] = true
		}
	}
	out := make([]int32, 0, keep)
	for i, c := range chosen {
		if c {
			out = append(out, int32(i))
		}
	}
	return out, nil
}
