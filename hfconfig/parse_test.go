package hfconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
)

// Configs in the layouts published checkpoints use (transformers 4 era).
const (
	qwen2Config = `{
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936}`
	llama3Config = `{
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
  "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.43.0.dev0",
  "use_cache": true, "vocab_size": 128256}`
	mistralConfig = `{
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.34.0.dev0", "use_cache": true, "vocab_size": 32000}`
	minimalLlama = `{"model_type": "llama", "hidden_size": 64, "intermediate_size": 172,
  "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 512}`
)

func TestParse(t *testing.T) {
	cases := []struct {
		name  string
		json  string
		check func(t *testing.T, c *Config)
	}{
		{"qwen2", qwen2Config, func(t *testing.T, c *Config) {
			want := &Config{
				ModelType: "qwen2", Architectures: []string{"Qwen2ForCausalLM"},
				HiddenSize: 896, IntermediateSize: 4864, NumHiddenLayers: 24, NumAttentionHeads: 14,
				NumKeyValueHeads: 2, HeadDim: 64, VocabSize: 151936, MaxPositionEmbeddings: 32768,
				RopeTheta: 1e6, RMSNormEps: 1e-6, TieWordEmbeddings: true, HiddenAct: "silu",
				SlidingWindow: 32768, MaxWindowLayers: 21,
				BOSTokenIDs: []int{151643}, EOSTokenIDs: []int{151645}, DType: "bfloat16",
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
			if !c.QKVBias() || c.OutputBias() || c.LayerWindow(23) != 0 {
				t.Errorf("QKVBias %v OutputBias %v LayerWindow(23) %d", c.QKVBias(), c.OutputBias(), c.LayerWindow(23))
			}
		}},
		{"llama3", llama3Config, func(t *testing.T, c *Config) {
			if c.HeadDim != 128 || c.NumKeyValueHeads != 8 || c.RopeTheta != 500000 || c.RMSNormEps != 1e-5 {
				t.Errorf("sizes: %+v", c)
			}
			if !reflect.DeepEqual(c.EOSTokenIDs, []int{128001, 128008, 128009}) || !reflect.DeepEqual(c.BOSTokenIDs, []int{128000}) {
				t.Errorf("token ids: bos %v eos %v", c.BOSTokenIDs, c.EOSTokenIDs)
			}
			rs := c.RopeScaling
			if rs == nil || rs.Type != "llama3" || rs.Factor != 8 || rs.LowFreqFactor != 1 || rs.HighFreqFactor != 4 || rs.OriginalMaxPositionEmbeddings != 8192 {
				t.Fatalf("rope scaling: %+v", rs)
			}
			var raw map[string]any
			if err := json.Unmarshal(rs.Raw, &raw); err != nil || raw["rope_type"] != "llama3" {
				t.Errorf("raw rope scaling %s: %v", rs.Raw, err)
			}
			if c.QKVBias() || c.LayerWindow(0) != 0 {
				t.Error("llama without attention_bias has no bias and no window")
			}
		}},
		{"mistral", mistralConfig, func(t *testing.T, c *Config) {
			if c.SlidingWindow != 4096 || !c.UseSlidingWindow || c.LayerWindow(0) != 4096 || c.LayerWindow(31) != 4096 {
				t.Errorf("window %d use %v layer0 %d", c.SlidingWindow, c.UseSlidingWindow, c.LayerWindow(0))
			}
			if c.RopeScaling != nil {
				t.Errorf("rope scaling %+v, want none", c.RopeScaling)
			}
		}},
		{"defaults", minimalLlama, func(t *testing.T, c *Config) {
			if c.NumKeyValueHeads != 4 || c.HeadDim != 16 || c.RopeTheta != 10000 || c.RMSNormEps != 1e-6 ||
				c.MaxPositionEmbeddings != 2048 || c.TieWordEmbeddings || c.HiddenAct != "silu" ||
				c.BOSTokenIDs != nil || c.EOSTokenIDs != nil || c.DType != "" {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{"transformers 5 layout", `{"model_type":"qwen2","hidden_size":64,"intermediate_size":8,"num_hidden_layers":4,
			"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":10,"dtype":"float32","eos_token_id":null,
			"rope_parameters":{"rope_theta":1000000.0,"rope_type":"default"},"sliding_window":16,"use_sliding_window":true,
			"layer_types":["full_attention","sliding_attention","full_attention","sliding_attention"]}`, func(t *testing.T, c *Config) {
			if c.RopeTheta != 1e6 || c.RopeScaling != nil || c.DType != "float32" || c.EOSTokenIDs != nil {
				t.Errorf("%+v", c)
			}
			if c.LayerWindow(0) != 0 || c.LayerWindow(1) != 16 || c.LayerWindow(3) != 16 {
				t.Errorf("layer windows %d %d %d", c.LayerWindow(0), c.LayerWindow(1), c.LayerWindow(3))
			}
		}},
		{"qwen2 max_window_layers", `{"model_type":"qwen2","hidden_size":64,"intermediate_size":8,"num_hidden_layers":4,
			"num_attention_heads":4,"vocab_size":10,"sliding_window":16,"use_sliding_window":true,"max_window_layers":2}`, func(t *testing.T, c *Config) {
			if c.LayerWindow(1) != 0 || c.LayerWindow(2) != 16 {
				t.Errorf("layer windows %d %d", c.LayerWindow(1), c.LayerWindow(2))
			}
		}},
		{"rope_parameters scaling", `{"model_type":"llama","hidden_size":64,"intermediate_size":8,"num_hidden_layers":1,
			"num_attention_heads":4,"vocab_size":10,"rope_parameters":{"rope_theta":5e5,"rope_type":"linear","factor":2}}`, func(t *testing.T, c *Config) {
			if c.RopeTheta != 5e5 || c.RopeScaling == nil || c.RopeScaling.Type != "linear" || c.RopeScaling.Factor != 2 {
				t.Errorf("%+v %+v", c, c.RopeScaling)
			}
		}},
		{"explicit head_dim", `{"model_type":"mistral","hidden_size":5120,"intermediate_size":14336,"num_hidden_layers":40,
			"num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"vocab_size":131072,"sliding_window":null}`, func(t *testing.T, c *Config) {
			if c.HeadDim != 128 || c.SlidingWindow != 0 || c.LayerWindow(0) != 0 || c.MaxPositionEmbeddings != 131072 {
				t.Errorf("%+v", c)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseErrors(t *testing.T) {
	edit := func(base, old, new string) string {
		if !strings.Contains(base, old) {
			panic("test edit: " + old)
		}
		return strings.Replace(base, old, new, 1)
	}
	cases := []struct {
		name, json, want string
	}{
		{"heads do not divide", edit(minimalLlama, `"num_attention_heads": 4`, `"num_attention_heads": 7`), "config.json: num_attention_heads 7 does not divide hidden_size 64"},
		{"kv heads do not divide", edit(minimalLlama, `"vocab_size"`, `"num_key_value_heads": 3, "vocab_size"`), "config.json: num_key_value_heads 3 does not divide num_attention_heads 4"},
		{"unsupported model type", edit(minimalLlama, `"llama"`, `"gpt2"`), `config.json: model_type "gpt2" is not supported (supported: llama, mistral, qwen2)`},
		{"missing model type", `{"hidden_size": 8}`, "config.json: missing field model_type (supported: llama, mistral, qwen2)"},
		{"missing hidden size", edit(minimalLlama, `"hidden_size": 64,`, ``), "config.json: missing field hidden_size"},
		{"zero layers", edit(minimalLlama, `"num_hidden_layers": 2`, `"num_hidden_layers": 0`), "config.json: num_hidden_layers 0 is out of range"},
		{"huge vocab", edit(minimalLlama, `"vocab_size": 512`, `"vocab_size": 9000000000`), "config.json: vocab_size 9000000000 is out of range"},
		{"string size", edit(minimalLlama, `"hidden_size": 64`, `"hidden_size": "64"`), "config.json: field hidden_size: cannot use JSON string as int"},
		{"fractional size", edit(minimalLlama, `"hidden_size": 64`, `"hidden_size": 64.5`), "config.json: field hidden_size: cannot use JSON number 64.5 as int"},
		{"odd head dim", edit(minimalLlama, `"vocab_size"`, `"head_dim": 15, "vocab_size"`), "config.json: head_dim 15 must be even"},
		{"bad eps", edit(minimalLlama, `"vocab_size"`, `"rms_norm_eps": 0, "vocab_size"`), "config.json: rms_norm_eps 0 is out of range"},
		{"bad theta", edit(minimalLlama, `"vocab_size"`, `"rope_theta": -1, "vocab_size"`), "config.json: rope_theta -1 must be positive"},
		{"bad act", edit(minimalLlama, `"vocab_size"`, `"hidden_act": "gelu", "vocab_size"`), `config.json: hidden_act "gelu" is not supported`},
		{"mlp bias", edit(minimalLlama, `"vocab_size"`, `"mlp_bias": true, "vocab_size"`), "config.json: mlp_bias true is not supported"},
		{"bad eos", edit(minimalLlama, `"vocab_size"`, `"eos_token_id": "x", "vocab_size"`), "config.json: field eos_token_id: want an integer or a list of integers"},
		{"negative bos", edit(minimalLlama, `"vocab_size"`, `"bos_token_id": -1, "vocab_size"`), "config.json: bos_token_id -1 must not be negative"},
		{"bad rope scaling", edit(minimalLlama, `"vocab_size"`, `"rope_scaling": {"factor": "big", "type": "linear"}, "vocab_size"`), "config.json: rope_scaling: field factor"},
		{"layer types length", edit(minimalLlama, `"vocab_size"`, `"layer_types": ["full_attention"], "vocab_size"`), "config.json: layer_types has 1 entries for num_hidden_layers 2"},
		{"not json", `{"model_type": `, "config.json: invalid JSON"},
		{"not an object", `[1]`, "config.json: want a JSON object, got array"},
		{"rope not an object", edit(minimalLlama, `"vocab_size"`, `"rope_parameters": [], "vocab_size"`), "config.json: rope_parameters: want a JSON object, got array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tc.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tc.want) && !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tc.want)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(strings.Replace(minimalLlama, `"num_attention_heads": 4`, `"num_attention_heads": 7`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if want := p + ": num_attention_heads 7 does not divide hidden_size 64"; err == nil || err.Error() != want {
		t.Errorf("Load error %v, want %s", err, want)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// TestGoldenConfigs parses the config.json files transformers 5.17 wrote for
// the parity models and compares them with the settings the generator used.
func TestGoldenConfigs(t *testing.T) {
	for _, model := range []string{"qwen2", "llama"} {
		raw, err := os.ReadFile(testdata.RepoPath(t, filepath.Join("parity", model, "golden.json")))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Config struct {
				VocabSize         int     `json:"vocab_size"`
				HiddenSize        int     `json:"hidden_size"`
				IntermediateSize  int     `json:"intermediate_size"`
				NumHiddenLayers   int     `json:"num_hidden_layers"`
				NumAttentionHeads int     `json:"num_attention_heads"`
				NumKeyValueHeads  int     `json:"num_key_value_heads"`
				HeadDim           int     `json:"head_dim"`
				MaxPos            int     `json:"max_position_embeddings"`
				RMSNormEps        float64 `json:"rms_norm_eps"`
				RopeTheta         float64 `json:"rope_theta"`
				Tie               bool    `json:"tie_word_embeddings"`
			} `json:"config"`
			EOS          []int  `json:"eos_token_ids"`
			Architecture string `json:"architecture"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		g := doc.Config
		for variant, dtype := range map[string]string{"f32": "float32", "bf16": "bfloat16"} {
			t.Run(model+"/"+variant, func(t *testing.T) {
				c, err := Load(testdata.RepoPath(t, filepath.Join("parity", model, variant, "config.json")))
				if err != nil {
					t.Fatal(err)
				}
				got := []any{c.ModelType, c.Architectures[0], c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers,
					c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.MaxPositionEmbeddings, c.RMSNormEps,
					c.RopeTheta, c.TieWordEmbeddings, c.EOSTokenIDs, c.DType, c.RopeScaling == nil, c.LayerWindow(0)}
				want := []any{model, doc.Architecture, g.VocabSize, g.HiddenSize, g.IntermediateSize, g.NumHiddenLayers,
					g.NumAttentionHeads, g.NumKeyValueHeads, g.HeadDim, g.MaxPos, g.RMSNormEps,
					g.RopeTheta, g.Tie, doc.EOS, dtype, true, 0}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got  %v\nwant %v", got, want)
				}
				if c.QKVBias() != (model == "qwen2") {
					t.Errorf("QKVBias %v", c.QKVBias())
				}
			})
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{qwen2Config, llama3Config, mistralConfig, minimalLlama, `{}`, `null`, `{"model_type":"qwen2","rope_parameters":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "config.json: ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line naming the file", msg)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config Validate rejects: %v", err)
		}
		if c.NumAttentionHeads%c.NumKeyValueHeads != 0 || c.HeadDim <= 0 {
			t.Fatalf("accepted inconsistent heads: %+v", c)
		}
		for i := -1; i <= c.NumHiddenLayers; i++ {
			if w := c.LayerWindow(i); w < 0 {
				t.Fatalf("LayerWindow(%d) = %d", i, w)
			}
		}
	})
}
