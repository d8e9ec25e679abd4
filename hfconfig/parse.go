package hfconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Load reads and validates the config.json at path. Errors name the path and
// the field at fault.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, b)
}

// Parse decodes and validates config.json contents; errors are prefixed
// "config.json: ".
func Parse(data []byte) (*Config, error) { return parse("config.json", data) }

// rawConfig mirrors the fields read from config.json; pointers tell absent
// fields apart from zero values.
type rawConfig struct {
	ModelType             *string         `json:"model_type"`
	Architectures         []string        `json:"architectures"`
	HiddenSize            *int            `json:"hidden_size"`
	IntermediateSize      *int            `json:"intermediate_size"`
	NumHiddenLayers       *int            `json:"num_hidden_layers"`
	NumAttentionHeads     *int            `json:"num_attention_heads"`
	NumKeyValueHeads      *int            `json:"num_key_value_heads"`
	HeadDim               *int            `json:"head_dim"`
	VocabSize             *int            `json:"vocab_size"`
	MaxPositionEmbeddings *int            `json:"max_position_embeddings"`
	RopeTheta             *float64        `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	RopeParameters        json.RawMessage `json:"rope_parameters"`
	RMSNormEps            *float64        `json:"rms_norm_eps"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	HiddenAct             *string         `json:"hidden_act"`
	SlidingWindow         *int            `json:"sliding_window"`
	UseSlidingWindow      *bool           `json:"use_sliding_window"`
	MaxWindowLayers       *int            `json:"max_window_layers"`
	LayerTypes            []string        `json:"layer_types"`
	AttentionBias         *bool           `json:"attention_bias"`
	MLPBias               *bool           `json:"mlp_bias"`
	BOSTokenID            json.RawMessage `json:"bos_token_id"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
	TorchDType            *string         `json:"torch_dtype"`
	DType                 *string         `json:"dtype"`
}

// rawRope mirrors a rope_scaling or rope_parameters object.
type rawRope struct {
	Type                          *string  `json:"type"`
	RopeType                      *string  `json:"rope_type"`
	RopeTheta                     *float64 `json:"rope_theta"`
	Factor                        *float64 `json:"factor"`
	LowFreqFactor                 *float64 `json:"low_freq_factor"`
	HighFreqFactor                *float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings *int     `json:"original_max_position_embeddings"`
}

// modelDefaults holds the transformers defaults that differ between families.
var modelDefaults = map[string]struct {
	maxPos          int
	maxWindowLayers int
}{
	"llama":   {maxPos: 2048},
	"mistral": {maxPos: 4096 * 32},
	"qwen2":   {maxPos: 32768, maxWindowLayers: 28},
}

func parse(name string, data []byte) (*Config, error) {
	var r rawConfig
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %s", name, describeJSONError(err))
	}
	c, err := fromRaw(&r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// fromRaw applies defaults and decodes the polymorphic fields.
func fromRaw(r *rawConfig) (*Config, error) {
	if r.ModelType == nil {
		return nil, fmt.Errorf("missing field model_type (supported: %s)", strings.Join(SupportedModelTypes, ", "))
	}
	c := &Config{ModelType: *r.ModelType, Architectures: r.Architectures}
	def, ok := modelDefaults[c.ModelType]
	if !ok {
		return nil, fmt.Errorf("model_type %q is not supported (supported: %s)", c.ModelType, strings.Join(SupportedModelTypes, ", "))
	}
	required := []struct {
		field string
		src   *int
		dst   *int
	}{
		{"hidden_size", r.HiddenSize, &c.HiddenSize},
		{"intermediate_size", r.IntermediateSize, &c.IntermediateSize},
		{"num_hidden_layers", r.NumHiddenLayers, &c.NumHiddenLayers},
		{"num_attention_heads", r.NumAttentionHeads, &c.NumAttentionHeads},
		{"vocab_size", r.VocabSize, &c.VocabSize},
	}
	for _, f := range required {
		if f.src == nil {
			return nil, fmt.Errorf("missing field %s", f.field)
		}
		*f.dst = *f.src
	}
	c.NumKeyValueHeads = intOr(r.NumKeyValueHeads, c.NumAttentionHeads)
	if r.HeadDim != nil {
		c.HeadDim = *r.HeadDim
	} else if c.NumAttentionHeads > 0 {
		if c.HiddenSize%c.NumAttentionHeads != 0 {
			return nil, fmt.Errorf("num_attention_heads %d does not divide hidden_size %d", c.NumAttentionHeads, c.HiddenSize)
		}
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	c.MaxPositionEmbeddings = intOr(r.MaxPositionEmbeddings, def.maxPos)
	c.RMSNormEps = 1e-6
	if r.RMSNormEps != nil {
		c.RMSNormEps = *r.RMSNormEps
	}
	c.TieWordEmbeddings = r.TieWordEmbeddings != nil && *r.TieWordEmbeddings
	c.HiddenAct = "silu"
	if r.HiddenAct != nil {
		c.HiddenAct = *r.HiddenAct
	}
	c.SlidingWindow = intOr(r.SlidingWindow, 0)
	c.UseSlidingWindow = c.ModelType == "mistral" && c.SlidingWindow > 0
	if r.UseSlidingWindow != nil {
		c.UseSlidingWindow = *r.UseSlidingWindow
	}
	c.MaxWindowLayers = intOr(r.MaxWindowLayers, def.maxWindowLayers)
	c.LayerTypes = r.LayerTypes
	c.AttentionBias = r.AttentionBias != nil && *r.AttentionBias
	c.MLPBias = r.MLPBias != nil && *r.MLPBias
	var err error
	if c.BOSTokenIDs, err = tokenIDs("bos_token_id", r.BOSTokenID); err != nil {
		return nil, err
	}
	if c.EOSTokenIDs, err = tokenIDs("eos_token_id", r.EOSTokenID); err != nil {
		return nil, err
	}
	switch {
	case r.DType != nil:
		c.DType = *r.DType
	case r.TorchDType != nil:
		c.DType = *r.TorchDType
	}
	if err := c.setRope(r); err != nil {
		return nil, err
	}
	return c, nil
}

// setRope fills RopeTheta and RopeScaling from rope_parameters (transformers
// 5) or rope_theta and rope_scaling (transformers 4).
func (c *Config) setRope(r *rawConfig) error {
	c.RopeTheta = 10000
	if r.RopeTheta != nil {
		c.RopeTheta = *r.RopeTheta
	}
	field, obj := "rope_scaling", r.RopeScaling
	if !isNull(r.RopeParameters) {
		field, obj = "rope_parameters", r.RopeParameters
	}
	if isNull(obj) {
		return nil
	}
	var rr rawRope
	if err := json.Unmarshal(obj, &rr); err != nil {
		return fmt.Errorf("%s: %s", field, describeJSONError(err))
	}
	if rr.RopeTheta != nil {
		c.RopeTheta = *rr.RopeTheta
	}
	typ := "default"
	switch {
	case rr.RopeType != nil:
		typ = *rr.RopeType
	case rr.Type != nil:
		typ = *rr.Type
	}
	if typ == "default" {
		return nil
	}
	c.RopeScaling = &RopeScaling{
		Type:                          typ,
		Factor:                        floatOr(rr.Factor, 0),
		LowFreqFactor:                 floatOr(rr.LowFreqFactor, 0),
		HighFreqFactor:                floatOr(rr.HighFreqFactor, 0),
		OriginalMaxPositionEmbeddings: intOr(rr.OriginalMaxPositionEmbeddings, 0),
		Raw:                           append(json.RawMessage(nil), obj...),
	}
	return nil
}

// tokenIDs decodes a token id field that is null, one int or a list of ints.
func tokenIDs(field string, raw json.RawMessage) ([]int, error) {
	if isNull(raw) {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("field %s: want an integer or a list of integers, got %s", field, clip(raw))
	}
	return many, nil
}

// describeJSONError turns a decoding error into one line naming the field.
func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Sprintf("want a JSON object, got %s", te.Value)
		}
		return fmt.Sprintf("field %s: cannot use JSON %s as %s", te.Field, te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// clip shortens raw JSON for an error message.
func clip(raw json.RawMessage) string {
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func floatOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
