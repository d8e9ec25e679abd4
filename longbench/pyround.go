package longbench

import (
	"math"

	"github.com/sdtp/sdtp/evalrun"
)

// pyRound2 is Python's round(x, 2) on a float (evalrun.PyRound2).
func pyRound2(x float64) float64 { return evalrun.PyRound2(x) }

// npMean is numpy.mean of a float64 list (numpy 1.x): 0.0 plus numpy's
// pairwise sum, divided by the count; NaN for an empty list.
func npMean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return (0.0 + pairwiseSum(xs)) / float64(len(xs))
}

// pairwiseSum is numpy's pairwise_sum for doubles: plain summation below 8
// items, eight interleaved accumulators up to 128, halving above.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range a {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
}
