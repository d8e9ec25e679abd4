package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/sdtp/sdtp/prune"
)

// Target says how a token's saliency π̂ turns into the importance the
// modules learn to rank (higher: keep).
type Target string

// The importance rules. π̂ ≈ T(x) − T(x with the token's hidden state
// zeroed) to first order, so −π̂ is the loss increase that removing the
// token causes; |π̂| ranks by the size of the effect either way.
const (
	TargetAbs    Target = "abs"    // |π̂|
	TargetNeg    Target = "neg"    // −π̂
	TargetSigned Target = "signed" // π̂
)

// ParseTarget checks a target name.
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case TargetAbs, TargetNeg, TargetSigned:
		return t, nil
	}
	return "", fmt.Errorf("saliency target %q: want abs, neg or signed", s)
}

// Importance applies the rule to one saliency value.
func (t Target) Importance(v float64) float64 {
	switch t {
	case TargetNeg:
		return -v
	case TargetSigned:
		return v
	}
	return math.Abs(v)
}

// free returns the positions of an n-token text that pruning may drop.
func free(n int) []int {
	var u []int
	for j := 0; j < n; j++ {
		if !prune.IsProtected(j, n) {
			u = append(u, j)
		}
	}
	return u
}

// mseLoss returns L_mse over the unprotected tokens U: the mean of
// (c_j − t_j)² with c the scores centred over U and t the compressed
// importance standardised over U (zero mean, unit variance), and adds
// g·∂L/∂score to dscore. The importance v is compressed as
// asinh(v / median_U |v|), which keeps its order but tames the few tokens
// whose saliency is orders of magnitude above the rest (their squared
// error would otherwise drown everyone else's). Centring leaves the
// scores' offset to the keep-ratio loss.
func mseLoss(dscore, scores, imp []float64, n int, g float64) float64 {
	u := free(n)
	if len(u) < 2 {
		return 0
	}
	m := float64(len(u))
	t := compress(imp, u)
	var ms, mt, vt float64
	for k, j := range u {
		ms += scores[j]
		mt += t[k]
	}
	ms /= m
	mt /= m
	for _, v := range t {
		vt += (v - mt) * (v - mt)
	}
	sd := math.Sqrt(vt / m)
	if sd == 0 {
		sd = 1
	}
	r := make([]float64, len(u))
	var loss, mr float64
	for k, j := range u {
		r[k] = scores[j] - ms - (t[k]-mt)/sd
		loss += r[k] * r[k]
		mr += r[k]
	}
	mr /= m
	for k, j := range u {
		dscore[j] += g * 2 / m * (r[k] - mr)
	}
	return loss / m
}

// compress returns asinh(imp_j / median |imp|) for the tokens u.
func compress(imp []float64, u []int) []float64 {
	abs := make([]float64, len(u))
	for k, j := range u {
		abs[k] = math.Abs(imp[j])
	}
	sort.Float64s(abs)
	med := abs[len(abs)/2]
	if len(abs)%2 == 0 {
		med = (abs[len(abs)/2-1] + abs[len(abs)/2]) / 2
	}
	if med == 0 {
		med = 1
	}
	out := make([]float64, len(u))
	for k, j := range u {
		out[k] = math.Asinh(imp[j] / med)
	}
	return out
}

// rankLoss returns L_rank over the unprotected tokens: the mean over pairs
// (i, j) with imp_i > imp_j of log(1 + exp(−(s_i − s_j))), and adds
// g·∂L/∂score to dscore. Every pair is used when there are at most
// maxPairs, otherwise maxPairs pairs drawn from rng.
func rankLoss(dscore, scores, imp []float64, n, maxPairs int, rng *rand.Rand, g float64) float64 {
	u := free(n)
	type pair struct{ hi, lo int }
	var pairs []pair
	add := func(a, b int) {
		switch {
		case imp[a] > imp[b]:
			pairs = append(pairs, pair{a, b})
		case imp[b] > imp[a]:
			pairs = append(pairs, pair{b, a})
		}
	}
	if total := len(u) * (len(u) - 1) / 2; total <= maxPairs {
		for x := range u {
			for y := x + 1; y < len(u); y++ {
				add(u[x], u[y])
			}
		}
	} else {
		for range maxPairs {
			x := rng.IntN(len(u))
			y := rng.IntN(len(u) - 1)
			if y >= x {
				y++
			}
			add(u[x], u[y])
		}
	}
	if len(pairs) == 0 {
		return 0
	}
	var loss float64
	w := g / float64(len(pairs))
	for _, p := range pairs {
		z := scores[p.hi] - scores[p.lo]
		loss += softplus(-z)
		s := sigmoid(-z) // ∂softplus(−z)/∂z = −σ(−z)
		dscore[p.hi] -= w * s
		dscore[p.lo] += w * s
	}
	return loss / float64(len(pairs))
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
