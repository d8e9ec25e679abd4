package nn

// Linear sets y = x·wᵀ + b: x is n×k, w is m×k (row-major, one output per
// row), b is nil or m long, y is n×m.
func Linear(y, x, w, b []float64, n, k, m int) {
	for i := 0; i < n; i++ {
		xi := x[i*k : (i+1)*k]
		yi := y[i*m : (i+1)*m]
		for j := 0; j < m; j++ {
			s := dot(xi, w[j*k:(j+1)*k])
			if b != nil {
				s += b[j]
			}
			yi[j] = s
		}
	}
}

// LinearBackInput adds dy·w to dx: the gradient of Linear with respect to
// its input (dy is n×m, w m×k, dx n×k).
func LinearBackInput(dx, dy, w []float64, n, k, m int) {
	for i := 0; i < n; i++ {
		dxi := dx[i*k : (i+1)*k]
		dyi := dy[i*m : (i+1)*m]
		for j, g := range dyi {
			if g != 0 {
				axpy(dxi, g, w[j*k:(j+1)*k])
			}
		}
	}
}

// LinearBackParams adds dyᵀ·x to dw (m×k) and the column sums of dy to db
// (m long; skipped when db is nil): the gradients of Linear with respect to
// its weight and bias.
func LinearBackParams(dw, db, dy, x []float64, n, k, m int) {
	for i := 0; i < n; i++ {
		xi := x[i*k : (i+1)*k]
		dyi := dy[i*m : (i+1)*m]
		for j, g := range dyi {
			if g != 0 {
				axpy(dw[j*k:(j+1)*k], g, xi)
			}
			if db != nil {
				db[j] += g
			}
		}
	}
}

// dot returns Σ a[i]·b[i] over len(a) elements, with four accumulators.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy adds alpha·x to y over len(y) elements.
func axpy(y []float64, alpha float64, x []float64) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		y[i] += alpha * x[i]
		y[i+1] += alpha * x[i+1]
		y[i+2] += alpha * x[i+2]
		y[i+3] += alpha * x[i+3]
	}
	for ; i < len(y); i++ {
		y[i] += alpha * x[i]
	}
}

// Dot returns the inner product of a and b (len(b) >= len(a)).
func Dot(a, b []float64) float64 { return dot(a, b) }
