package cuda

import (
	"maps"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// TestBatchAttentionMatchesAlone: BatchAttention's batched launches give
// every sequence bit for bit what its own Attention call gives, for each
// decode kernel (the default tensor-core variants and the SIMT one have
// batched launches; the other variants take Attention per sequence), with caches
// of different lengths (split counts from 1 to many), views into larger
// caches as the KV cache hands them out, and a head size without a decode
// kernel (the per-sequence fallback).
func TestBatchAttentionMatchesAlone(t *testing.T) {
	b := openForTest(t)
	r := rand.New(rand.NewPCG(11, 12))
	defaults := maps.Clone(b.decodeMMA)
	defer func() { b.decodeMMA = defaults }()
	for _, c := range []struct {
		name          string
		lens          []int
		heads, kv, hd int
	}{
		{"qwen7b", []int{1, 64, 65, 1000, 4100, 17}, 28, 4, 128},
		{"qwen0.5b", []int{300, 2, 9000}, 14, 2, 64},
		{"mqa", []int{5, 130}, 12, 1, 128},
		{"d32", []int{77, 1}, 4, 4, 32},
		{"d48 fallback", []int{40, 3}, 6, 2, 48},
	} {
		var variants []decodeKernel
		for _, k := range decodeKernels2 {
			if k.d == c.hd {
				variants = append(variants, k)
			}
		}
		variants = append(variants, decodeKernel{}) // SIMT
		for _, v := range variants {
			b.decodeMMA = map[int]decodeKernel{}
			if v.name != "" {
				b.decodeMMA[c.hd] = v
			}
			name := c.name + " " + v.name
			s := backend.AttentionShape{Heads: c.heads, KVHeads: c.kv, HeadDim: c.hd, Scale: float32(1 / math.Sqrt(float64(c.hd)))}
			n, qc, kc := len(c.lens), c.heads*c.hd, c.kv*c.hd
			q := b.FromHost(randVec(r, n*qc, 1), n, qc)
			var ks, vs, owned []backend.Tensor
			for _, l := range c.lens {
				// A cache with spare rows, viewed from row 0 as kvcache does.
				kAll, vAll := b.FromHost(randVec(r, (l+3)*kc, 1), l+3, kc), b.FromHost(randVec(r, (l+3)*kc, 1), l+3, kc)
				owned = append(owned, kAll, vAll)
				ks, vs = append(ks, b.View(kAll, 0, l)), append(vs, b.View(vAll, 0, l))
			}
			alone, batched := poisoned(b, n, qc), poisoned(b, n, qc)
			for i := range c.lens {
				b.Attention(b.View(alone, i, 1), b.View(q, i, 1), ks[i], vs[i], s)
			}
			b.BatchAttention(batched, q, ks, vs, s)
			want, got := download(b, alone), download(b, batched)
			for j := range want {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Errorf("%s: sequence %d element %d: %v batched, %v alone", name, j/qc, j%qc, got[j], want[j])
					break
				}
			}
			for _, x := range append(owned, q, alone, batched) {
				b.Free(x)
			}
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestFreeMemory: the device reports free memory within its total.
func TestFreeMemory(t *testing.T) {
	b := openForTest(t)
	free, total, err := b.FreeMemory()
	if err != nil {
		t.Fatal(err)
	}
	if free <= 0 || total < free {
		t.Errorf("FreeMemory() = %d free of %d", free, total)
	}
}

var (
	_ backend.BatchAttender = (*Backend)(nil)
	_ backend.RowScatterer  = (*Backend)(nil)
	_ backend.FreeMemoryer  = (*Backend)(nil)
)

// TestScatterRowsExact: ScatterRows moves each row bit for bit where one
// Copy per row would, in the vector and the element-wise kernel paths.
func TestScatterRowsExact(t *testing.T) {
	b := openForTest(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, cols := range []int{256, 7, 1024} {
		const n = 5
		src := b.FromHost(randVec(r, n*cols, 1), n, cols)
		want, got := b.New(n, cols), poisoned(b, n+2, cols)
		var dst []backend.Tensor
		for i := range n {
			b.Copy(b.View(want, i, 1), b.View(src, i, 1))
			dst = append(dst, b.View(got, n-i, 1)) // rows 5..1 of got: rows 0 and 6 stay poisoned
		}
		b.ScatterRows(dst, src)
		w, g := download(b, want), download(b, got)
		for i := range n {
			for c := range cols {
				if x, y := g[(n-i)*cols+c], w[i*cols+c]; math.Float32bits(x) != math.Float32bits(y) {
					t.Fatalf("cols %d: row %d element %d: %v scattered, %v copied", cols, i, c, x, y)
				}
			}
		}
		for _, c := range []int{0, (n + 1) * cols} {
			if !math.IsNaN(float64(g[c])) {
				t.Errorf("cols %d: a row outside the destinations was written", cols)
			}
		}
		for _, x := range []backend.Tensor{src, want, got} {
			b.Free(x)
		}
	}
}
