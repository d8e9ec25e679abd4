package cpu

import (
	"math/rand/v2"
	"testing"
)

// Kernel throughput on L1-resident operands, one core: the ceiling the
// blocked ops can approach.
func BenchmarkKernelNT(b *testing.B) {
	for _, k := range kernelSets() {
		b.Run(k.name, func(b *testing.B) {
			const kl = 512
			r := rand.New(rand.NewPCG(1, 2))
			x := randFloats(r, k.ntRows*kl)
			w := randFloats(r, 4*kl)
			d := make([]float32, k.ntRows*4)
			for b.Loop() {
				k.nt(&x[0], kl, &w[0], kl, kl, &d[0], 4)
			}
			reportGFLOPs(b, 2*float64(k.ntRows*4*kl))
		})
	}
}

func BenchmarkKernelNN(b *testing.B) {
	for _, k := range kernelSets() {
		b.Run(k.name, func(b *testing.B) {
			const kl = 256
			r := rand.New(rand.NewPCG(1, 2))
			a := randFloats(r, k.nnRows*kl)
			bb := randFloats(r, kl*k.nnCols)
			c := make([]float32, k.nnRows*k.nnCols)
			for b.Loop() {
				k.nn(&a[0], kl, &bb[0], k.nnCols, kl, &c[0], k.nnCols)
			}
			reportGFLOPs(b, 2*float64(k.nnRows*k.nnCols*kl))
		})
	}
}
