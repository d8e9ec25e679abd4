package backendtest

import (
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// matMulShapes covers single rows (decode), tiles with remainders in every
// dimension, a k longer than one cache block, and decode rows longer than
// 2048 (the CPU reads those from panels, with a remainder in the last),
// over enough rows for tasks of more than 32 of them.
var matMulShapes = []struct{ n, k, m int }{
	{1, 1, 1},
	{1, 17, 3},
	{1, 896, 257},
	{1, 1030, 300},
	{3, 64, 257},
	{2, 77, 36},
	{5, 3, 1},
	{7, 1030, 13},
	{17, 257, 64},
	{64, 64, 129},
	{257, 100, 17},
	{20, 2100, 9},
	{1, 4864, 70},
	{3, 2500, 40},
	{16, 2061, 33},
	{2, 2100, 1100},
}

func (s *suite) testMatMul(t *testing.T) {
	for i, sh := range matMulShapes {
		for _, dt := range dtypes {
			withBias := (i+int(dt))%2 == 0
			view := (i+int(dt))%3 == 0
			what := name("MatMul n=%d k=%d m=%d %s bias %v view %v", sh.n, sh.k, sh.m, dt, withBias, view)
			t.Run(name("%dx%dx%d/%s", sh.n, sh.k, sh.m, dt), func(t *testing.T) {
				s.matMulCase(t, what, sh.n, sh.k, sh.m, dt, withBias, view)
			})
		}
	}
}

func (s *suite) matMulCase(t *testing.T, what string, n, k, m int, dt backend.DType, withBias, view bool) {
	xv := s.normals(n*k, 1)
	x := s.upload(xv, n, k, view)
	defer x.free(s.b)
	w, hw := s.weight(t, dt, m, k, 0.5)
	defer s.b.FreeWeight(w)
	var bias backend.Weight
	var hb *hostWeight
	if withBias {
		// Bias in a different dtype from the weight, as a model may have.
		bdt := dtypes[(int(dt)+1)%len(dtypes)]
		bias, hb = s.weight(t, bdt, 1, m, 1)
		defer s.b.FreeWeight(bias)
	}
	d := s.poisoned(n, m, view)
	defer d.free(s.b)
	s.b.MatMul(d.t, x.t, w, bias)

	ref, mag := make([]float64, n*m), make([]float64, n*m)
	for i := range n {
		for j := range m {
			var acc, abs float64
			for l := range k {
				p := float64(xv[i*k+l]) * hw.vals[j*k+l]
				acc += p
				abs += math.Abs(p)
			}
			if hb != nil {
				acc += hb.vals[j]
				abs += math.Abs(hb.vals[j])
			}
			ref[i*m+j], mag[i*m+j] = acc, abs
		}
	}
	expectTerms(t, what, d.read(t, s.b, what), ref, mag, k+1, s.weightTol(dt))
	x.read(t, s.b, what+" (input x)")
}
