package model

import (
	"fmt"
	"strings"

	"github.com/sdtp/sdtp/hfconfig"
)

// LoadHFConfig reads a Hugging Face config.json into a Config.
func LoadHFConfig(path string) (Config, error) {
	h, err := hfconfig.Load(path)
	if err != nil {
		return Config{}, err
	}
	return FromHF(h, path)
}

// FromHF converts a parsed config.json (file names it in errors).
func FromHF(h *hfconfig.Config, file string) (Config, error) {
	if h.OutputBias() {
		return Config{}, fmt.Errorf("%s: attention_bias on the output projection is not supported", file)
	}
	if h.MLPBias {
		return Config{}, fmt.Errorf("%s: mlp_bias is not supported", file)
	}
	if h.HiddenAct != "" && h.HiddenAct != "silu" {
		return Config{}, fmt.Errorf("%s: hidden_act %q is not supported (want silu)", file, h.HiddenAct)
	}
	c := Config{
		Arch: h.ModelType, Hidden: h.HiddenSize, FFN: h.IntermediateSize, Layers: h.NumHiddenLayers,
		Heads: h.NumAttentionHeads, KVHeads: h.NumKeyValueHeads, HeadDim: h.HeadDim, Vocab: h.VocabSize,
		MaxPos: h.MaxPositionEmbeddings, RopeTheta: h.RopeTheta,
		NormEps: h.RMSNormEps, QKVBias: h.QKVBias(), TiedEmbeddings: h.TieWordEmbeddings,
		BOS: -1, EOS: append([]int(nil), h.EOSTokenIDs...),
	}
	if len(h.BOSTokenIDs) > 0 {
		c.BOS = h.BOSTokenIDs[0]
	}
	for l := 0; l < h.NumHiddenLayers; l++ {
		if w := h.LayerWindow(l); w > 0 && (c.SlidingWindow == 0 || w < c.SlidingWindow) {
			c.SlidingWindow = w
		}
	}
	if s := h.RopeScaling; s != nil {
		typ := strings.ToLower(s.Type)
		if typ != "linear" && typ != "llama3" {
			return Config{}, fmt.Errorf("%s: rope_scaling type %q is not supported (have linear, llama3)", file, s.Type)
		}
		c.RopeScaling = &RopeScaling{Type: typ, Factor: s.Factor, LowFreqFactor: s.LowFreqFactor, HighFreqFactor: s.HighFreqFactor, OriginalMaxPositionEmbs: s.OriginalMaxPositionEmbeddings}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}
