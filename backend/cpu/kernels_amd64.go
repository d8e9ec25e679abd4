//go:build amd64 && !purego

package cpu

import (
	"golang.org/x/sys/cpu"
)

//go:noescape
func ntKernel6x4AVX512(x *float32, ldx int, w *float32, ldw int, k int, dst *float32, ldd int)

//go:noescape
func ntKernel2x4AVX2(x *float32, ldx int, w *float32, ldw int, k int, dst *float32, ldd int)

//go:noescape
func nnKernel6x32AVX512(a *float32, lda int, b *float32, ldb int, k int, c *float32, ldc int)

//go:noescape
func nnKernel6x64AVX512(a *float32, lda int, b *float32, ldb int, k int, c *float32, ldc int)

//go:noescape
func nnKernel6x16AVX2(a *float32, lda int, b *float32, ldb int, k int, c *float32, ldc int)

//go:noescape
func dot4F32AVX2(x *float32, w *float32, ldw int, k int, out *[4]float32)

//go:noescape
func dot4BF16AVX2(x *float32, w *uint16, ldw int, k int, out *[4]float32)

//go:noescape
func dot4F16AVX2(x *float32, w *uint16, ldw int, k int, out *[4]float32)

//go:noescape
func dot1F32AVX2(x *float32, w *float32, k int) float32

//go:noescape
func dot1BF16AVX2(x *float32, w *uint16, k int) float32

//go:noescape
func dot1F16AVX2(x *float32, w *uint16, k int) float32

//go:noescape
func widenBF16AVX2(dst *float32, src *uint16, n int)

//go:noescape
func widenF16AVX2(dst *float32, src *uint16, n int)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func expScaleSumAVX2(x *float32, n int, scale float32, sub float32) float32

//go:noescape
func expScaleSumAVX512(x *float32, n int, scale float32, sub float32) float32

//go:noescape
func siluMulAVX512(dst *float32, a *float32, b *float32, n int)

//go:noescape
func siluMulAVX2(dst *float32, a *float32, b *float32, n int)

var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasAVX

var hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL &&
	cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512BW

// avx2Kernels uses 256-bit AVX2 and FMA throughout.
var avx2Kernels = &kernels{
	name:        "avx2",
	vec:         8,
	ntRows:      2,
	nt:          ntKernel2x4AVX2,
	nnRows:      6,
	nnCols:      16,
	nn:          nnKernel6x16AVX2,
	dot4F32:     dot4F32AVX2,
	dot4BF16:    dot4BF16AVX2,
	dot4F16:     dot4F16AVX2,
	dot1F32:     dot1F32AVX2,
	dot1BF16:    dot1BF16AVX2,
	dot1F16:     dot1F16AVX2,
	widenBF16:   widenBF16Fast,
	widenF16:    widenF16Fast,
	maxOf:       maxOfFast,
	expScaleSum: expScaleSumFast,
	siluMul:     siluMulFast,
}

// avx512Kernels adds 512-bit matrix and exp kernels to the AVX2 set; the
// memory-bound kernels gain nothing from wider vectors.
var avx512Kernels = func() *kernels {
	k := *avx2Kernels
	k.name = "avx512"
	k.vec = 16
	k.ntRows = 6
	k.nt = ntKernel6x4AVX512
	k.nnCols = 64
	k.nn = nnKernel6x64AVX512
	k.expScaleSum = expScaleSum512
	k.siluMul = siluMul512
	return &k
}()

// kernelSets lists the sets this CPU can run, fastest first; the last is
// always the pure-Go set.
func kernelSets() []*kernels {
	var s []*kernels
	if hasAVX512 {
		s = append(s, avx512Kernels)
	}
	if hasAVX2 {
		s = append(s, avx2Kernels)
	}
	return append(s, genericKernels)
}

func widenBF16Fast(dst []float32, src []uint16) {
	src = src[:len(dst)]
	v := len(dst) &^ 7
	if v > 0 {
		widenBF16AVX2(&dst[0], &src[0], v)
	}
	widenBF16Go(dst[v:], src[v:])
}

func widenF16Fast(dst []float32, src []uint16) {
	src = src[:len(dst)]
	v := len(dst) &^ 7
	if v > 0 {
		widenF16AVX2(&dst[0], &src[0], v)
	}
	widenF16Go(dst[v:], src[v:])
}

func maxOfFast(x []float32) float32 {
	v := len(x) &^ 7
	if v == 0 {
		return maxOfGo(x)
	}
	m := maxAVX2(&x[0], v)
	for _, e := range x[v:] {
		if e > m {
			m = e
		}
	}
	return m
}

func expScaleSumFast(x []float32, scale, sub float32) float32 {
	v := len(x) &^ 7
	var s float32
	if v > 0 {
		s = expScaleSumAVX2(&x[0], v, scale, sub)
	}
	return s + expScaleSumGo(x[v:], scale, sub)
}

func siluMulFast(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	v := len(dst) &^ 7
	if v > 0 {
		siluMulAVX2(&dst[0], &a[0], &b[0], v)
	}
	siluMulGo(dst[v:], a[v:], b[v:])
}

func expScaleSum512(x []float32, scale, sub float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return expScaleSumAVX512(&x[0], len(x), scale, sub)
}

func siluMul512(dst, a, b []float32) {
	if len(dst) == 0 {
		return
	}
	a, b = a[:len(dst)], b[:len(dst)]
	siluMulAVX512(&dst[0], &a[0], &b[0], len(dst))
}
