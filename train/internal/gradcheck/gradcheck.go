// Package gradcheck holds the check every hand-written backward pass in
// train is held to: central finite differences in float64.
package gradcheck

import (
	"math"
	"testing"
)

// MaxRelErr is the acceptance bound on the relative error between a
// hand-written gradient and central finite differences.
const MaxRelErr = 1e-4

// step is the finite-difference step.
const step = 1e-5

// RelErr is |a−b| / max(|a|, |b|, 1e-6): relative where the values are not
// tiny, absolute (to 1e-10) where they are.
func RelErr(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(math.Max(math.Abs(a), math.Abs(b)), 1e-6)
}

// Check compares grad, the analytic gradient of f with respect to x, with
// central differences of f (which reads x; each element is perturbed in
// place and restored). It fails t at the first element whose relative
// error exceeds MaxRelErr, and logs the worst error otherwise.
func Check(t testing.TB, name string, x, grad []float64, f func() float64) {
	t.Helper()
	worst := 0.0
	for i := range x {
		old := x[i]
		x[i] = old + step
		fp := f()
		x[i] = old - step
		fm := f()
		x[i] = old
		fd := (fp - fm) / (2 * step)
		e := RelErr(grad[i], fd)
		worst = max(worst, e)
		if e > MaxRelErr {
			t.Fatalf("%s[%d]: analytic %.10g, finite difference %.10g (rel err %.2g)", name, i, grad[i], fd, e)
		}
	}
	t.Logf("%s: %d elements, worst rel err %.2g", name, len(x), worst)
}
