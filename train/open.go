package train

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/train/dlm"
	"github.com/sdtp/sdtp/train/lm"
)

// HostBackend is the backend name that selects the float64 host decoder.
const HostBackend = "cpu"

// CPUDeviceBackend selects the CPU backend through train/dlm: float32
// activations over the weights as stored, on all cores. It is the device
// path without a GPU, for models the float64 host decoder is too slow for
// (a few tens of millions of parameters at thousands of tokens).
const CPUDeviceBackend = "cpu-f32"

// OpenOptions choose where the frozen model runs.
type OpenOptions struct {
	// Backend is HostBackend ("cpu": train/lm, float64 on the host, the
	// reference), CPUDeviceBackend ("cpu-f32": train/dlm on the CPU
	// backend) or the name of a registered backend with training ops
	// ("cuda", "cuda-f32"), which runs train/dlm on it.
	Backend string
	// Device selects the GPU.
	Device int
	// Synthetic allows a synthetic:NAME model (random weights), for
	// measuring speed and memory only.
	Synthetic bool
}

// Open loads the model at spec (a Hugging Face folder or a llama2.c
// checkpoint) for saliency, training and evaluation. The returned
// function releases it.
func Open(spec string, o OpenOptions) (Frozen, func() error, error) {
	if strings.HasPrefix(spec, model.SyntheticPrefix) && !o.Synthetic {
		return nil, nil, fmt.Errorf("model %s: saliency and training need trained weights, not a synthetic model", spec)
	}
	if o.Backend == HostBackend || o.Backend == "" {
		m, err := lm.Open(spec)
		if err != nil {
			return nil, nil, err
		}
		return Host(m), func() error { return nil }, nil
	}
	name := o.Backend
	if name == CPUDeviceBackend {
		name = "cpu"
	}
	b, err := backend.Open(name, backend.Options{Device: o.Device})
	if err != nil {
		return nil, nil, err
	}
	if _, ok := b.(backend.Trainer); !ok {
		b.Close()
		return nil, nil, fmt.Errorf("backend %s has no training ops (use %s or cuda)", o.Backend, HostBackend)
	}
	var m *model.Model
	if strings.HasPrefix(spec, model.SyntheticPrefix) {
		var c model.Config
		if c, err = model.SyntheticConfig(strings.TrimPrefix(spec, model.SyntheticPrefix)); err == nil {
			m, err = model.NewSynthetic(b, c, model.SyntheticOptions{})
		}
	} else {
		m, err = model.Open(b, spec)
	}
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	d, err := dlm.New(m)
	if err != nil {
		m.Close()
		b.Close()
		return nil, nil, err
	}
	closer := func() error {
		err := m.Close()
		if e := b.Close(); err == nil {
			err = e
		}
		return err
	}
	return Device(d, sync.OnceValues(func() ([sha256.Size]byte, error) { return WeightsDigest(spec) })), closer, nil
}

// WeightsDigest is a SHA-256 over the files that hold a model's weights
// and shape: a Hugging Face folder's config.json and *.safetensors files
// (in name order), or a llama2.c checkpoint; for a synthetic model, its
// name (its weights follow from it).
func WeightsDigest(spec string) ([sha256.Size]byte, error) {
	h := sha256.New()
	if strings.HasPrefix(spec, model.SyntheticPrefix) {
		io.WriteString(h, spec)
		return [sha256.Size]byte(h.Sum(nil)), nil
	}
	files := []string{spec}
	if st, err := os.Stat(spec); err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("model %s: %w", spec, err)
	} else if st.IsDir() {
		w, err := filepath.Glob(filepath.Join(spec, "*.safetensors"))
		if err != nil {
			return [sha256.Size]byte{}, err
		}
		slices.Sort(w)
		files = append([]string{filepath.Join(spec, "config.json")}, w...)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return [sha256.Size]byte{}, fmt.Errorf("model digest: %w", err)
		}
		fmt.Fprintf(h, "%s|", filepath.Base(name))
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return [sha256.Size]byte{}, fmt.Errorf("model digest: %s: %w", name, err)
		}
	}
	return [sha256.Size]byte(h.Sum(nil)), nil
}
