package server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTokenPieces(t *testing.T) {
	tok := byteTokenizer{}
	tests := []struct {
		name string
		ids  []int
		want []string
	}{
		{"ascii", tok.Encode("ab c"), []string{"a", "b", " ", "c"}},
		{"two-byte char held for its second byte", tok.Encode("xé"), []string{"x", "", "é"}},
		{"four-byte char", tok.Encode("😀!"), []string{"", "", "", "😀", "!"}},
		{"specials", []int{fakeBOS, 'h' + 3, fakeEOS}, []string{"<s>", "h", "</s>"}},
		{"truncated char flushed at the end", tok.Encode("a\xc3"), []string{"a", "\uFFFD"}},
		{"empty", nil, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tokenPieces(tok, tc.ids)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("pieces %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzTokenPieces checks that each token has exactly one piece and that,
// for ids that spell valid UTF-8, the pieces concatenate to the decoded
// text. (Invalid bytes decode lossily, and a lossy decoder's output does
// not only grow at the end, so there a piece may miss a U+FFFD.)
func FuzzTokenPieces(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte("h\xc3\xa9\xff\xfe\xf0\x9f"))
	f.Add([]byte{1, 2, 0, 0xe2, 0x82})
	f.Fuzz(func(t *testing.T, data []byte) {
		ids := make([]int, len(data))
		for i, b := range data {
			ids[i] = int(b) + 3
			if b < 3 {
				ids[i] = int(b) // exercise the special ids too
			}
		}
		tok := byteTokenizer{}
		got := tokenPieces(tok, ids)
		if len(got) != len(ids) {
			t.Fatalf("%d pieces for %d ids", len(got), len(ids))
		}
		if utf8.Valid(data) && strings.Join(got, "") != tok.Decode(ids) {
			t.Fatalf("pieces %q join to %q, want %q", got, strings.Join(got, ""), tok.Decode(ids))
		}
	})
}
