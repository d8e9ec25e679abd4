package model_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/safetensors"
)

type golden struct {
	PromptIDs []int `json:"prompt_ids"`
	F32       struct {
		Continuation []int `json:"continuation"`
	} `json:"f32"`
	BF16 struct {
		Continuation []int `json:"continuation"`
	} `json:"bf16"`
}

func readGolden(t *testing.T, name string) (golden, *safetensors.File) {
	t.Helper()
	dir := testdata.RepoPath(t, filepath.Join("parity", name))
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return g, f
}

func goldenTensor(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	tt, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// promptLogits runs ids through m from position 0 and returns the logits
// at every position.
func promptLogits(t *testing.T, m *model.Model, ids []int) []float32 {
	t.Helper()
	logits, err := m.Forward(context.Background(), ids, testmodel.Positions(len(ids), 0), m.NewCache(0), model.ForwardOptions{AllLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	return logits
}

// TestTransformersParity runs the tiny Qwen2 and Llama models that
// scripts/parity/make_goldens.py built with transformers 5.17 and compares
// our logits at every prompt position and a 32-token greedy continuation.
//
// f32 weights: the golden logits are a float64 forward of the same
// weights, so only our float32 accumulation differs: 1e-4 absolute.
// bf16 weights: the golden is again float64 over the same (bf16-rounded)
// weights, widened exactly; we widen them exactly too and compute in
// float32, so the same 1e-4 bound holds — the bf16 tolerance matters only
// on backends that compute in bf16 (the CUDA backend's own test).
func TestTransformersParity(t *testing.T) {
	b := testmodel.CPU(t)
	for _, name := range []string{"qwen2", "llama"} {
		for _, variant := range []string{"f32", "bf16"} {
			t.Run(name+"/"+variant, func(t *testing.T) {
				g, gf := readGolden(t, name)
				m := testmodel.Open(t, b, testdata.RepoPath(t, filepath.Join("parity", name, variant)))
				logits := promptLogits(t, m, g.PromptIDs)
				want := goldenTensor(t, gf, variant+".logits")
				if len(want) != len(logits) {
					t.Fatalf("got %d logits, golden has %d", len(logits), len(want))
				}
				var maxErr float64
				for i := range want {
					maxErr = math.Max(maxErr, math.Abs(float64(logits[i]-want[i])))
				}
				t.Logf("max abs logit error %.3g over %d positions", maxErr, len(g.PromptIDs))
				if maxErr > 1e-4 {
					t.Errorf("max abs logit error %.3g > 1e-4", maxErr)
				}
				cont := g.F32.Continuation
				if variant == "bf16" {
					cont = g.BF16.Continuation
				}
				res, err := generate.Run(context.Background(), m, nil, generate.Request{Prompt: g.PromptIDs, MaxTokens: len(cont)})
				if err != nil {
					t.Fatal(err)
				}
				got := res.IDs()
				for i := range cont {
					if i >= len(got) || got[i] != cont[i] {
						t.Fatalf("greedy continuation differs at %d:\n got %v\nwant %v", i, got, cont)
					}
				}
			})
		}
	}
}
