package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// simdSets returns the kernel sets other than the pure-Go one; the tests
// below compare each with it.
func simdSets(t *testing.T) []*kernels {
	s := kernelSets()
	s = s[:len(s)-1]
	if len(s) == 0 {
		t.Skip("no SIMD kernel set on this CPU")
	}
	return s
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// closeTo reports whether got is within tol·scale of want.
func closeTo(got, want, scale, tol float64) bool { return math.Abs(got-want) <= tol*scale }

func TestWidenAllPatterns(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	for _, k := range simdSets(t) {
		for _, tc := range []struct {
			name       string
			simd, ref  func([]float32, []uint16)
			widenExact func(uint16) float32
		}{
			{"bf16", k.widenBF16, widenBF16Go, backend.BF16ToF32},
			{"f16", k.widenF16, widenF16Go, backend.F16ToF32},
		} {
			got, want := make([]float32, len(src)-3), make([]float32, len(src)-3)
			tc.simd(got, src[3:]) // an odd length and offset: vector body and tail
			tc.ref(want, src[3:])
			for i := range got {
				w := tc.widenExact(src[3+i])
				nanOK := math.IsNaN(float64(got[i])) && math.IsNaN(float64(w)) && math.IsNaN(float64(want[i]))
				if !nanOK && (math.Float32bits(got[i]) != math.Float32bits(w) || math.Float32bits(want[i]) != math.Float32bits(w)) {
					t.Fatalf("%s %s widen(%#04x) = %v (go %v), want %v", k.name, tc.name, src[3+i], got[i], want[i], w)
				}
			}
		}
	}
}

func TestNTKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range simdSets(t) {
		for _, kl := range []int{0, k.vec, 3 * k.vec, 64 * k.vec} {
			ldx, ldw, ldd := kl+5, kl+3, 11
			x := randFloats(r, k.ntRows*ldx)
			w := randFloats(r, 4*ldw)
			got := randFloats(r, k.ntRows*ldd)
			want := append([]float32(nil), got...)
			k.nt(&x[0], ldx, &w[0], ldw, kl, &got[0], ldd)
			for row := range k.ntRows {
				for c := range 4 {
					want[row*ldd+c] += dotGo(x[row*ldx:row*ldx+kl], w[c*ldw:c*ldw+kl])
				}
			}
			for i := range got {
				if !closeTo(float64(got[i]), float64(want[i]), math.Sqrt(float64(kl))+1, 1e-5) {
					t.Fatalf("%s nt k=%d: element %d = %v, want %v", k.name, kl, i, got[i], want[i])
				}
			}
		}
	}
}

func TestNNKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range simdSets(t) {
		for _, kl := range []int{0, 1, 7, 300} {
			lda, ldb, ldc := kl+2, k.nnCols+9, k.nnCols+5
			a := randFloats(r, k.nnRows*lda)
			b := randFloats(r, max(kl, 1)*ldb)
			got := randFloats(r, k.nnRows*ldc)
			want := append([]float32(nil), got...)
			k.nn(&a[0], lda, &b[0], ldb, kl, &got[0], ldc)
			for row := range k.nnRows {
				for j := range k.nnCols {
					var s float32
					for i := range kl {
						s += a[row*lda+i] * b[i*ldb+j]
					}
					want[row*ldc+j] += s
				}
			}
			for i := range got {
				if !closeTo(float64(got[i]), float64(want[i]), math.Sqrt(float64(kl))+1, 1e-5) {
					t.Fatalf("%s nn k=%d: element %d = %v, want %v", k.name, kl, i, got[i], want[i])
				}
			}
		}
	}
}

func TestDot4Kernels(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range simdSets(t) {
		for _, kl := range []int{0, k.vec, 2 * k.vec, 23 * k.vec} {
			ldw := kl + 8
			x := randFloats(r, kl+1)
			wf := randFloats(r, 4*ldw)
			wb, wh := make([]uint16, len(wf)), make([]uint16, len(wf))
			for i, v := range wf {
				wb[i], wh[i] = backend.F32ToBF16(v), backend.F32ToF16(v)
			}
			var got, want [4]float32
			for _, tc := range []struct {
				name      string
				simd, ref func(*[4]float32)
			}{
				{"f32", func(o *[4]float32) { k.dot4F32(&x[0], &wf[0], ldw, kl, o) }, func(o *[4]float32) { dot4F32Go(&x[0], &wf[0], ldw, kl, o) }},
				{"bf16", func(o *[4]float32) { k.dot4BF16(&x[0], &wb[0], ldw, kl, o) }, func(o *[4]float32) { dot4BF16Go(&x[0], &wb[0], ldw, kl, o) }},
				{"f16", func(o *[4]float32) { k.dot4F16(&x[0], &wh[0], ldw, kl, o) }, func(o *[4]float32) { dot4F16Go(&x[0], &wh[0], ldw, kl, o) }},
			} {
				got, want = [4]float32{9, 9, 9, 9}, [4]float32{}
				tc.simd(&got)
				tc.ref(&want)
				for c := range 4 {
					if !closeTo(float64(got[c]), float64(want[c]), math.Sqrt(float64(kl))+1, 1e-5) {
						t.Fatalf("%s dot4 %s k=%d: row %d = %v, want %v", k.name, tc.name, kl, c, got[c], want[c])
					}
				}
			}
		}
	}
}

