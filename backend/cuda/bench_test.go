package cuda

import (
	"fmt"
	"testing"
	"time"

	"github.com/sdtp/sdtp/backend"
)

// Kernel benchmarks on the GPU (skipped without one). Run on the GPU
// machine: cuda.test -test.run '^$' -test.bench . -test.benchtime 20x

func openForBench(b *testing.B) *Backend {
	be, err := Open(backend.Options{})
	if err != nil {
		b.Skipf("no usable GPU: %v", err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

// randTensor fills a new rows×cols tensor on the device with random values
// in [-1, 1) (a random weight gathered row by row).
func randTensor(b *Backend, rows, cols int, seed uint64) backend.Tensor {
	w, err := b.RandomWeight(backend.BF16, rows, cols, seed, 1)
	if err != nil {
		panic(err)
	}
	ids := make([]int32, rows)
	for i := range ids {
		ids[i] = int32(i)
	}
	iv := b.Ints(ids)
	t := b.New(rows, cols)
	b.Embed(t, w, iv)
	b.FreeInts(iv)
	b.FreeWeight(w)
	return t
}

// qwen7b is the Qwen2-7B attention layout.
var qwen7b = backend.AttentionShape{Heads: 28, KVHeads: 4, HeadDim: 128, Scale: 0.08838834764831845}

func BenchmarkFlash(bb *testing.B) {
	b := openForBench(bb)
	for _, n := range []int{4096, 16384, 32768} {
		q := randTensor(b, n, 28*128, 1)
		k, v := randTensor(b, n, 4*128, 2), randTensor(b, n, 4*128, 3)
		o := b.New(n, 28*128)
		variants := []flashKernel{{name: "cudnn", d: 128}}
		variants = append(variants, flashKernels...)
		for _, fk := range variants {
			if fk.d != 128 {
				continue
			}
			bb.Run(fmt.Sprintf("%s/n=%d", fk.name, n), func(bb *testing.B) {
				b.useDNN = fk.name == "cudnn"
				if !b.useDNN {
					b.flash[128] = fk
				} else if b.dnn == nil {
					bb.Skipf("no cuDNN: %v", b.dnnErr)
				}
				start := time.Now()
				b.Attention(o, q, k, v, qwen7b)
				b.Sync()
				if b.useDNN {
					if b.dnnErr != nil {
						bb.Fatalf("cuDNN declined: %v", b.dnnErr)
					}
					bb.Logf("first call (plan build) %v", time.Since(start))
				}
				bb.ResetTimer()
				for range bb.N {
					b.Attention(o, q, k, v, qwen7b)
				}
				if err := b.Sync(); err != nil {
					bb.Fatal(err)
				}
				sec := bb.Elapsed().Seconds() / float64(bb.N)
				bb.ReportMetric(2*float64(n)*float64(n)*128*28/sec/1e12, "TFLOP/s")
			})
		}
		for _, t := range []backend.Tensor{q, k, v, o} {
			b.Free(t)
		}
	}
}

func BenchmarkDecodeAttention(bb *testing.B) {
	b := openForBench(bb)
	for _, n := range []int{1024, 8192, 32768} {
		q := randTensor(b, 1, 28*128, 1)
		k, v := randTensor(b, n, 4*128, 2), randTensor(b, n, 4*128, 3)
		o := b.New(1, 28*128)
		variants := append([]decodeKernel{{name: "simt", d: 128}}, decodeKernels2...)
		for _, dk := range variants {
			if dk.d != 128 {
				continue
			}
			bb.Run(fmt.Sprintf("%s/nk=%d", dk.name, n), func(bb *testing.B) {
				b.decodeMMA = map[int]decodeKernel{}
				if dk.name != "simt" {
					b.decodeMMA[128] = dk
				}
				b.Attention(o, q, k, v, qwen7b)
				b.Sync()
				bb.ResetTimer()
				for range bb.N {
					b.Attention(o, q, k, v, qwen7b)
				}
				if err := b.Sync(); err != nil {
					bb.Fatal(err)
				}
				sec := bb.Elapsed().Seconds() / float64(bb.N)
				bb.ReportMetric(2*float64(n)*4*128*2/sec/1e9, "GB/s")
				bb.ReportMetric(sec*1e6, "us/op")
			})
		}
		for _, t := range []backend.Tensor{q, k, v, o} {
			b.Free(t)
		}
	}
}

func BenchmarkMatVec(bb *testing.B) {
	b := openForBench(bb)
	for _, sh := range [][2]int{{3584, 3584}, {512, 3584}, {18944, 3584}, {3584, 18944}, {152064, 3584}} {
		m, k := sh[0], sh[1]
		// Rotate over enough copies that the L2 cache (50 MB) cannot hold them.
		copies := max(1, (256<<20)/(2*m*k))
		ws := make([]backend.Weight, copies)
		for i := range ws {
			w, err := b.RandomWeight(backend.BF16, m, k, uint64(5+i), 0.02)
			if err != nil {
				bb.Fatal(err)
			}
			ws[i] = w
		}
		x := randTensor(b, 1, k, 6)
		y := b.New(1, m)
		for _, gemv := range []bool{false, true} {
			name := "cublas"
			if gemv {
				name = "gemv"
			}
			bb.Run(fmt.Sprintf("%s/%dx%d", name, m, k), func(bb *testing.B) {
				b.useGEMV = gemv
				b.MatMul(y, x, ws[0], nil)
				b.Sync()
				bb.ResetTimer()
				for i := range bb.N {
					b.MatMul(y, x, ws[i%copies], nil)
				}
				if err := b.Sync(); err != nil {
					bb.Fatal(err)
				}
				sec := bb.Elapsed().Seconds() / float64(bb.N)
				bb.ReportMetric(float64(m)*float64(k)*2/sec/1e9, "GB/s")
				bb.ReportMetric(sec*1e6, "us/op")
			})
		}
		b.useGEMV = true
		for _, w := range ws {
			b.FreeWeight(w)
		}
		b.Free(x)
		b.Free(y)
	}
}

// BenchmarkLaunch measures one small op (Add of one 3584-wide row): the
// per-op cost when launches, not bandwidth, bound a decode step.
func BenchmarkLaunch(bb *testing.B) {
	b := openForBench(bb)
	x := randTensor(b, 1, 3584, 1)
	b.Add(x, x, x)
	b.Sync()
	bb.ResetTimer()
	for range bb.N {
		b.Add(x, x, x)
	}
	if err := b.Sync(); err != nil {
		bb.Fatal(err)
	}
	bb.ReportMetric(bb.Elapsed().Seconds()*1e6/float64(bb.N), "us/op")
}

// BenchmarkFusedDecode compares the one-token fused ops with their
// composition on the Qwen2-7B shapes: QKV (3584 → 3584 + 512 + 512, with
// biases) and GateUp (3584 → 2 × 18944), weights rotated past the L2.
func BenchmarkFusedDecode(bb *testing.B) {
	b := openForBench(bb)
	const hidden, kv, ffn = 3584, 512, 18944
	mk := func(m, k int, seed uint64) backend.Weight {
		w, err := b.RandomWeight(backend.BF16, m, k, seed, 0.02)
		if err != nil {
			bb.Fatal(err)
		}
		return w
	}
	x := randTensor(b, 1, hidden, 6)
	q, k, v := b.New(1, hidden), b.New(1, kv), b.New(1, kv)
	g, u := b.New(1, ffn), b.New(1, ffn)
	type set struct{ wq, wk, wv, bq, bk, bv, gate, up backend.Weight }
	sets := make([]set, 3) // 3 × 304 MB: no reuse through the 50 MB L2
	for i := range sets {
		s := uint64(10 * (i + 1))
		sets[i] = set{mk(hidden, hidden, s), mk(kv, hidden, s+1), mk(kv, hidden, s+2), mk(1, hidden, s+3), mk(1, kv, s+4), mk(1, kv, s+5), mk(ffn, hidden, s+6), mk(ffn, hidden, s+7)}
	}
	cases := []struct {
		name  string
		bytes float64
		run   func(s set)
	}{
		{"QKV/fused", 2 * hidden * (hidden + 2*kv), func(s set) { b.QKV(q, k, v, x, s.wq, s.wk, s.wv, s.bq, s.bk, s.bv) }},
		{"QKV/composed", 2 * hidden * (hidden + 2*kv), func(s set) {
			b.MatMul(q, x, s.wq, s.bq)
			b.MatMul(k, x, s.wk, s.bk)
			b.MatMul(v, x, s.wv, s.bv)
		}},
		{"GateUp/fused", 2 * 2 * hidden * ffn, func(s set) { b.GateUp(g, x, s.gate, s.up) }},
		{"GateUp/composed", 2 * 2 * hidden * ffn, func(s set) {
			b.MatMul(g, x, s.gate, nil)
			b.MatMul(u, x, s.up, nil)
			b.SiLUMul(g, g, u)
		}},
	}
	for _, c := range cases {
		bb.Run(c.name, func(bb *testing.B) {
			c.run(sets[0])
			b.Sync()
			bb.ResetTimer()
			for i := range bb.N {
				c.run(sets[i%len(sets)])
			}
			if err := b.Sync(); err != nil {
				bb.Fatal(err)
			}
			sec := bb.Elapsed().Seconds() / float64(bb.N)
			bb.ReportMetric(c.bytes/sec/1e9, "GB/s")
			bb.ReportMetric(sec*1e6, "us/op")
		})
	}
	for _, s := range sets {
		for _, w := range []backend.Weight{s.wq, s.wk, s.wv, s.bq, s.bk, s.bv, s.gate, s.up} {
			b.FreeWeight(w)
		}
	}
	for _, t := range []backend.Tensor{x, q, k, v, g, u} {
		b.Free(t)
	}
}
