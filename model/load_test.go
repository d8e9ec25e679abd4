package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/safetensors"
)

// brokenFolder copies the tiny Qwen2 golden folder, letting edit change
// its tensors and config text before they are written.
func brokenFolder(t *testing.T, edit func(ts []safetensors.Tensor, config string) ([]safetensors.Tensor, string)) string {
	t.Helper()
	src := testdata.RepoPath(t, filepath.Join("parity", "qwen2", "f32"))
	f, err := safetensors.Open(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		x, err := f.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		x.Data = append([]byte(nil), x.Data...)
		ts = append(ts, x)
	}
	cfg, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	ts, c := edit(ts, string(cfg))
	dir := t.TempDir()
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenHFErrors(t *testing.T) {
	b := testmodel.CPU(t)
	without := func(name string) func([]safetensors.Tensor, string) ([]safetensors.Tensor, string) {
		return func(ts []safetensors.Tensor, c string) ([]safetensors.Tensor, string) {
			var out []safetensors.Tensor
			for _, x := range ts {
				if x.Name != name {
					out = append(out, x)
				}
			}
			return out, c
		}
	}
	tests := []struct {
		name string
		edit func([]safetensors.Tensor, string) ([]safetensors.Tensor, string)
		want []string
	}{
		{"missing tensor", without("model.layers.1.mlp.up_proj.weight"), []string{"model.layers.1.mlp.up_proj.weight"}},
		{"shape mismatch", func(ts []safetensors.Tensor, c string) ([]safetensors.Tensor, string) {
			return ts, strings.Replace(c, `"intermediate_size": 172`, `"intermediate_size": 170`, 1)
		}, []string{"model.layers.0.mlp.gate_proj.weight", "shape [172 64]", "want [170 64]"}},
		{"wrong dtype", func(ts []safetensors.Tensor, c string) ([]safetensors.Tensor, string) {
			for i := range ts {
				if ts[i].Name == "model.norm.weight" {
					ts[i].DType = "I32"
				}
			}
			return ts, c
		}, []string{"model.norm.weight", "I32"}},
		{"bad config", func(ts []safetensors.Tensor, c string) ([]safetensors.Tensor, string) {
			return ts, strings.Replace(c, `"num_attention_heads": 4`, `"num_attention_heads": 3`, 1)
		}, []string{"config.json", "num_attention_heads"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := brokenFolder(t, tc.edit)
			m, err := model.OpenHF(b, dir)
			if err == nil {
				m.Close()
				t.Fatal("loaded a broken folder")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestOpenTruncatedCheckpoint(t *testing.T) {
	b := testmodel.CPU(t)
	raw, err := os.ReadFile(testmodel.Stories260KPath(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cut.bin")
	if err := os.WriteFile(p, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := model.Open(b, p); err == nil || !strings.Contains(err.Error(), "cut.bin") {
		t.Fatalf("truncated checkpoint: %v", err)
	}
}

// TestLocate covers the three forms of a model spec and the errors of a
// spec that names nothing usable.
func TestLocate(t *testing.T) {
	hf := testdata.RepoPath(t, filepath.Join("parity", "llama", "f32"))
	empty := t.TempDir()
	notModel := filepath.Join(t.TempDir(), "x.bin")
	if err := os.WriteFile(notModel, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec      string
		arch      string
		name      string
		synthetic bool
		err       string
	}{
		{spec: "synthetic:tiny", arch: "llama", name: "synthetic:tiny", synthetic: true},
		{spec: hf, arch: "llama", name: "f32"},
		{spec: "synthetic:nope", err: "unknown synthetic model"},
		{spec: filepath.Join(empty, "missing"), err: "missing"},
		{spec: empty, err: "config.json"},
		{spec: notModel, err: "x.bin"},
	} {
		src, err := model.Locate(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Locate(%s) = %v, want an error naming %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Locate(%s): %v", tc.spec, err)
			continue
		}
		if src.Config.Arch != tc.arch || src.Config.Name != tc.name || src.Synthetic() != tc.synthetic {
			t.Errorf("Locate(%s) = %s %q synthetic %v, want %s %q %v", tc.spec, src.Config.Arch, src.Config.Name, src.Synthetic(), tc.arch, tc.name, tc.synthetic)
		}
		ts, closer, err := src.OpenTensors()
		if tc.synthetic != (err != nil) {
			t.Errorf("Locate(%s).OpenTensors: %v", tc.spec, err)
		}
		if err == nil {
			if _, err := ts.Tensor("model.norm.weight"); err != nil {
				t.Errorf("Locate(%s): %v", tc.spec, err)
			}
			closer.Close()
		}
	}
}

// TestLocateLlama2C reads a llama2.c checkpoint's config: no EOS (it stops
// at BOS) and the file name as the model's name.
func TestLocateLlama2C(t *testing.T) {
	src, err := model.Locate(testmodel.Stories260KPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if c := src.Config; c.Arch != "llama2c" || c.Name != "stories260K" || c.EOS != nil || c.Layers != 5 {
		t.Errorf("config %+v", c)
	}
}
