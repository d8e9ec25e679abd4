package count

import (
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/backend/backendtest"
	"github.com/sdtp/sdtp/backend/cpu"
)

func newCounted(t *testing.T) *Backend {
	t.Helper()
	inner, err := cpu.New(backend.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	b := New(inner)
	t.Cleanup(func() { b.Close() })
	return b
}

// TestConformance checks that the wrapper forwards every op faithfully.
func TestConformance(t *testing.T) {
	backendtest.Run(t, newCounted(t), backendtest.Options{})
}

// bruteAttention counts attended (query head, key) pairs one by one.
func bruteAttention(nq, nk int, s backend.AttentionShape) int64 {
	var pairs int64
	for i := range nq {
		for j := range nk {
			if j <= nk-nq+i {
				pairs++
			}
		}
	}
	return pairs * int64(s.Heads) * 4 * int64(s.HeadDim)
}

func TestCounts(t *testing.T) {
	b := newCounted(t)
	cases := []struct {
		n, k, m int
		bias    bool
		dt      backend.DType
	}{
		{1, 896, 4864, false, backend.BF16},
		{7, 64, 3, true, backend.F32},
		{512, 17, 1, true, backend.F16},
	}
	var want Counts
	for _, c := range cases {
		w, err := b.RandomWeight(c.dt, c.m, c.k, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		var bias backend.Weight
		if c.bias {
			if bias, err = b.ConstWeight(backend.F32, 1, c.m, 0.5); err != nil {
				t.Fatal(err)
			}
		}
		x, d := b.New(c.n, c.k), b.New(c.n, c.m)
		b.MatMul(d, x, w, bias)
		want.MatMuls++
		want.MatMulFLOPs += 2 * int64(c.n*c.m*c.k)
		want.WeightBytes += int64(c.m * c.k * c.dt.Size())
		if c.bias {
			want.MatMulFLOPs += int64(c.n * c.m)
			want.WeightBytes += int64(4 * c.m)
		}
	}
	for _, a := range []struct{ nq, nk, heads, kv, hd int }{{5, 5, 4, 2, 8}, {1, 40, 14, 2, 64}, {3, 10, 7, 1, 16}} {
		s := backend.AttentionShape{Heads: a.heads, KVHeads: a.kv, HeadDim: a.hd, Scale: 1}
		q, k, v := b.New(a.nq, a.heads*a.hd), b.New(a.nk, a.kv*a.hd), b.New(a.nk, a.kv*a.hd)
		b.Attention(b.New(a.nq, a.heads*a.hd), q, k, v, s)
		want.Attentions++
		want.AttentionFLOPs += bruteAttention(a.nq, a.nk, s)
		if got := AttentionFLOPs(a.nq, a.nk, s); got != bruteAttention(a.nq, a.nk, s) {
			t.Errorf("AttentionFLOPs(%d, %d, %+v) = %d, want %d", a.nq, a.nk, s, got, bruteAttention(a.nq, a.nk, s))
		}
	}
	table, _ := b.RandomWeight(backend.BF16, 10, 6, 2, 1)
	ids := b.Ints([]int32{1, 1, 9})
	b.Embed(b.New(3, 6), table, ids)
	want.WeightBytes += 3 * 6 * 2
	norm, _ := b.ConstWeight(backend.F16, 1, 6, 1)
	b.RMSNorm(b.New(3, 6), b.New(3, 6), norm, 1e-6)
	want.WeightBytes += 6 * 2

	if got := b.Counts(); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}
	if got := b.Counts().FLOPs(); got != want.MatMulFLOPs+want.AttentionFLOPs {
		t.Errorf("FLOPs = %d", got)
	}
	b.Reset()
	if got := b.Counts(); got != (Counts{}) {
		t.Errorf("after Reset: %+v", got)
	}
}
