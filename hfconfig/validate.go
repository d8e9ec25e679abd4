package hfconfig

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// maxDim bounds every size field, far above any real model, so products of a
// few sizes cannot overflow an int.
const maxDim = 1 << 24

// Validate checks the configuration for values the decoder cannot run. Errors
// name the field (config.json spelling) and its value, on one line.
func (c *Config) Validate() error {
	if !slices.Contains(SupportedModelTypes, c.ModelType) {
		return fmt.Errorf("model_type %q is not supported (supported: %s)", c.ModelType, strings.Join(SupportedModelTypes, ", "))
	}
	sizes := []struct {
		field string
		v     int
	}{
		{"hidden_size", c.HiddenSize},
		{"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads},
		{"head_dim", c.HeadDim},
		{"vocab_size", c.VocabSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	}
	for _, s := range sizes {
		if s.v <= 0 || s.v > maxDim {
			return fmt.Errorf("%s %d is out of range (1 to %d)", s.field, s.v, maxDim)
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("num_key_value_heads %d does not divide num_attention_heads %d", c.NumKeyValueHeads, c.NumAttentionHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("head_dim %d must be even for rotary embeddings", c.HeadDim)
	}
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		return fmt.Errorf("rope_theta %g must be positive", c.RopeTheta)
	}
	if !(c.RMSNormEps > 0) || c.RMSNormEps >= 1 {
		return fmt.Errorf("rms_norm_eps %g is out of range (0 to 1)", c.RMSNormEps)
	}
	if c.HiddenAct != "silu" {
		return fmt.Errorf("hidden_act %q is not supported (want silu)", c.HiddenAct)
	}
	if c.MLPBias {
		return fmt.Errorf("mlp_bias true is not supported")
	}
	if c.SlidingWindow < 0 {
		return fmt.Errorf("sliding_window %d must not be negative", c.SlidingWindow)
	}
	if c.MaxWindowLayers < 0 {
		return fmt.Errorf("max_window_layers %d must not be negative", c.MaxWindowLayers)
	}
	if n := len(c.LayerTypes); n > 0 {
		if n != c.NumHiddenLayers {
			return fmt.Errorf("layer_types has %d entries for num_hidden_layers %d", n, c.NumHiddenLayers)
		}
		for i, t := range c.LayerTypes {
			if t != "full_attention" && t != "sliding_attention" {
				return fmt.Errorf("layer_types[%d] %q is not supported (want full_attention or sliding_attention)", i, t)
			}
		}
	}
	for _, ids := range []struct {
		field string
		v     []int
	}{{"bos_token_id", c.BOSTokenIDs}, {"eos_token_id", c.EOSTokenIDs}} {
		for _, id := range ids.v {
			if id < 0 {
				return fmt.Errorf("%s %d must not be negative", ids.field, id)
			}
		}
	}
	if rs := c.RopeScaling; rs != nil {
		if rs.Type == "" {
			return fmt.Errorf("rope_scaling has an empty type")
		}
		if rs.Factor < 0 || math.IsNaN(rs.Factor) {
			return fmt.Errorf("rope_scaling factor %g must not be negative", rs.Factor)
		}
		if rs.OriginalMaxPositionEmbeddings < 0 {
			return fmt.Errorf("rope_scaling original_max_position_embeddings %d must not be negative", rs.OriginalMaxPositionEmbeddings)
		}
	}
	return nil
}
