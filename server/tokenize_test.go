package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/tokenizer"
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
	if !slices.Equal(enc.Tokens, tok.Encode("héllo")) || enc.Count != len(enc.Tokens) {
		t.Errorf("tokenize without specials: %v", enc)
	}
	env.post("/tokenize", map[string]any{"prompt": "hi"}, http.StatusOK, &enc)
	if !slices.Equal(enc.Tokens, tok.EncodeWithSpecial("hi")) {
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

// TestRemoteTokenizerFlow follows lm-eval's RemoteTokenizer with real
// tokenizers: check_remote_tokenizer_support (tokenizer_info has
// eos_token, /tokenize answers a list), eos/bos ids as the first id of
// encoding their text without special tokens, and decode(encode(text)).
func TestRemoteTokenizerFlow(t *testing.T) {
	for _, rel := range []string{"llama2c/tok512.bin", "qwen2/tokenizer.json"} {
		t.Run(rel, func(t *testing.T) {
			tok, err := tokenizer.Load(testdata.Path(t, rel))
			if err != nil {
				t.Fatal(err)
			}
			eng := newFakeEngine()
			eng.vocab = 1 << 20 // ids of the real tokenizer are valid
			o := defaultOptions()
			o.Tokenizer = tok
			env := newTestEnv(t, eng, o)
			var info struct {
				EOSToken   *string `json:"eos_token"`
				BOSToken   *string `json:"bos_token"`
				EOSTokenID *int    `json:"eos_token_id"`
				BOSTokenID *int    `json:"bos_token_id"`
			}
			status, _, data := env.do(http.MethodGet, "/tokenizer_info", nil, nil)
			if status != http.StatusOK || json.Unmarshal(data, &info) != nil || info.EOSToken == nil {
				t.Fatalf("tokenizer_info: %d %s", status, data)
			}
			encode := func(text string) []int {
				var out struct {
					Tokens []int `json:"tokens"`
				}
				env.post("/tokenize", map[string]any{"prompt": text, "add_special_tokens": false}, http.StatusOK, &out)
				return out.Tokens
			}
			if ids := encode(*info.EOSToken); len(ids) == 0 || ids[0] != *info.EOSTokenID || !slices.Contains(tok.EOS(), ids[0]) {
				t.Errorf("eos_token %q encodes to %v; eos_token_id %d; tokenizer EOS %v", *info.EOSToken, ids, *info.EOSTokenID, tok.EOS())
			}
			if info.BOSToken != nil {
				if ids := encode(*info.BOSToken); len(ids) == 0 || ids[0] != tok.BOS() {
					t.Errorf("bos_token %q encodes to %v, want BOS %d first", *info.BOSToken, ids, tok.BOS())
				}
			} else if tok.BOS() >= 0 {
				t.Errorf("no bos_token but the tokenizer has BOS %d", tok.BOS())
			}
			text := "Once upon a time, Lily saw 3 birds."
			var dec struct {
				Prompt string `json:"prompt"`
			}
			env.post("/detokenize", map[string]any{"tokens": encode(text)}, http.StatusOK, &dec)
			if strings.TrimSpace(dec.Prompt) != text {
				t.Errorf("decode(encode(%q)) = %q", text, dec.Prompt)
			}
		})
	}
}
