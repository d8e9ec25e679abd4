package lm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sdtp/sdtp/llama2c"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/safetensors"
)

// Open loads a model's weights onto the host from spec: a Hugging Face
// model folder (config.json and safetensors weights) or a llama2.c
// checkpoint file. The files are closed before it returns.
func Open(spec string) (*Model, error) {
	if strings.HasPrefix(spec, model.SyntheticPrefix) {
		return nil, fmt.Errorf("model %s: training and saliency need trained weights, not a synthetic model", spec)
	}
	st, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	if st.IsDir() {
		c, err := model.LoadHFConfig(filepath.Join(spec, "config.json"))
		if err != nil {
			return nil, err
		}
		c.Name = filepath.Base(filepath.Clean(spec))
		set, err := safetensors.OpenModel(spec)
		if err != nil {
			return nil, err
		}
		defer set.Close()
		m, err := Load(c, set)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", spec, err)
		}
		return m, nil
	}
	ck, err := llama2c.Open(spec)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	c, err := model.FromHF(ck.Config(), spec)
	if err != nil {
		return nil, err
	}
	c.Arch = "llama2c"
	c.Name = strings.TrimSuffix(filepath.Base(spec), ".bin")
	c.EOS = nil
	m, err := Load(c, ck)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	return m, nil
}
