package tokenizer

import (
	"slices"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxTokenBytes implements Tokenizer.
func (t *BPE) MaxTokenBytes() int { return t.maxBytes }

// tokenBytesBound computes MaxTokenBytes: the longest normalized text a
// token can stand for (a byte-level token's bytes; otherwise its stored
// text, which is never shorter: "<0xXX>" stands for one byte), times the most input bytes one normalized byte can
// come from. It is 0 where some input can make no token at all (dropped
// by a split, an unknown character with no <unk>, whitespace stripped
// into an added token) or where unknown characters fuse into one token.
func (t *BPE) tokenBytesBound() int {
	if !t.coversEveryByte() || !keepsText(t.pre) {
		return 0
	}
	shrink := shrinkOf(t.norm)
	if shrink == 0 {
		return 0
	}
	longest := utf8.UTFMax // one unknown character, as one <unk>
	for tok := range t.vocab {
		n := len(tok)
		if t.byteLevel {
			n = len(byteLevelDecode(tok)) // "Ġ" (2 bytes) stands for one space
		}
		longest = max(longest, n)
	}
	for _, a := range t.added {
		if a.LStrip || a.RStrip {
			return 0
		}
		longest = max(longest, len(a.Content))
		if a.Normalized && t.norm != nil {
			longest = max(longest, len(t.norm.normalize(a.Content)))
		}
	}
	return longest * shrink
}

// coversEveryByte reports whether every character of the input becomes at
// least one token of its own.
func (t *BPE) coversEveryByte() bool {
	if t.byteLevel {
		return t.unk >= 0 || !slices.Contains(t.byteIDs[:], -1)
	}
	if t.byteFallback && !slices.Contains(t.fallbackIDs[:], -1) {
		return true
	}
	return t.unk >= 0 && !t.fuseUnk
}

// keepsText reports whether a pre-tokenizer passes on every byte of its
// input (Split with behavior Removed drops the matches).
func keepsText(p preTokenizer) bool {
	switch p := p.(type) {
	case nil:
		return true
	case splitPre:
		return p.behavior != behRemoved
	case byteLevelPre, metaspacePre, digitsPre:
		return true
	case preSequence:
		for _, q := range p {
			if !keepsText(q) {
				return false
			}
		}
		return true
	}
	return false
}

// shrinkOf returns the most input bytes that one byte of a normalizer's
// output can come from, or 0 when there is no such bound.
func shrinkOf(n normalizer) int {
	switch n := n.(type) {
	case nil, prepend:
		return 1
	case unicodeNorm:
		// NFC and NFD map U+212A KELVIN SIGN (3 bytes) to "K" and compose
		// three 3-byte Hangul jamo into one 3-byte syllable; NFKC and
		// NFKD also map 4-byte characters to ASCII (U+1D400 to "A").
		if n.form == norm.NFC || n.form == norm.NFD {
			return 3
		}
		return 4
	case lowercase:
		return 3 // U+212A KELVIN SIGN lowercases to "k"
	case replace:
		switch {
		case n.re != nil || n.content == "":
			return 0 // a pattern may match a run of any length
		case len(n.content) >= len(n.literal):
			return 1
		}
		return (len(n.literal) + len(n.content) - 1) / len(n.content)
	case sequence:
		f := 1
		for _, m := range n {
			g := shrinkOf(m)
			if g == 0 {
				return 0
			}
			f *= g
		}
		return f
	}
	return 0
}
