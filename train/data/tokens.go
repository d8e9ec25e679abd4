package data

import (
	"fmt"
	"math/rand/v2"
)

// Encoder turns text into token ids with the tokenizer's special tokens
// (BOS where the model family adds one); tokenizer.Tokenizer satisfies it.
type Encoder interface {
	EncodeWithSpecial(text string) []int
}

// Example is one tokenized text.
type Example struct {
	Line int
	IDs  []int
}

// Tokenize encodes each text, keeping at most maxLen tokens (the first
// ones; 0: no limit). Texts shorter than minLen tokens are left out and
// counted in skipped.
func Tokenize(enc Encoder, texts []Text, maxLen, minLen int) (out []Example, skipped int, err error) {
	if maxLen < 0 || minLen < 0 || (maxLen > 0 && minLen > maxLen) {
		return nil, 0, fmt.Errorf("tokenize: lengths min %d, max %d", minLen, maxLen)
	}
	for _, t := range texts {
		ids := enc.EncodeWithSpecial(t.Text)
		if maxLen > 0 && len(ids) > maxLen {
			ids = ids[:maxLen]
		}
		if len(ids) < minLen {
			skipped++
			continue
		}
		out = append(out, Example{Line: t.Line, IDs: ids})
	}
	return out, skipped, nil
}

// Order returns the order in which epoch visits n examples: a permutation
// drawn from (seed, epoch), so every run with the same seed sees the same
// sequence and a resumed run can recompute it.
func Order(n int, seed uint64, epoch int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
}
