package safetensors

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

// The parity goldens (testdata/parity, written by transformers and the
// safetensors Python package) are third-party safetensors files: they must
// open, and Write must reproduce them.

func TestGoldenModelsRoundTrip(t *testing.T) {
	for _, model := range []string{"qwen2", "llama"} {
		for _, variant := range []string{"f32", "bf16"} {
			t.Run(model+"/"+variant, func(t *testing.T) {
				src := testdata.RepoPath(t, filepath.Join("parity", model, variant, SingleFile))
				roundTrip(t, src)
			})
		}
		t.Run(model+"/golden", func(t *testing.T) {
			roundTrip(t, testdata.RepoPath(t, filepath.Join("parity", model, "golden.safetensors")))
		})
	}
}

// roundTrip opens src, rewrites all its tensors with Write and checks the
// result is byte-identical (the Python writer and ours agree on the layout
// for single-dtype files) and reads back the same tensors.
func roundTrip(t *testing.T, src string) {
	t.Helper()
	f, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []Tensor
	for _, n := range f.Names() {
		x, err := f.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x.Float32s(); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, x)
	}
	dst := filepath.Join(t.TempDir(), "copy.safetensors")
	if err := Write(dst, ts, f.Metadata()); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	if !bytes.Equal(a, b) {
		t.Errorf("rewriting %s changed its bytes (%d -> %d)", src, len(a), len(b))
	}
	g, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, x := range ts {
		y, err := g.Tensor(x.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x.Data, y.Data) || !slices.Equal(x.Shape, y.Shape) || x.DType != y.DType {
			t.Errorf("tensor %s changed in the round trip", x.Name)
		}
	}
}

// TestGoldenBF16Rounding checks NewBF16 against torch: the bf16 folders hold
// the f32 weights converted with torch's .to(torch.bfloat16).
func TestGoldenBF16Rounding(t *testing.T) {
	for _, model := range []string{"qwen2", "llama"} {
		t.Run(model, func(t *testing.T) {
			s32, err := OpenModel(testdata.RepoPath(t, filepath.Join("parity", model, "f32")))
			if err != nil {
				t.Fatal(err)
			}
			defer s32.Close()
			s16, err := OpenModel(testdata.RepoPath(t, filepath.Join("parity", model, "bf16")))
			if err != nil {
				t.Fatal(err)
			}
			defer s16.Close()
			if len(s32.Names()) != len(s16.Names()) || len(s32.Names()) == 0 {
				t.Fatalf("f32 has %d tensors, bf16 %d", len(s32.Names()), len(s16.Names()))
			}
			for _, n := range s32.Names() {
				a, err := s32.Tensor(n)
				if err != nil {
					t.Fatal(err)
				}
				b, err := s16.Tensor(n)
				if err != nil {
					t.Fatal(err)
				}
				if a.DType != F32 || b.DType != BF16 {
					t.Fatalf("%s: dtypes %s and %s, want F32 and BF16", n, a.DType, b.DType)
				}
				v, _ := a.Float32s()
				r, err := NewBF16(n, a.Shape, v)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(r.Data, b.Data) {
					t.Errorf("%s: NewBF16 disagrees with torch's bfloat16 rounding", n)
				}
			}
		})
	}
}

// TestGoldenLayout checks golden.safetensors against the shapes golden.json lists.
func TestGoldenLayout(t *testing.T) {
	for _, model := range []string{"qwen2", "llama"} {
		t.Run(model, func(t *testing.T) {
			raw, err := os.ReadFile(testdata.RepoPath(t, filepath.Join("parity", model, "golden.json")))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Format    string           `json:"format"`
				PromptIDs []int            `json:"prompt_ids"`
				Tensors   map[string][]int `json:"tensors"`
				F32       struct {
					Continuation []int `json:"continuation"`
				} `json:"f32"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			f, err := Open(testdata.RepoPath(t, filepath.Join("parity", model, "golden.safetensors")))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Metadata()["format"] != doc.Format {
				t.Errorf("metadata format %q, golden.json %q", f.Metadata()["format"], doc.Format)
			}
			if len(f.Names()) != len(doc.Tensors) {
				t.Errorf("%d tensors, golden.json lists %d", len(f.Names()), len(doc.Tensors))
			}
			for name, shape := range doc.Tensors {
				x, err := f.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				if x.DType != F32 || !slices.Equal(x.Shape, shape) {
					t.Errorf("%s: %s %v, golden.json says F32 %v", name, x.DType, x.Shape, shape)
				}
			}
			lg, err := f.Tensor("f32.logits")
			if err != nil {
				t.Fatal(err)
			}
			if lg.Shape[0] != len(doc.PromptIDs) {
				t.Errorf("f32.logits has %d rows for %d prompt ids", lg.Shape[0], len(doc.PromptIDs))
			}
			// The first continuation token is the argmax of the last prompt position.
			v, _ := lg.Float32s()
			vocab := lg.Shape[1]
			last := v[len(v)-vocab:]
			best := 0
			for i, x := range last {
				if x > last[best] {
					best = i
				}
			}
			if len(doc.F32.Continuation) == 0 || best != doc.F32.Continuation[0] {
				t.Errorf("argmax of the last prompt logits is %d, continuation starts %v", best, doc.F32.Continuation)
			}
		})
	}
}
