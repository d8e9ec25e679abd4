package model

import (
	"fmt"
	"io"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/safetensors"
)

// TensorSource yields stored tensors by their Hugging Face names.
type TensorSource interface {
	Tensor(name string) (safetensors.Tensor, error)
}

// dtypeOf maps a stored dtype name to a backend weight type.
func dtypeOf(s string) (backend.DType, bool) {
	switch s {
	case "F32":
		return backend.F32, true
	case "BF16":
		return backend.BF16, true
	case "F16":
		return backend.F16, true
	}
	return 0, false
}

// loader reads weights from a source onto a backend, naming the file in
// errors.
type loader struct {
	src  TensorSource
	b    backend.Backend
	file string
	m    *Model
}

// weight loads name, checking it has the wanted shape (a vector is 1×n).
func (ld *loader) weight(name string, rows, cols int) (backend.Weight, error) {
	t, err := ld.src.Tensor(name)
	if err != nil {
		return nil, err
	}
	var r, c int
	switch len(t.Shape) {
	case 1:
		r, c = 1, t.Shape[0]
	case 2:
		r, c = t.Shape[0], t.Shape[1]
	default:
		return nil, fmt.Errorf("%s: tensor %q has %d dimensions, want 2", ld.file, name, len(t.Shape))
	}
	if r != rows || c != cols {
		return nil, fmt.Errorf("%s: tensor %q has shape %v, want [%d %d] from the config", ld.file, name, t.Shape, rows, cols)
	}
	dt, ok := dtypeOf(t.DType)
	if !ok {
		return nil, fmt.Errorf("%s: tensor %q has dtype %s; supported are F32, BF16, F16", ld.file, name, t.DType)
	}
	w, err := ld.b.NewWeight(dt, rows, cols, t.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", ld.file, name, err)
	}
	ld.m.weights = append(ld.m.weights, w)
	return w, nil
}

// loadWeights fills m's weights from src under the Hugging Face names.
func loadWeights(m *Model, src TensorSource, file string) error {
	ld := &loader{src: src, b: m.B, file: file, m: m}
	m.Layers = make([]Layer, m.Config.Layers)
	for _, t := range m.Config.Tensors() {
		w, err := ld.weight(t.Name(), t.Rows, t.Cols)
		if err != nil {
			return err
		}
		*m.Slot(t) = w
	}
	if m.Config.TiedEmbeddings {
		m.LMHead = m.Embed
	}
	return nil
}

// Open loads a model from spec (see Locate): a synthetic shape gets
// random bf16 weights made by the backend; stored weights are mapped, not
// copied, where the backend allows.
func Open(b backend.Backend, spec string) (*Model, error) {
	src, err := Locate(spec)
	if err != nil {
		return nil, err
	}
	return open(b, src)
}

// OpenHF loads a Hugging Face model folder.
func OpenHF(b backend.Backend, dir string) (*Model, error) {
	src, err := Locate(dir)
	if err != nil {
		return nil, err
	}
	if src.kind != hfSource {
		return nil, fmt.Errorf("model %s: not a Hugging Face model folder", dir)
	}
	return open(b, src)
}

func open(b backend.Backend, src *Source) (*Model, error) {
	if src.Synthetic() {
		return NewSynthetic(b, src.Config, SyntheticOptions{DType: backend.BF16})
	}
	ts, closer, err := src.OpenTensors()
	if err != nil {
		return nil, err
	}
	return newModel(b, src.Config, ts, src.Spec, closer)
}

// newModel validates c and loads weights from src into a model that owns closer.
func newModel(b backend.Backend, c Config, src TensorSource, file string, closer io.Closer) (*Model, error) {
	if err := c.Validate(); err != nil {
		closer.Close()
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	m := &Model{Config: c, B: b, invFreq: c.InvFreq(), closers: []io.Closer{closer}}
	if err := loadWeights(m, src, file); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// ReadConfig returns the configuration of the model spec names (as Open
// accepts it) without loading weights.
func ReadConfig(spec string) (Config, error) {
	src, err := Locate(spec)
	if err != nil {
		return Config{}, err
	}
	return src.Config, nil
}
