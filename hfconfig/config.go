// Package hfconfig reads a Hugging Face config.json for the decoder families
// sdtp runs (llama, mistral, qwen2) into one validated struct, filling the
// defaults transformers would use. Both the transformers 4 layout (rope_theta,
// rope_scaling, torch_dtype) and the transformers 5 layout (rope_parameters,
// dtype, layer_types) are understood. It also names the stored tensors
// (TensorName), the one table every weight loader reads them by.
package hfconfig

import "encoding/json"

// SupportedModelTypes lists the model_type values Parse accepts.
var SupportedModelTypes = []string{"llama", "mistral", "qwen2"}

// Config is a parsed and validated decoder configuration. Fields hold the
// effective values: absent fields carry transformers' defaults.
type Config struct {
	ModelType     string   // "llama", "mistral" or "qwen2"
	Architectures []string // e.g. ["Qwen2ForCausalLM"]; may be empty

	HiddenSize            int
	IntermediateSize      int
	NumHiddenLayers       int
	NumAttentionHeads     int
	NumKeyValueHeads      int // defaults to NumAttentionHeads
	HeadDim               int // defaults to HiddenSize / NumAttentionHeads
	VocabSize             int
	MaxPositionEmbeddings int // defaults per model type (llama 2048, mistral 131072, qwen2 32768)

	RopeTheta   float64      // defaults to 10000
	RopeScaling *RopeScaling // nil for plain RoPE (rope_type "default" or absent)

	RMSNormEps        float64 // defaults to 1e-6
	TieWordEmbeddings bool
	HiddenAct         string // "silu" (the only activation these families use)

	// Sliding-window attention, as stored. Use LayerWindow for the window a
	// given layer applies.
	SlidingWindow    int      // 0 when absent or null
	UseSlidingWindow bool     // qwen2 switch; true by default for mistral when a window is set
	MaxWindowLayers  int      // qwen2: layers below this index use full attention
	LayerTypes       []string // transformers 5: "full_attention" or "sliding_attention" per layer

	AttentionBias bool // llama/mistral attention_bias (bias on q, k, v and o)
	MLPBias       bool // llama mlp_bias

	BOSTokenIDs []int // bos_token_id (one id or a list); empty when null
	EOSTokenIDs []int // eos_token_id (one id or a list); empty when null

	DType string // torch_dtype or dtype as written, e.g. "bfloat16"; "" when absent
}

// RopeScaling holds a rope_scaling (or non-default rope_parameters) object:
// the common fields decoded, and the whole object kept raw.
type RopeScaling struct {
	Type                          string  // "type" or "rope_type": linear, dynamic, yarn, llama3, ...
	Factor                        float64 // 0 when absent
	LowFreqFactor                 float64 // llama3
	HighFreqFactor                float64 // llama3
	OriginalMaxPositionEmbeddings int     // llama3, yarn
	Raw                           json.RawMessage
}

// QKVBias reports whether the q, k and v projections carry a bias:
// always for qwen2, attention_bias for llama and mistral.
func (c *Config) QKVBias() bool { return c.ModelType == "qwen2" || c.AttentionBias }

// OutputBias reports whether the attention output projection carries a bias
// (only with llama's attention_bias; qwen2 has none).
func (c *Config) OutputBias() bool { return c.ModelType != "qwen2" && c.AttentionBias }

// LayerWindow returns the sliding attention window of layer i (the number of
// most recent positions a query may see), or 0 for full causal attention.
// It follows transformers: layer_types when present; otherwise qwen2 slides
// on layers at or above max_window_layers when use_sliding_window is set, and
// mistral slides on every layer when sliding_window is set.
func (c *Config) LayerWindow(i int) int {
	if c.SlidingWindow <= 0 {
		return 0
	}
	if len(c.LayerTypes) > 0 {
		if i >= 0 && i < len(c.LayerTypes) && c.LayerTypes[i] == "sliding_attention" {
			return c.SlidingWindow
		}
		return 0
	}
	switch c.ModelType {
	case "qwen2":
		if c.UseSlidingWindow && i >= c.MaxWindowLayers {
			return c.SlidingWindow
		}
	case "mistral":
		if c.UseSlidingWindow {
			return c.SlidingWindow
		}
	}
	return 0
}
