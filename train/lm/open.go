package lm

import (
	"fmt"

	"github.com/sdtp/sdtp/model"
)

// Open loads a model's weights onto the host from spec (see model.Locate):
// a Hugging Face model folder or a llama2.c checkpoint file. The files are
// closed before it returns.
func Open(spec string) (*Model, error) {
	src, err := model.Locate(spec)
	if err != nil {
		return nil, err
	}
	if src.Synthetic() {
		return nil, fmt.Errorf("model %s: training and saliency need trained weights, not a synthetic model", spec)
	}
	ts, closer, err := src.OpenTensors()
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	m, err := Load(src.Config, ts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	return m, nil
}
