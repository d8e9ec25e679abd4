package cpu

import (
	"math"
	"unsafe"
)

// kernels is one implementation of the inner loops. Every set computes the
// same functions; they differ in speed and in float rounding order only.
//
// The pointer kernels read and write exactly the elements their contract
// names; callers guarantee the extents. Lengths called k must be multiples
// of vec.
type kernels struct {
	name string
	// vec is the granule of the k argument of nt and the dot4 kernels.
	vec int

	// ntRows is the number of x rows nt multiplies with 4 w rows.
	ntRows int
	// nt adds to dst[r*ldd+c] the dot product of x row r and w row c over k
	// elements, for r < ntRows, c < 4 (x·wᵀ with both operands along k).
	nt func(x *float32, ldx int, w *float32, ldw int, k int, dst *float32, ldd int)

	// nnRows×nnCols is the tile nn computes.
	nnRows, nnCols int
	// nn adds to c[r*ldc+j] the sum over i < k of a[r*lda+i]·b[i*ldb+j], for
	// r < nnRows, j < nnCols (a·b with b along the output).
	nn func(a *float32, lda int, b *float32, ldb int, k int, c *float32, ldc int)

	// dot4* set out[c] to the dot product of x and w row c (rows ldw
	// elements apart) over k elements, for c < 4.
	dot4F32  func(x, w *float32, ldw, k int, out *[4]float32)
	dot4BF16 func(x *float32, w *uint16, ldw, k int, out *[4]float32)
	dot4F16  func(x *float32, w *uint16, ldw, k int, out *[4]float32)
	// dot1* return the dot product of x and one weight row over k
	// elements; reading the row front to back, they suit short rows,
	// whose four-row streams the hardware prefetcher follows poorly.
	dot1F32  func(x, w *float32, k int) float32
	dot1BF16 func(x *float32, w *uint16, k int) float32
	dot1F16  func(x *float32, w *uint16, k int) float32

	// widenBF16 and widenF16 convert src to float32 into dst (same length).
	widenBF16, widenF16 func(dst []float32, src []uint16)
	// maxOf returns the largest element of a non-empty x.
	maxOf func(x []float32) float32
	// expScaleSum sets x[i] = exp(x[i]·scale − sub) and returns the sum.
	expScaleSum func(x []float32, scale, sub float32) float32
	// siluMul sets dst[i] = silu(a[i])·b[i].
	siluMul func(dst, a, b []float32)
}

// genericKernels is the pure-Go set, used where no SIMD set applies and as
// the reference the SIMD sets are tested against.
var genericKernels = &kernels{
	name:        "go",
	vec:         1,
	ntRows:      2,
	nt:          ntGo,
	nnRows:      6,
	nnCols:      8,
	nn:          nnGo,
	dot4F32:     dot4F32Go,
	dot4BF16:    dot4BF16Go,
	dot4F16:     dot4F16Go,
	dot1F32:     dot1F32Go,
	dot1BF16:    dot1BF16Go,
	dot1F16:     dot1F16Go,
	widenBF16:   widenBF16Go,
	widenF16:    widenF16Go,
	maxOf:       maxOfGo,
	expScaleSum: expScaleSumGo,
	siluMul:     siluMulGo,
}

func floats(p *float32, n int) []float32 { return unsafe.Slice(p, n) }

func ntGo(x *float32, ldx int, w *float32, ldw int, k int, dst *float32, ldd int) {
	const rows = 2
	xs := floats(x, (rows-1)*ldx+k)
	ws := floats(w, 3*ldw+k)
	ds := floats(dst, (rows-1)*ldd+4)
	for r := range rows {
		xr := xs[r*ldx : r*ldx+k]
		var s [4]float32
		for c := range 4 {
			s[c] = dotGo(xr, ws[c*ldw:c*ldw+k])
		}
		for c := range 4 {
			ds[r*ldd+c] += s[c]
		}
	}
}

