// Package filekind tells from a file's first bytes what kind of file it
// is, so that a reader handed the wrong file can say what it got ("it holds
// text") instead of quoting numbers read from the wrong place.
package filekind

import (
	"bytes"
	"encoding/binary"
	"unicode"
	"unicode/utf8"
)

// sniffLen is how many leading bytes Describe looks at.
const sniffLen = 512

// Safetensors is what Describe says of a safetensors file.
const Safetensors = "is a safetensors file"

// Describe names the kind of content that starts with head, as a phrase
// that completes "it ..." ("holds text", "is a safetensors file"), or
// returns "" when the bytes match none of the kinds it knows.
func Describe(head []byte) string {
	head = head[:min(len(head), sniffLen)]
	switch {
	case len(head) == 0:
		return "is empty"
	case bytes.HasPrefix(head, []byte("GGUF")):
		return "is a GGUF file"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "is a zip archive, as PyTorch saves its checkpoints"
	case len(head) >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		return "is a Python pickle, as old PyTorch checkpoints are"
	case isSafetensors(head):
		return Safetensors
	case isText(head):
		return "holds text"
	}
	return ""
}

// isSafetensors reports whether head starts like a safetensors file: an
// 8-byte little-endian header length, then the JSON header's "{".
func isSafetensors(head []byte) bool {
	if len(head) < 9 || head[8] != '{' {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	return n >= 2 && n < 100<<20
}

// isText reports whether head is UTF-8 text (its last rune may be cut off)
// without control characters other than white space.
func isText(head []byte) bool {
	for len(head) > 0 {
		r, size := utf8.DecodeRune(head)
		if r == utf8.RuneError && size <= 1 {
			return len(head) < utf8.UTFMax && !utf8.FullRune(head) // a rune cut at the end
		}
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return false
		}
		head = head[size:]
	}
	return true
}
