package prune

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sdtp/sdtp/safetensors"
)

// FileFormat identifies a pruning-module file in its safetensors metadata.
const FileFormat = "sdtp-prune-module/1"

// header is the JSON stored under the "sdtp" metadata key of a module file.
type header struct {
	Format    string          `json:"format"`
	Locations []int           `json:"locations"`
	Ratio     float64         `json:"ratio"`
	Width     int             `json:"hidden_width"`
	Model     ModelInfo       `json:"model"`
	Training  json.RawMessage `json:"training,omitempty"`
}

func tensorName(stage int, part string) string { return fmt.Sprintf("stage.%d.%s", stage, part) }

// Save writes the module as safetensors (F32 tensors stage.I.fc1.weight,
// fc1.bias, fc2.weight, fc2.bias) with the header as JSON under the
// metadata key "sdtp". The file appears whole or not at all.
func (m *Module) Save(path string) error {
	h := header{Format: FileFormat, Locations: m.Schedule.Locations, Ratio: m.Schedule.Ratio, Width: m.Width, Model: m.Model, Training: m.Training}
	js, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("pruning module %s: %w", path, err)
	}
	var ts []safetensors.Tensor
	d := m.Model.Hidden
	for i, st := range m.Stages {
		for _, p := range []struct {
			part  string
			shape []int
			v     []float32
		}{{"fc1.weight", []int{m.Width, d}, st.W1}, {"fc1.bias", []int{m.Width}, st.B1}, {"fc2.weight", []int{2, m.Width}, st.W2}, {"fc2.bias", []int{2}, st.B2}} {
			t, err := safetensors.NewF32(tensorName(i, p.part), p.shape, p.v)
			if err != nil {
				return fmt.Errorf("pruning module %s: %w", path, err)
			}
			ts = append(ts, t)
		}
	}
	return safetensors.Write(path, ts, map[string]string{"sdtp": string(js)})
}

// Load reads a module file written by Save.
func Load(path string) (*Module, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pruning module: %w", err)
	}
	defer f.Close()
	raw, ok := f.Metadata()["sdtp"]
	if !ok {
		return nil, fmt.Errorf("pruning module %s: no \"sdtp\" metadata header (not a module file?)", path)
	}
	var h header
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return nil, fmt.Errorf("pruning module %s: metadata header: %w", path, err)
	}
	if h.Format != FileFormat {
		return nil, fmt.Errorf("pruning module %s: format %q, want %q", path, h.Format, FileFormat)
	}
	if h.Width <= 0 || h.Model.Hidden <= 0 || h.Model.Layers <= 0 {
		return nil, fmt.Errorf("pruning module %s: header needs positive hidden_width, model.hidden_size, model.num_layers", path)
	}
	if err := CheckWidth(h.Width, h.Model.Hidden); err != nil {
		return nil, fmt.Errorf("pruning module %s: %w", path, err)
	}
	m := &Module{Schedule: Schedule{Locations: h.Locations, Ratio: h.Ratio}, Width: h.Width, Model: h.Model, Training: h.Training}
	if err := m.Schedule.Validate(h.Model.Layers); err != nil {
		return nil, fmt.Errorf("pruning module %s: %w", path, err)
	}
	d := h.Model.Hidden
	for i := range h.Locations {
		var st Stage
		for _, p := range []struct {
			part  string
			dst   *[]float32
			shape []int
		}{{"fc1.weight", &st.W1, []int{h.Width, d}}, {"fc1.bias", &st.B1, []int{h.Width}}, {"fc2.weight", &st.W2, []int{2, h.Width}}, {"fc2.bias", &st.B2, []int{2}}} {
			t, err := f.Tensor(tensorName(i, p.part))
			if err != nil {
				return nil, fmt.Errorf("pruning module: %w", err)
			}
			if !slices.Equal(t.Shape, p.shape) {
				return nil, fmt.Errorf("pruning module %s: tensor %q has shape %v, want %v (hidden_width %d, model.hidden_size %d)", path, t.Name, t.Shape, p.shape, h.Width, d)
			}
			v, err := t.Float32s()
			if err != nil {
				return nil, fmt.Errorf("pruning module %s: tensor %q: %w", path, t.Name, err)
			}
			*p.dst = v
		}
		m.Stages = append(m.Stages, st)
	}
	return m, nil
}
