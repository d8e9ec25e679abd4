// Package tokenizer turns text into token ids and back for the model
// families sdtp runs: byte-level BPE from a Hugging Face tokenizer.json
// (Qwen2, Llama-3), SentencePiece-style BPE with byte fallback from a
// tokenizer.json (Llama-2, Mistral), and llama2.c's tokenizer.bin files.
//
// One engine serves every format: a pipeline of added-token matching,
// normalizers, pre-tokenizers, a BPE model that merges by rank, and a chain
// of decoders, each step following the Hugging Face tokenizers library.
package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tokenizer encodes text to token ids and decodes ids to text.
// Implementations are safe for concurrent use.
type Tokenizer interface {
	// Encode tokenizes text without adding BOS/EOS. Added and special
	// tokens written in the text (e.g. "<|im_start|>") are matched first,
	// as Hugging Face does with split_special_tokens=false.
	Encode(text string) []int
	// EncodeWithSpecial tokenizes text and then applies the tokenizer's own
	// post-processing (Llama-2 and llama2.c: BOS prepended; Qwen2: none).
	EncodeWithSpecial(text string) []int
	// Decode turns ids into text the way Hugging Face's decode does with its
	// defaults: special tokens are rendered as their text
	// (skip_special_tokens=false). Unknown ids are skipped. Invalid UTF-8
	// becomes U+FFFD.
	Decode(ids []int) string
	// DecodeSkipSpecial is Decode with skip_special_tokens=true: special
	// tokens are left out.
	DecodeSkipSpecial(ids []int) string
	// NewStream starts an incremental decoder whose output, concatenated,
	// equals Decode of the ids pushed, and which never emits an incomplete
	// UTF-8 sequence.
	NewStream() *Stream
	// BOS is the beginning-of-sequence id, or -1 when the tokenizer has none.
	BOS() int
	// EOS lists the ids that end generation (tokenizer_config.json's
	// eos_token and generation_config.json's eos_token_id when present).
	EOS() []int
	// VocabSize is one more than the largest id the tokenizer can produce
	// (base vocabulary and added tokens).
	VocabSize() int
	// TokenText is the raw token string for display (e.g. "Ġhello" for a
	// byte-level BPE, "▁hello" for SentencePiece), or "" for an unknown id.
	TokenText(id int) string
	// ID looks up a token or added-token string.
	ID(token string) (int, bool)
	// IsSpecial reports whether id is a special token (skipped by
	// DecodeSkipSpecial).
	IsSpecial(id int) bool
	// MaxTokenBytes bounds the bytes of input text one token stands for,
	// so that a text of n bytes encodes to at least ⌈n/MaxTokenBytes⌉
	// tokens: a length check before encoding. It is 0 where no bound holds.
	MaxTokenBytes() int
}

// Load reads a tokenizer from path: a tokenizer.json, a llama2.c
// tokenizer.bin (any name ending in .bin), or a folder holding
// tokenizer.json (or tokenizer.bin). A tokenizer_config.json and
// generation_config.json beside a tokenizer.json supply BOS/EOS and the
// decode clean-up setting.
func Load(path string) (Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		for _, name := range []string{"tokenizer.json", "tokenizer.bin"} {
			p := filepath.Join(path, name)
			if _, err := os.Stat(p); err == nil {
				return Load(p)
			}
		}
		return nil, fmt.Errorf("tokenizer: folder %s holds neither tokenizer.json nor tokenizer.bin", path)
	}
	if strings.HasSuffix(path, ".bin") {
		t, err := LoadLlama2C(path)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	if strings.HasSuffix(path, ".model") {
		return nil, fmt.Errorf("tokenizer: %s: SentencePiece .model files are not read; use the tokenizer.json or llama2.c tokenizer.bin of the same vocabulary", path)
	}
	t, err := LoadJSON(path)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// errNotFound marks a missing optional companion file.
var errNotFound = errors.New("not found")
