package safetensors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeShards writes two shards and an index mapping the given tensors.
func writeShards(t *testing.T, dir, index string) {
	t.Helper()
	a, _ := NewF32("model.a", []int{2}, []float32{1, 2})
	b, _ := NewBF16("model.b", []int{3}, []float32{3, 4, 5})
	c, _ := NewF32("model.c", []int{1}, []float32{6})
	if err := Write(filepath.Join(dir, "model-00001-of-00002.safetensors"), []Tensor{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{c}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
}

const goodIndex = `{"metadata":{"total_size":18},"weight_map":{
 "model.a":"model-00001-of-00002.safetensors",
 "model.b":"model-00001-of-00002.safetensors",
 "model.c":"model-00002-of-00002.safetensors"}}`

func TestOpenModelSharded(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, goodIndex)
	s, err := OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := strings.Join(s.Names(), ","); got != "model.a,model.b,model.c" {
		t.Errorf("Names = %s", got)
	}
	if len(s.Files()) != 2 {
		t.Errorf("Files = %v, want 2 shards", s.Files())
	}
	c, err := s.Tensor("model.c")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Float32s(); len(v) != 1 || v[0] != 6 {
		t.Errorf("model.c = %v", v)
	}
	b, err := s.Tensor("model.b")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Float32s(); len(v) != 3 || v[2] != 5 {
		t.Errorf("model.b = %v", v)
	}
	_, err = s.Tensor("lm_head.weight")
	if want := filepath.Join(dir, IndexFile) + `: tensor "lm_head.weight" not in weight_map`; err == nil || err.Error() != want {
		t.Errorf("missing tensor error = %v, want %s", err, want)
	}
	if !s.Has("model.a") || s.Has("model.z") {
		t.Error("Has is wrong")
	}
}

func TestOpenModelSingle(t *testing.T) {
	dir := t.TempDir()
	x, _ := NewF32("x", []int{1}, []float32{1})
	if err := Write(filepath.Join(dir, SingleFile), []Tensor{x}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	s, err := OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Tensor("x"); err != nil {
		t.Error(err)
	}
	_, err = s.Tensor("y")
	if want := filepath.Join(dir, SingleFile) + `: tensor "y" not found`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestOpenModelErrors(t *testing.T) {
	cases := []struct {
		name  string
		index string
		want  string
	}{
		{"missing shard", strings.Replace(goodIndex, "model-00002-of-00002", "model-00003-of-00003", 1), `tensor "model.c": open`},
		{"tensor not in shard", strings.Replace(goodIndex, `"model.c"`, `"model.d"`, 1), `tensor "model.d" is mapped to model-00002-of-00002.safetensors, which does not contain it`},
		{"escaping shard name", strings.Replace(goodIndex, "model-00002-of-00002", "../model-00002-of-00002", 1), "is not a file name in the folder"},
		{"empty map", `{"weight_map":{}}`, "weight_map is missing or empty"},
		{"bad json", `{"weight_map":`, IndexFile + ": "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeShards(t, dir, c.index)
			s, err := OpenModel(dir)
			if err == nil {
				s.Close()
				t.Fatalf("OpenModel succeeded, want error containing %q", c.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, filepath.Join(dir, IndexFile)+": ") || strings.Contains(msg, "\n") {
				t.Errorf("error = %q, want one line naming the index and containing %q", msg, c.want)
			}
		})
	}
	t.Run("empty folder", func(t *testing.T) {
		dir := t.TempDir()
		_, err := OpenModel(dir)
		if err == nil || !strings.Contains(err.Error(), "no model.safetensors or model.safetensors.index.json") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("bad single file", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, SingleFile)
		if err := os.WriteFile(p, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := OpenModel(dir)
		if err == nil || !strings.HasPrefix(err.Error(), p+": ") {
			t.Errorf("error = %v, want one naming %s", err, p)
		}
	})
}
