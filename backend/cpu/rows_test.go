package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// TestMatMulRowsStandAlone checks the property batched decoding relies
// on: in a product of at most gemvRows rows, every row of the result is
// bit for bit the row a one-row product of that x row gives, whatever the
// other rows hold.
func TestMatMulRowsStandAlone(t *testing.T) {
	for _, k := range kernelSets() {
		b, err := newBackend(backend.Options{Threads: 2}, k)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		r := rand.New(rand.NewPCG(3, 4))
		for _, dt := range []backend.DType{backend.F32, backend.BF16, backend.F16} {
			for _, sh := range []struct{ m, k int }{{37, 61}, {300, 896}, {96, 2500}} {
				w, err := b.RandomWeight(dt, sh.m, sh.k, 7, 0.1)
				if err != nil {
					t.Fatal(err)
				}
				bias, err := b.RandomWeight(dt, 1, sh.m, 8, 0.5)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range []int{2, 4, 9, gemvRows} {
					xs := randFloats(r, n*sh.k)
					got := make([]float32, n*sh.m)
					x, d := b.FromHost(xs, n, sh.k), b.New(n, sh.m)
					b.MatMul(d, x, w, bias)
					b.ToHost(got, d)
					b.Free(x)
					b.Free(d)
					for i := range n {
						want := make([]float32, sh.m)
						x1, d1 := b.FromHost(xs[i*sh.k:(i+1)*sh.k], 1, sh.k), b.New(1, sh.m)
						b.MatMul(d1, x1, w, bias)
						b.ToHost(want, d1)
						b.Free(x1)
						b.Free(d1)
						for c, v := range want {
							if g := got[i*sh.m+c]; math.Float32bits(g) != math.Float32bits(v) {
								t.Fatalf("%s %s %d×%d, %d rows: row %d column %d is %v, alone %v", k.name, dt, sh.m, sh.k, n, i, c, g, v)
							}
						}
					}
				}
				b.FreeWeight(w)
				b.FreeWeight(bias)
			}
		}
	}
}

// BenchmarkGemvRows compares, at a few rows (a batched decode step), the
// row kernel MatMul uses up to gemvRows rows with the blocked GEMM it uses
// beyond, at the Qwen2-0.5B MLP shape.
func BenchmarkGemvRows(b *testing.B) {
	for _, n := range []int{1, 4, 8, 16} {
		for _, path := range []string{"gemv", "gemm"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, path), func(b *testing.B) {
				cb := benchBackend(b)
				wi, err := cb.RandomWeight(backend.BF16, 4864, 896, 1, 0.05)
				if err != nil {
					b.Fatal(err)
				}
				w := asWeight(wi)
				r := rand.New(rand.NewPCG(1, 2))
				x := asTensor(cb.FromHost(randFloats(r, n*896), n, 896))
				d := asTensor(cb.New(n, 4864))
				bias := make([]float32, 4864)
				b.ResetTimer()
				loop(b, 2*float64(n)*4864*896, func() {
					if path == "gemv" {
						cb.gemv(x, []gemvOut{{d, w, bias}})
					} else {
						cb.gemm(d, x, w, bias)
					}
				})
			})
		}
	}
}
