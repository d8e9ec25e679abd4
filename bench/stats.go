package bench

import (
	"math"
	"slices"
)

// NewStat summarises samples: median (mean of the middle two for an even
// count), extremes, mean and sample standard deviation (0 for one sample).
func NewStat(samples []float64) Stat {
	if len(samples) == 0 {
		return Stat{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	mean := sum / float64(n)
	var sd float64
	if n > 1 {
		var ss float64
		for _, v := range s {
			ss += (v - mean) * (v - mean)
		}
		sd = math.Sqrt(ss / float64(n-1))
	}
	return Stat{Median: med, Min: s[0], Max: s[n-1], Mean: mean, StdDev: sd, Samples: slices.Clone(samples)}
}

// Spread is half the range relative to the median (0.05: ±5%), the
// figure reports print next to a median.
func (s Stat) Spread() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / 2 / s.Median
}
