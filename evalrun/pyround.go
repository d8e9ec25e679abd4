package evalrun

import (
	"math"
	"strconv"
)

// PyRound2 is Python's round(x, 2) on a float, as both suites' scorers
// round their scores: the double's exact decimal value rounded to two
// places, exact ties to even.
func PyRound2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 2, 64), 64)
	if err != nil {
		return math.NaN()
	}
	return r
}
