package prune_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/safetensors"
)

// writeModuleFile writes a module file by hand: header is the "sdtp"
// metadata, and each stage gets the four tensors with the given widths.
func writeModuleFile(t testing.TB, path, header string, stages, width, hidden int) {
	t.Helper()
	var ts []safetensors.Tensor
	for i := range stages {
		for _, p := range []struct {
			part  string
			shape []int
		}{{"fc1.weight", []int{width, hidden}}, {"fc1.bias", []int{width}}, {"fc2.weight", []int{2, width}}, {"fc2.bias", []int{2}}} {
			n := 1
			for _, d := range p.shape {
				n *= d
			}
			tn, err := safetensors.NewF32("stage."+string(rune('0'+i))+"."+p.part, p.shape, make([]float32, n))
			if err != nil {
				t.Fatal(err)
			}
			ts = append(ts, tn)
		}
	}
	if err := safetensors.Write(path, ts, map[string]string{"sdtp": header}); err != nil {
		t.Fatal(err)
	}
}

func moduleHeader(locations []int, ratio float64, width, hidden, layers int) string {
	js, _ := json.Marshal(map[string]any{
		"format": prune.FileFormat, "locations": locations, "ratio": ratio, "hidden_width": width,
		"model": map[string]any{"name": "m", "arch": "llama", "hidden_size": hidden, "num_layers": layers},
	})
	return string(js)
}

func TestLoadRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name          string
		header        string
		stages, width int
		hidden        int
		want          string
	}{
		{"good", moduleHeader([]int{1, 2}, 0.8, 4, 8, 3), 2, 4, 8, ""},
		{"header not JSON", "{", 1, 4, 8, "metadata header"},
		{"other format", `{"format":"x/1"}`, 1, 4, 8, `format "x/1"`},
		{"zero width", moduleHeader([]int{1}, 0.8, 0, 8, 3), 1, 4, 8, "positive hidden_width"},
		{"location past the layers", moduleHeader([]int{3}, 0.8, 4, 8, 3), 1, 4, 8, "3"},
		{"ratio above one", moduleHeader([]int{1}, 1.5, 4, 8, 3), 1, 4, 8, "1.5"},
		{"stage tensors missing", moduleHeader([]int{1, 2}, 0.8, 4, 8, 3), 1, 4, 8, `"stage.1.fc1.weight" not found`},
		{"width differs from the tensors", moduleHeader([]int{1}, 0.8, 4, 8, 3), 1, 2, 16, `"stage.0.fc1.weight" has shape [2 16], want [4 8]`},
		{"hidden size differs from the tensors", moduleHeader([]int{1}, 0.8, 4, 8, 3), 1, 4, 6, `has shape [4 6], want [4 8]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mod.safetensors")
			writeModuleFile(t, path, tc.header, tc.stages, tc.width, tc.hidden)
			m, err := prune.Load(path)
			if tc.want == "" {
				if err != nil || len(m.Stages) != tc.stages {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "mod.safetensors") {
				t.Fatalf("err = %v, want one naming mod.safetensors and %q", err, tc.want)
			}
		})
	}
}

// FuzzLoad feeds module files with arbitrary headers and tensor sizes to
// Load: it must return a module consistent with its header or an error,
// never panic.
func FuzzLoad(f *testing.F) {
	f.Add(moduleHeader([]int{1, 2}, 0.8, 4, 8, 3), 2, 4, 8)
	f.Add(moduleHeader([]int{0}, 1.0, 1, 1, 1), 1, 1, 1)
	f.Add(`{"format":"sdtp-prune-module/1","locations":[2,1],"ratio":0.5,"hidden_width":-3,"model":{"hidden_size":1e9}}`, 1, 2, 2)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, header string, stages, width, hidden int) {
		if stages < 0 || stages > 4 || width < 1 || width > 16 || hidden < 1 || hidden > 16 {
			return
		}
		path := filepath.Join(dir, "fuzz.safetensors")
		writeModuleFile(t, path, header, stages, width, hidden)
		m, err := prune.Load(path)
		if err != nil {
			return
		}
		if err := m.Check(m.Model.Hidden, m.Model.Layers); err != nil {
			t.Fatalf("loaded module fails its own check: %v", err)
		}
		if len(m.Stages) != len(m.Schedule.Locations) {
			t.Fatalf("%d stages for %d locations", len(m.Stages), len(m.Schedule.Locations))
		}
		for _, st := range m.Stages {
			if len(st.W1) != m.Width*m.Model.Hidden || len(st.B1) != m.Width || len(st.W2) != 2*m.Width || len(st.B2) != 2 {
				t.Fatalf("stage sizes %d %d %d %d for width %d hidden %d", len(st.W1), len(st.B1), len(st.W2), len(st.B2), m.Width, m.Model.Hidden)
			}
		}
	})
}
