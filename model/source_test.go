package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/model"
)

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
	src, err := model.Locate(testdata.Path(t, "llama2c/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if c := src.Config; c.Arch != "llama2c" || c.Name != "stories260K" || c.EOS != nil || c.Layers != 5 {
		t.Errorf("config %+v", c)
	}
}
