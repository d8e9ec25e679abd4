package llama2c

import (
	"fmt"

	"github.com/sdtp/sdtp/hfconfig"
	"github.com/sdtp/sdtp/internal/mmap"
	"github.com/sdtp/sdtp/safetensors"
)

// Path returns the path the checkpoint was opened with.
func (c *Checkpoint) Path() string { return c.path }

// Names returns the Hugging Face names of every tensor, sorted.
func (c *Checkpoint) Names() []string { return append([]string(nil), c.names...) }

// Has reports whether the checkpoint holds a tensor called name.
func (c *Checkpoint) Has(name string) bool {
	_, ok := c.slots[name]
	return ok
}

// Tensor returns the F32 tensor called name (a Hugging Face Llama name).
// q_proj and k_proj are fresh copies with rows permuted into the Hugging
// Face RoPE order; every other tensor aliases the read-only mapping and is
// valid until Close. lm_head.weight is the embedding when shared.
func (c *Checkpoint) Tensor(name string) (safetensors.Tensor, error) {
	s, ok := c.slots[name]
	if !ok {
		return safetensors.Tensor{}, fmt.Errorf("%s: tensor %q not found", c.path, name)
	}
	if c.data == nil {
		return safetensors.Tensor{}, fmt.Errorf("%s: tensor %q: checkpoint is closed", c.path, name)
	}
	n := 1
	for _, d := range s.shape {
		n *= d
	}
	lo := headerBytes + 4*s.off
	hi := lo + 4*n
	data := c.data[lo:hi:hi]
	if s.ropeHeads > 0 {
		data = permuteRows(data, s.ropeHeads, s.shape[0]/s.ropeHeads, s.shape[1])
	}
	return safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: append([]int{}, s.shape...), Data: data}, nil
}

// permuteRows reorders the rows of a [heads*headDim, cols] float32 matrix
// (raw little-endian bytes) from llama2.c's interleaved RoPE pairs to the
// Hugging Face half-split order: within each head, row 2i+j moves to
// j*headDim/2 + i.
func permuteRows(src []byte, heads, headDim, cols int) []byte {
	dst := make([]byte, len(src))
	rowBytes := 4 * cols
	half := headDim / 2
	for h := 0; h < heads; h++ {
		base := h * headDim
		for i := 0; i < half; i++ {
			for j := 0; j < 2; j++ {
				from := (base + 2*i + j) * rowBytes
				to := (base + j*half + i) * rowBytes
				copy(dst[to:to+rowBytes], src[from:from+rowBytes])
			}
		}
	}
	return dst
}

// Config returns the checkpoint's shape as a Hugging Face Llama config:
// RMSNorm epsilon 1e-5 and RoPE theta 10000 as llama2.c uses, BOS id 1.
// EOSTokenIDs is empty: llama2.c's run loop stops when it samples BOS (1),
// which callers that reproduce it must handle themselves.
func (c *Checkpoint) Config() *hfconfig.Config {
	h := c.Header
	return &hfconfig.Config{
		ModelType:             "llama",
		Architectures:         []string{"LlamaForCausalLM"},
		HiddenSize:            h.Dim,
		IntermediateSize:      h.HiddenDim,
		NumHiddenLayers:       h.NLayers,
		NumAttentionHeads:     h.NHeads,
		NumKeyValueHeads:      h.NKVHeads,
		HeadDim:               h.HeadDim(),
		VocabSize:             h.VocabSize,
		MaxPositionEmbeddings: h.SeqLen,
		RopeTheta:             10000,
		RMSNormEps:            1e-5,
		TieWordEmbeddings:     h.SharedClassifier,
		HiddenAct:             "silu",
		BOSTokenIDs:           []int{1},
		DType:                 "float32",
	}
}

// Close unmaps the checkpoint. Aliasing tensors must not be used afterwards.
func (c *Checkpoint) Close() error {
	return mmap.Release(c.path, &c.data)
}