func TestDot1Kernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range simdSets(t) {
		// 0, the tail alone, the 32-element body alone and both.
		for _, kl := range []int{0, k.vec, 32, 23 * k.vec, 40 * k.vec} {
			x, wf := randFloats(r, kl+1), randFloats(r, kl+1)
			wb, wh := make([]uint16, len(wf)), make([]uint16, len(wf))
			for i, v := range wf {
				wb[i], wh[i] = backend.F32ToBF16(v), backend.F32ToF16(v)
			}
			for _, tc := range []struct {
				name      string
				got, want float32
			}{
				{"f32", k.dot1F32(&x[0], &wf[0], kl), dot1F32Go(&x[0], &wf[0], kl)},
				{"bf16", k.dot1BF16(&x[0], &wb[0], kl), dot1BF16Go(&x[0], &wb[0], kl)},
				{"f16", k.dot1F16(&x[0], &wh[0], kl), dot1F16Go(&x[0], &wh[0], kl)},
			} {
				if !closeTo(float64(tc.got), float64(tc.want), math.Sqrt(float64(kl))+1, 1e-5) {
					t.Fatalf("%s dot1 %s k=%d = %v, want %v", k.name, tc.name, kl, tc.got, tc.want)
				}
			}
		}
	}
}

func TestExpKernels(t *testing.T) {
	// Inputs across the whole range exp is finite on, and beyond.
	var in []float32
	for v := -100.0; v <= 90; v += 0.37 {
		in = append(in, float32(v))
	}
	in = append(in, 0, -0.0, 1e-8, -1e-8, 88.7, -87.3)
	for _, k := range simdSets(t) {
		got := append([]float32(nil), in...)
		k.expScaleSum(got, 1, 0)
		for i, v := range in {
			want := math.Exp(float64(v))
			switch {
			case v > 88.3:
				continue // clamped: only finiteness matters
			case want < 1.2e-38:
				if got[i] > 1.2e-38 {
					t.Errorf("%s exp(%v) = %v, want at most 1.2e-38", k.name, v, got[i])
				}
			case !closeTo(float64(got[i]), want, want, 4e-7):
				t.Errorf("%s exp(%v) = %v, want %v", k.name, v, got[i], want)
			}
		}
		// Scale and subtraction: exp(x·s − m).
		x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
		e := append([]float32(nil), x...)
		s := k.expScaleSum(e, 0.5, 5.5)
		var ws float64
		for i, v := range x {
			w := math.Exp(float64(v)*0.5 - 5.5)
			ws += w
			if !closeTo(float64(e[i]), w, w, 4e-7) {
				t.Errorf("%s exp(%v·0.5−5.5) = %v, want %v", k.name, v, e[i], w)
			}
		}
		if !closeTo(float64(s), ws, ws, 1e-6) {
			t.Errorf("%s expScaleSum = %v, want %v", k.name, s, ws)
		}
		// NaN propagates.
		nan := []float32{1, 2, 3, 4, 5, 6, 7, float32(math.NaN())}
		k.expScaleSum(nan, 1, 0)
		if !math.IsNaN(float64(nan[7])) {
			t.Errorf("%s exp(NaN) = %v", k.name, nan[7])
		}
	}
}

func TestSiLUMulAndMax(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range simdSets(t) {
		for _, n := range []int{1, 8, 13, 1000} {
			a, b := randFloats(r, n), randFloats(r, n)
			for i := range a {
				a[i] *= 20
			}
			got, want := make([]float32, n), make([]float32, n)
			k.siluMul(got, a, b)
			siluMulGo(want, a, b)
			for i := range got {
				if !closeTo(float64(got[i]), float64(want[i]), math.Abs(float64(want[i]))+1e-30, 1e-6) {
					t.Fatalf("%s silu(%v)·%v = %v, want %v", k.name, a[i], b[i], got[i], want[i])
				}
			}
			if m, w := k.maxOf(a), maxOfGo(a); m != w {
				t.Fatalf("%s max of %d = %v, want %v", k.name, n, m, w)
			}
		}
	}
}
