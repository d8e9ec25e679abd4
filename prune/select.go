package prune

import (
	"fmt"
	"math"
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
		// Rank by a 64-bit key: the score's bits mapped so that a higher
		// score (NaN lowest) gives a smaller number, then the row index (rows
		// are in ascending position order, so ties go to the lower position).
		keys := make([]uint64, len(rest))
		for j, i := range rest {
			keys[j] = uint64(descKey(scores[i]))<<32 | uint64(i)
		}
		smallest(keys, min(budget, len(keys)))
		for _, k := range keys[:min(budget, len(keys))] {
			chosen[uint32(k)] = true
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

// descKey maps a score to a key whose ascending order is the scores'
// descending order, with NaN after everything.
func descKey(f float32) uint32 {
	if f != f {
		return math.MaxUint32
	}
	u := math.Float32bits(f)
	if u&(1<<31) != 0 {
		u = ^u
	} else {
		u |= 1 << 31
	}
	return ^u - 1 // -1 keeps +Inf below the NaN key
}

// smallest reorders keys so that its first k entries are its k smallest
// (in no particular order): quickselect with a median-of-three pivot.
func smallest(keys []uint64, k int) {
	lo, hi := 0, len(keys)-1
	for lo < hi && k > lo && k <= hi {
		mid := lo + (hi-lo)/2
		a, b, c := keys[lo], keys[mid], keys[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for keys[i] < pivot {
				i++
			}
			for keys[j] > pivot {
				j--
			}
			if i <= j {
				keys[i], keys[j] = keys[j], keys[i]
				i++
				j--
			}
		}
		// keys[lo..j] <= pivot <= keys[i..hi]; narrow to the side holding index k.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}
