package nn

import "math"

// LogSoftmax sets dst to the log-softmax of x (one row).
func LogSoftmax(dst, x []float64) {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, v)
	}
	var z float64
	for _, v := range x {
		z += math.Exp(v - mx)
	}
	lz := mx + math.Log(z)
	for i, v := range x {
		dst[i] = v - lz
	}
}

// CrossEntropy returns −log softmax(logits)[target] for one row and, when
// dlogits is not nil, adds scale·(softmax(logits) − onehot(target)) to it:
// the gradient of scale times the loss.
func CrossEntropy(dlogits, logits []float64, target int, scale float64) float64 {
	lp := make([]float64, len(logits))
	LogSoftmax(lp, logits)
	if dlogits != nil {
		for i, v := range lp {
			dlogits[i] += scale * math.Exp(v)
		}
		dlogits[target] -= scale
	}
	return -lp[target]
}

// KL returns KL(p‖q) = Σ p·(log p − log q) for two rows of log-probabilities.
func KL(logp, logq []float64) float64 {
	var s float64
	for i, lp := range logp {
		if p := math.Exp(lp); p > 0 {
			s += p * (lp - logq[i])
		}
	}
	return s
}

// Argmax returns the index of the largest value (the lowest index on ties).
func Argmax(x []float64) int {
	bi := 0
	for i, v := range x {
		if v > x[bi] {
			bi = i
		}
	}
	return bi
}
