package model_test

import (
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
)

// TestCUDADecodeBatch is batched decoding on the GPU (opt-in: SDTP_CUDA=1
// on the GPU machine). A batched step runs the same kernels as decoding
// alone, attention included (BatchAttention runs the decode kernels on
// each sequence's own splits), except the weight products: cuBLAS may
// pick another algorithm, hence another summation order, for n rows than
// for one, and each product is rounded to bf16. So the batched logits
// need not equal those of decoding alone bit for bit; the bound is that
// they are as accurate: against the CPU's float32 computation of the same
// weights, their largest error is at most twice the largest error of
// decoding alone (plus 1e-5 of the logits' scale, for an exact f32 run),
// and the greedy token agrees wherever the CPU's top-two margin exceeds
// both errors together.
func TestCUDADecodeBatch(t *testing.T) {
	cpu := testmodel.CPU(t)
	for _, name := range []string{"cuda", "cuda-f32"} {
		gpu := testmodel.Backend(t, name, backend.Options{})
		cms, gms := decodeModels(t, cpu), decodeModels(t, gpu)
		for mname, gm := range gms {
			t.Run(name+"/"+mname, func(t *testing.T) {
				plans := decodePlans(gm.Config.Vocab, gm.Config.Layers, 11)
				ref := decodeAlone(t, cms[mname], plans)
				alone := decodeAlone(t, gm, plans)
				batched, widest := decodeBatched(t, gm, plans)
				errA, errB, scale := 0.0, 0.0, 0.0
				for i := range ref {
					for j := range ref[i] {
						for k, r := range ref[i][j] {
							scale = max(scale, math.Abs(float64(r)))
							errA = max(errA, math.Abs(float64(alone[i][j][k]-r)))
							errB = max(errB, math.Abs(float64(batched[i][j][k]-r)))
						}
					}
				}
				t.Logf("widest batch %d; largest logit error against the CPU: alone %.3g, batched %.3g (logits up to %.3g)", widest, errA, errB, scale)
				if errB > 2*errA+1e-5*scale {
					t.Errorf("batched decoding is less accurate than decoding alone: error %.3g against %.3g", errB, errA)
				}
				for i := range ref {
					for j := range ref[i] {
						if topMargin(ref[i][j]) > errA+errB && generate.Argmax(batched[i][j]) != generate.Argmax(alone[i][j]) {
							t.Errorf("sequence %d step %d: greedy token %d batched, %d alone, though the margin is %.3g", i, j, generate.Argmax(batched[i][j]), generate.Argmax(alone[i][j]), topMargin(ref[i][j]))
						}
					}
				}
			})
		}
	}
}

// decodeModels are testModels plus a model whose head size (64) takes the
// GPU's tensor-core decode kernels.
func decodeModels(t *testing.T, b backend.Backend) map[string]*model.Model {
	t.Helper()
	ms := testModels(t, b)
	c := testmodel.Config(t, "tiny")
	c.Hidden, c.Heads, c.KVHeads, c.HeadDim, c.FFN, c.Layers = 256, 4, 2, 64, 512, 4
	ms["d64-bf16"] = testmodel.Synthetic(t, b, c, model.SyntheticOptions{Seed: 9, DType: backend.BF16})
	return ms
}

// topMargin is the gap between the largest and second largest value.
func topMargin(v []float32) float64 {
	a, b := math.Inf(-1), math.Inf(-1)
	for _, x := range v {
		switch f := float64(x); {
		case f > a:
			a, b = f, a
		case f > b:
			b = f
		}
	}
	return a - b
}
