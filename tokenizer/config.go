package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// tokenConfig is the part of tokenizer_config.json the tokenizer uses.
type tokenConfig struct {
	BOS     *string
	EOS     *string
	CleanUp bool
}

// tokenString reads a token field that is a string, {"content": ...} or null.
func tokenString(raw json.RawMessage) (*string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return &s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	return &obj.Content, nil
}

// readOptionalJSON decodes the JSON file at path into v; errNotFound when
// there is no such file. Errors name the file as what (and the path).
func readOptionalJSON(path, what string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return nil
}

func readConfig(path string) (*tokenConfig, error) {
	var raw struct {
		BOS     json.RawMessage `json:"bos_token"`
		EOS     json.RawMessage `json:"eos_token"`
		CleanUp *bool           `json:"clean_up_tokenization_spaces"`
	}
	if err := readOptionalJSON(path, "tokenizer config", &raw); err != nil {
		return nil, err
	}
	c := &tokenConfig{CleanUp: raw.CleanUp != nil && *raw.CleanUp}
	var err error
	if c.BOS, err = tokenString(raw.BOS); err != nil {
		return nil, fmt.Errorf("tokenizer config %s: field bos_token: %w", path, err)
	}
	if c.EOS, err = tokenString(raw.EOS); err != nil {
		return nil, fmt.Errorf("tokenizer config %s: field eos_token: %w", path, err)
	}
	return c, nil
}

// generationConfig is the part of generation_config.json that names the
// tokens ending generation.
type generationConfig struct {
	EOS []int
}

func readGenerationConfig(path string) (*generationConfig, error) {
	var raw struct {
		EOS json.RawMessage `json:"eos_token_id"`
	}
	if err := readOptionalJSON(path, "generation config", &raw); err != nil {
		return nil, err
	}
	g := &generationConfig{}
	if isNull(raw.EOS) {
		return g, nil
	}
	var one int
	if err := json.Unmarshal(raw.EOS, &one); err == nil {
		g.EOS = []int{one}
		return g, nil
	}
	if err := json.Unmarshal(raw.EOS, &g.EOS); err != nil {
		return nil, fmt.Errorf("generation config %s: field eos_token_id: %w", path, err)
	}
	return g, nil
}

// applyConfig sets BOS, EOS and clean-up from the companion files; fields
// they leave out keep the values derived from tokenizer.json.
func (t *BPE) applyConfig(cfg *tokenConfig, gen *generationConfig) {
	if cfg != nil {
		t.cleanUp = cfg.CleanUp
		if cfg.BOS == nil {
			t.bos = -1
		} else if id, ok := t.ID(*cfg.BOS); ok {
			t.bos = id
		}
		if cfg.EOS != nil {
			if id, ok := t.ID(*cfg.EOS); ok {
				t.eos = []int{id}
			}
		}
	}
	if gen != nil && len(gen.EOS) > 0 {
		eos := append([]int(nil), t.eos...)
		if cfg == nil || cfg.EOS == nil {
			eos = nil
		}
		for _, id := range gen.EOS {
			if id >= 0 && id < len(t.tokens) && !containsInt(eos, id) {
				eos = append(eos, id)
			}
		}
		t.eos = eos
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
