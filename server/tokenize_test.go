package server

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestTokenizerEndpoints(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	var info map[string]any
	status, _, data := env.do(http.MethodGet, "/tokenizer_info", nil, nil)
	if status != http.StatusOK || json.Unmarshal(data, &info) != nil {
		t.Fatalf("tokenizer_info: %d %s", status, data)
	}
	// lm-eval's remote tokenizer needs eos_token, and reads bos, pad and the chat template.
	if info["eos_token"] != "</s>" || info["bos_token"] != "<s>" || info["chat_template"] != "{{ chatml }}" || info["pad_token"] != "</s>" {
		t.Errorf("tokenizer_info %s", data)
	}

	tok := byteTokenizer{}
	var enc struct {
		Tokens []int `json:"tokens"`
		Count  int   `json:"count"`
	}
	env.post("/tokenize", map[string]any{"prompt": "héllo", "add_special_tokens": false}, http.StatusOK, &enc)
	if !equalInts(enc.Tokens, tok.Encode("héllo")) || enc.Count != len(enc.Tokens) {
		t.Errorf("tokenize without specials: %v", enc)
	}
	env.post("/tokenize", map[string]any{"prompt": "hi"}, http.StatusOK, &enc)
	if !equalInts(enc.Tokens, tok.EncodeWithSpecial("hi")) {
		t.Errorf("tokenize with specials (the default): %v", enc.Tokens)
	}
	env.post("/tokenize", map[string]any{"prompt": ""}, http.StatusOK, &enc)
	if enc.Tokens == nil {
		t.Error("tokens of an empty prompt must be a list, not null")
	}
	var dec struct {
		Prompt *string `json:"prompt"`
	}
	env.post("/detokenize", map[string]any{"tokens": tok.Encode("héllo")}, http.StatusOK, &dec)
	if dec.Prompt == nil || *dec.Prompt != "héllo" {
		t.Errorf("detokenize: %v", dec.Prompt)
	}
}

func TestModelsAndHealth(t *testing.T) {
	env := newTestEnv(t, nil, defaultOptions())
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID          string `json:"id"`
			Object      string `json:"object"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	status, _, data := env.do(http.MethodGet, "/v1/models", nil, nil)
	if status != http.StatusOK || json.Unmarshal(data, &list) != nil || list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != "fake" || list.Data[0].MaxModelLen != 256 {
		t.Errorf("models: %d %s", status, data)
	}
	if status, _, data := env.do(http.MethodGet, "/v1/models/fake", nil, nil); status != http.StatusOK {
		t.Errorf("model: %d %s", status, data)
	}
	if status, _, data := env.do(http.MethodGet, "/health", nil, nil); status != http.StatusOK {
		t.Errorf("health: %d %s", status, data)
	}
}