func nnGo(a *float32, lda int, b *float32, ldb int, k int, c *float32, ldc int) {
	const rows, cols = 6, 8
	if k == 0 {
		return
	}
	as := floats(a, (rows-1)*lda+k)
	bs := floats(b, (k-1)*ldb+cols)
	cs := floats(c, (rows-1)*ldc+cols)
	for r := range rows {
		var acc [cols]float32
		for i := range k {
			ai := as[r*lda+i]
			bi := bs[i*ldb : i*ldb+cols]
			for j := range acc {
				acc[j] += ai * bi[j]
			}
		}
		cr := cs[r*ldc : r*ldc+cols]
		for j := range acc {
			cr[j] += acc[j]
		}
	}
}

// dotGo returns the dot product of x and w (same length), in four
// independent partial sums.
func dotGo(x, w []float32) float32 {
	w = w[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * w[i]
		s1 += x[i+1] * w[i+1]
		s2 += x[i+2] * w[i+2]
		s3 += x[i+3] * w[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * w[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dot4F32Go(x, w *float32, ldw, k int, out *[4]float32) {
	xs := floats(x, k)
	ws := floats(w, 3*ldw+k)
	for c := range 4 {
		out[c] = dotGo(xs, ws[c*ldw:c*ldw+k])
	}
}

func dot4U16Go(x *float32, w *uint16, ldw, k int, out *[4]float32, widen func(uint16) float32) {
	xs := floats(x, k)
	ws := unsafe.Slice(w, 3*ldw+k)
	for c := range 4 {
		wr := ws[c*ldw : c*ldw+k]
		var s0, s1 float32
		i := 0
		for ; i+2 <= k; i += 2 {
			s0 += xs[i] * widen(wr[i])
			s1 += xs[i+1] * widen(wr[i+1])
		}
		if i < k {
			s0 += xs[i] * widen(wr[i])
		}
		out[c] = s0 + s1
	}
}

func dot4BF16Go(x *float32, w *uint16, ldw, k int, out *[4]float32) {
	dot4U16Go(x, w, ldw, k, out, bf16)
}

func dot4F16Go(x *float32, w *uint16, ldw, k int, out *[4]float32) {
	dot4U16Go(x, w, ldw, k, out, f16)
}

func dot1F32Go(x, w *float32, k int) float32 { return dotGo(floats(x, k), floats(w, k)) }

func dot1BF16Go(x *float32, w *uint16, k int) float32 {
	var out [4]float32
	dot4U16Go(x, w, 0, k, &out, bf16)
	return out[0]
}

func dot1F16Go(x *float32, w *uint16, k int) float32 {
	var out [4]float32
	dot4U16Go(x, w, 0, k, &out, f16)
	return out[0]
}

// bf16 widens a bfloat16 bit pattern (inlined by the compiler).
func bf16(u uint16) float32 { return math.Float32frombits(uint32(u) << 16) }

// f16 widens an IEEE binary16 bit pattern.
func f16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		// zero or subnormal: man·2⁻²⁴, exact in float32
		return math.Float32frombits(sign | math.Float32bits(float32(man)*(1.0/(1<<24))))
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

func widenBF16Go(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, u := range src {
		dst[i] = bf16(u)
	}
}

func widenF16Go(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, u := range src {
		dst[i] = f16(u)
	}
}

func maxOfGo(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

func expScaleSumGo(x []float32, scale, sub float32) float32 {
	var s float32
	for i, v := range x {
		e := float32(math.Exp(float64(v*scale - sub)))
		x[i] = e
		s += e
	}
	return s
}

func siluMulGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = silu(a[i]) * b[i]
	}
}

func silu(v float32) float32 { return v / (1 + float32(math.Exp(float64(-v)))) }

// bestKernels returns the fastest set this CPU runs.
func bestKernels() *kernels { return kernelSets()[0] }
