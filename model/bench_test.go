package model_test

import (
	"context"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
)

// benchModel loads a synthetic bf16 model on the CPU backend.
func benchModel(b *testing.B, name string) *model.Model {
	be := testmodel.Backend(b, "cpu", backend.Options{})
	return testmodel.Synthetic(b, be, testmodel.Config(b, name), model.SyntheticOptions{Seed: 1, DType: backend.BF16})
}

func promptIDs(n, vocab int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i*7919 + 13) % vocab
	}
	return ids
}

// BenchmarkPrefill measures prompt processing (last-token logits) of
// synthetic:qwen2-0.5b; tokens/s is reported.
func BenchmarkPrefill(b *testing.B) {
	for _, n := range []int{512, 2048} {
		b.Run(itoa(n), func(b *testing.B) {
			m := benchModel(b, "qwen2-0.5b")
			ids := promptIDs(n, m.Config.Vocab)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Forward(context.Background(), ids, testmodel.Positions(n, 0), m.NewCache(0), model.ForwardOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(m.Config.PrefillFLOPs(fill(m.Config.Layers, n))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkDecode measures one-token steps over a 512-token cache.
func BenchmarkDecode(b *testing.B) {
	m := benchModel(b, "qwen2-0.5b")
	n := 512
	cache := m.NewCache(b.N + 1)
	if _, err := m.Forward(context.Background(), promptIDs(n, m.Config.Vocab), testmodel.Positions(n, 0), cache, model.ForwardOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(context.Background(), []int{42}, []int32{int32(n + i)}, cache, model.ForwardOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func fill(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
