package nn

import "math"

// SiLUMul sets y = silu(a) ⊙ b with silu(a) = a·σ(a).
func SiLUMul(y, a, b []float64) {
	for i, v := range a {
		y[i] = v * sigmoid(v) * b[i]
	}
}

// SiLUMulBack adds to da and db the gradients of SiLUMul given dy.
func SiLUMulBack(da, db, dy, a, b []float64) {
	for i, v := range a {
		s := sigmoid(v)
		da[i] += dy[i] * b[i] * s * (1 + v*(1-s))
		db[i] += dy[i] * v * s
	}
}

// GELU sets y = x·Φ(x), the exact (erf) form.
func GELU(y, x []float64) {
	for i, v := range x {
		y[i] = v * 0.5 * (1 + math.Erf(v/math.Sqrt2))
	}
}

// GELUBack adds to dx the gradient of GELU given dy: Φ(x) + x·φ(x).
func GELUBack(dx, dy, x []float64) {
	for i, v := range x {
		cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
		pdf := math.Exp(-0.5*v*v) / math.Sqrt(2*math.Pi)
		dx[i] += dy[i] * (cdf + v*pdf)
	}
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Sigmoid returns 1/(1+e^-x), computed without overflow.
func Sigmoid(x float64) float64 { return sigmoid(x) }
