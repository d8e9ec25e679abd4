package model

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sdtp/sdtp/llama2c"
	"github.com/sdtp/sdtp/safetensors"
)

// Source is a model named by a spec, resolved: its configuration and
// where its weights are stored. Open, ReadConfig and the host float64
// decoder (train/lm) all read a spec through Locate, so every command
// accepts the same forms.
type Source struct {
	// Spec is the spec as given.
	Spec string
	// Config is the model's configuration; Name is the synthetic shape,
	// the folder's name or the checkpoint's file name without ".bin".
	Config Config
	kind   sourceKind
}

type sourceKind uint8

const (
	syntheticSource sourceKind = iota
	hfSource                   // a Hugging Face folder
	llama2cSource              // a llama2.c checkpoint file
)

// Locate resolves spec: "synthetic:NAME" (random weights of a named
// shape), a Hugging Face model folder (config.json and safetensors
// weights), or a llama2.c checkpoint file. It reads the configuration, not
// the weights.
func Locate(spec string) (*Source, error) {
	if strings.HasPrefix(spec, SyntheticPrefix) {
		c, err := SyntheticConfig(spec)
		if err != nil {
			return nil, err
		}
		return &Source{Spec: spec, Config: c, kind: syntheticSource}, nil
	}
	st, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	if st.IsDir() {
		c, err := LoadHFConfig(filepath.Join(spec, "config.json"))
		if err != nil {
			return nil, err
		}
		c.Name = filepath.Base(filepath.Clean(spec))
		return &Source{Spec: spec, Config: c, kind: hfSource}, nil
	}
	ck, err := llama2c.Open(spec)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	c, err := FromHF(ck.Config(), spec)
	if err != nil {
		return nil, err
	}
	// No EOS: llama2.c stops when BOS is sampled. Package llama2c hands out
	// the q and k rows permuted into the Hugging Face RoPE order.
	c.Arch, c.Name, c.EOS = "llama2c", strings.TrimSuffix(filepath.Base(spec), ".bin"), nil
	return &Source{Spec: spec, Config: c, kind: llama2cSource}, nil
}

// Synthetic reports whether the model has no stored weights (a synthetic
// shape, whose weights the backend generates).
func (s *Source) Synthetic() bool { return s.kind == syntheticSource }

// OpenTensors opens the stored weights, mapped rather than read; close
// the returned closer once nothing uses them. A synthetic source has none.
func (s *Source) OpenTensors() (TensorSource, io.Closer, error) {
	switch s.kind {
	case hfSource:
		set, err := safetensors.OpenModel(s.Spec)
		if err != nil {
			return nil, nil, err
		}
		return set, set, nil
	case llama2cSource:
		ck, err := llama2c.Open(s.Spec)
		if err != nil {
			return nil, nil, err
		}
		return ck, ck, nil
	}
	return nil, nil, fmt.Errorf("model %s: a synthetic model has no stored weights", s.Spec)
}
