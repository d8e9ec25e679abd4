package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/sdtp/sdtp/backend"
)

// Benchmarks at Qwen2-0.5B shapes (d 896, ffn 4864, 14 query heads, 2
// key/value heads of 64). Each reports GFLOP/s: 2·n·m·k for MatMul, and
// for Attention 4·HeadDim per (query head, attended key) pair, the rule
// of backend/count.

// benchBackend opens a backend with one worker per GOMAXPROCS, so that
// `go test -bench . -cpu 1,2` measures one core and two.
func benchBackend(b *testing.B) *Backend {
	cb, err := New(backend.Options{Threads: runtime.GOMAXPROCS(0)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cb.Close() })
	return cb
}

func BenchmarkMatMul(b *testing.B) {
	shapes := []struct {
		name string
		m, k int
	}{
		{"896x896", 896, 896},
		{"4864x896", 4864, 896},
		{"896x4864", 896, 4864},
	}
	for _, dt := range []backend.DType{backend.F32, backend.BF16} {
		for _, n := range []int{1, 512} {
			for _, sh := range shapes {
				b.Run(fmt.Sprintf("%s/n=%d/%s", dt, n, sh.name), func(b *testing.B) {
					cb := benchBackend(b)
					w, err := cb.RandomWeight(dt, sh.m, sh.k, 1, 0.05)
					if err != nil {
						b.Fatal(err)
					}
					r := rand.New(rand.NewPCG(1, 2))
					x := cb.FromHost(randFloats(r, n*sh.k), n, sh.k)
					d := cb.New(n, sh.m)
					b.ResetTimer()
					loop(b, 2*float64(n)*float64(sh.m)*float64(sh.k), func() { cb.MatMul(d, x, w, nil) })
				})
			}
		}
	}
}

// BenchmarkAttention also times AttentionMass on the same operands
// (nq=…/nk=…/mass), at 2·HeadDim per pair (one q·k product): what
// tracking attention for H2O adds to a prefill or a decode step.
func BenchmarkAttention(b *testing.B) {
	s := backend.AttentionShape{Heads: 14, KVHeads: 2, HeadDim: 64, Scale: 0.125}
	for _, tc := range []struct{ nq, nk int }{{2048, 2048}, {512, 512}, {1, 2048}} {
		for _, mass := range []bool{false, true} {
			name := fmt.Sprintf("nq=%d/nk=%d", tc.nq, tc.nk)
			if mass {
				name += "/mass"
			}
			b.Run(name, func(b *testing.B) {
				cb := benchBackend(b)
				r := rand.New(rand.NewPCG(3, 4))
				q := cb.FromHost(randFloats(r, tc.nq*14*64), tc.nq, 14*64)
				k := cb.FromHost(randFloats(r, tc.nk*2*64), tc.nk, 2*64)
				v := cb.FromHost(randFloats(r, tc.nk*2*64), tc.nk, 2*64)
				d, m := cb.New(tc.nq, 14*64), cb.New(tc.nk, 1)
				// Causal pairs: query i sees nk-nq+i+1 keys.
				pairs := float64(tc.nq)*float64(tc.nk-tc.nq+1) + float64(tc.nq)*float64(tc.nq-1)/2
				b.ResetTimer()
				if mass {
					loop(b, pairs*float64(s.Heads)*2*float64(s.HeadDim), func() { cb.AttentionMass(m, q, k, s) })
					return
				}
				loop(b, pairs*float64(s.Heads)*4*float64(s.HeadDim), func() { cb.Attention(d, q, k, v, s) })
			})
		}
	}
}

func BenchmarkSiLUMul(b *testing.B) {
	cb := benchBackend(b)
	r := rand.New(rand.NewPCG(5, 6))
	const n, m = 512, 4864
	x := cb.FromHost(randFloats(r, n*m), n, m)
	y := cb.FromHost(randFloats(r, n*m), n, m)
	d := cb.New(n, m)
	for b.Loop() {
		cb.SiLUMul(d, x, y)
	}
	b.ReportMetric(float64(n*m)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

// loop runs op b.N times and reports GFLOP/s over the whole run and for
// the fastest single op ("best-GFLOP/s"): on a shared machine the best is
// the closer estimate of what the code does undisturbed.
func loop(b *testing.B, flopsPerOp float64, op func()) {
	best := time.Duration(math.MaxInt64)
	for b.Loop() {
		t0 := time.Now()
		op()
		best = min(best, time.Since(t0))
	}
	reportGFLOPs(b, flopsPerOp)
	b.ReportMetric(flopsPerOp/best.Seconds()/1e9, "best-GFLOP/s")
}

func reportGFLOPs(b *testing.B, flopsPerOp float64) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	if sec > 0 && !math.IsInf(sec, 0) {
		b.ReportMetric(flopsPerOp/sec/1e9, "GFLOP/s")
	}
}
