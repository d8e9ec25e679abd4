package nn

import "math"

// RMSNorm sets y[i] = x[i] / sqrt(mean(x[i]²) + eps) ⊙ w for each of the n
// rows of width d.
func RMSNorm(y, x, w []float64, n, d int, eps float64) {
	for i := 0; i < n; i++ {
		xi := x[i*d : (i+1)*d]
		yi := y[i*d : (i+1)*d]
		r := 1 / math.Sqrt(dot(xi, xi)/float64(d)+eps)
		for j, v := range xi {
			yi[j] = v * r * w[j]
		}
	}
}

// RMSNormBack adds to dx the gradient of RMSNorm with respect to x, given
// dy (the weight w is frozen). With r = (mean(x²)+eps)^-½:
// dx_j = r·w_j·dy_j − r³/d · x_j · Σ_k dy_k·w_k·x_k.
func RMSNormBack(dx, dy, x, w []float64, n, d int, eps float64) {
	for i := 0; i < n; i++ {
		xi := x[i*d : (i+1)*d]
		dyi := dy[i*d : (i+1)*d]
		dxi := dx[i*d : (i+1)*d]
		r := 1 / math.Sqrt(dot(xi, xi)/float64(d)+eps)
		var s float64
		for k, v := range xi {
			s += dyi[k] * w[k] * v
		}
		c := r * r * r / float64(d) * s
		for j, v := range xi {
			dxi[j] += r*w[j]*dyi[j] - c*v
		}
	}
}
