package train

import "math"

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter): with
// bias-corrected moments m̂, v̂ of the gradient g,
// θ ← θ − lr·(m̂/(√v̂ + ε) + wd·θ).
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	// M and V are the first and second moment estimates; Step counts the
	// updates made so far.
	M, V []float64
	Step int
}

// NewAdamW makes an optimiser for n parameters with the usual betas
// (0.9, 0.999) and ε = 1e-8.
func NewAdamW(n int, weightDecay float64) *AdamW {
	return &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, M: make([]float64, n), V: make([]float64, n)}
}

// Update applies one step with learning rate lr to params given grad.
func (a *AdamW) Update(params, grad []float64, lr float64) {
	a.Step++
	c1 := 1 - math.Pow(a.Beta1, float64(a.Step))
	c2 := 1 - math.Pow(a.Beta2, float64(a.Step))
	for i, g := range grad {
		a.M[i] = a.Beta1*a.M[i] + (1-a.Beta1)*g
		a.V[i] = a.Beta2*a.V[i] + (1-a.Beta2)*g*g
		params[i] -= lr * (a.M[i]/c1/(math.Sqrt(a.V[i]/c2)+a.Eps) + a.WeightDecay*params[i])
	}
}

// LearningRate is the rate at step (0-based) of total: linear warm-up over
// the first warmup steps, then cosine decay from lr to lr/10.
func LearningRate(lr float64, step, total, warmup int) float64 {
	if step < warmup {
		return lr * float64(step+1) / float64(warmup)
	}
	if total <= warmup+1 {
		return lr
	}
	p := float64(step-warmup) / float64(total-warmup-1)
	return lr * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*p)))
}
