// Package generate turns a model into text: prefill, then sampled or greedy
// decoding with stop conditions, streaming each token as it is chosen.
package generate

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Sampling chooses how the next token is drawn from the logits.
type Sampling struct {
	// Temperature 0 means greedy (argmax, lowest id on ties).
	Temperature float64
	// TopK keeps the k most likely tokens (0: all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches p (0 or 1: all).
	TopP float64
	// Seed seeds the random draws, so equal seeds give equal outputs.
	Seed uint64
}

// sampler draws tokens from logits under one Sampling.
type sampler struct {
	s   Sampling
	rng *rand.Rand
	idx []int
	p   []float64
}

func newSampler(s Sampling) *sampler {
	return &sampler{s: s, rng: rand.New(rand.NewPCG(s.Seed, s.Seed^0x5d7f_3c1a_9e37_79b9))}
}

// Argmax returns the index of the largest logit (the lowest on ties; NaN never wins).
func Argmax(logits []float32) int {
	best, bi := float32(math.Inf(-1)), 0
	for i, v := range logits {
		if v > best {
			best, bi = v, i
		}
	}
	return bi
}

// next chooses a token from logits.
func (sm *sampler) next(logits []float32) int {
	if sm.s.Temperature <= 0 {
		return Argmax(logits)
	}
	n := len(logits)
	if cap(sm.idx) < n {
		sm.idx = make([]int, n)
		sm.p = make([]float64, n)
	}
	idx, p := sm.idx[:n], sm.p[:n]
	for i := range idx {
		idx[i] = i
	}
	// Order by logit, highest first; only the head matters when top-k is set.
	sort.Slice(idx, func(a, b int) bool {
		la, lb := logits[idx[a]], logits[idx[b]]
		if la != lb {
			return la > lb
		}
		return idx[a] < idx[b]
	})
	k := n
	if sm.s.TopK > 0 && sm.s.TopK < k {
		k = sm.s.TopK
	}
	maxL := float64(logits[idx[0]])
	var sum float64
	for i := 0; i < k; i++ {
		p[i] = math.Exp((float64(logits[idx[i]]) - maxL) / sm.s.Temperature)
		sum += p[i]
	}
	if tp := sm.s.TopP; tp > 0 && tp < 1 {
		var acc float64
		for i := 0; i < k; i++ {
			acc += p[i] / sum
			if acc >= tp {
				k = i + 1
				break
			}
		}
		sum = 0
		for i := 0; i < k; i++ {
			sum += p[i]
		}
	}
	r := sm.rng.Float64() * sum
	for i := 0; i < k; i++ {
		r -= p[i]
		if r < 0 {
			return idx[i]
		}
	}
	return idx[k-1]
}

// LogSoftmax returns the log-probabilities of logits, computed in float64.
func LogSoftmax(logits []float32) []float64 {
	maxL := math.Inf(-1)
	for _, v := range logits {
		maxL = math.Max(maxL, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - maxL)
	}
	lse := maxL + math.Log(sum)
	out := make([]float64, len(logits))
	for i, v := range logits {
		out[i] = float64(v) - lse
	}
	return out
}
