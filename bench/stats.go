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

// MedianConfidence is the confidence MedianInterval's interval reaches
// once there are enough samples.
const MedianConfidence = 0.90

// MedianInterval returns a distribution-free confidence interval for the
// median of the population the samples came from: the k-th smallest and
// the k-th largest sample, with k the largest for which the interval holds
// the median with probability at least MedianConfidence (each sample falls
// below the median with probability ½, so the count below is binomial).
// It assumes nothing about the shape of the timings, whose disturbances
// on a shared machine are one-sided and heavy-tailed. Below 8 samples no
// k above 1 reaches 90%, and the interval is the samples' range.
func (s Stat) MedianInterval() (lo, hi float64) {
	n := len(s.Samples)
	if n == 0 {
		return s.Min, s.Max
	}
	x := slices.Clone(s.Samples)
	slices.Sort(x)
	k := 1
	for 2*(k+1) <= n && medianCoverage(n, k+1) >= MedianConfidence {
		k++
	}
	return x[k-1], x[n-k]
}

// medianCoverage is the probability that the k-th smallest and k-th
// largest of n samples enclose the median: 1 − 2·P(Binomial(n, ½) < k).
func medianCoverage(n, k int) float64 {
	tail := 0.0
	for i := range k {
		lc, _ := math.Lgamma(float64(n + 1))
		li, _ := math.Lgamma(float64(i + 1))
		lr, _ := math.Lgamma(float64(n - i + 1))
		tail += math.Exp(lc - li - lr - float64(n)*math.Ln2)
	}
	return 1 - 2*tail
}
