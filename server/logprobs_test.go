package server

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sdtp/sdtp/generate"
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

// TestTopLogprobsKeysMatchTokens: the chosen token is found in its
// position's top logprobs under the string the tokens list gives it, in
// legacy completions (a map) and in chat (a list), also for tokens that
// end inside a UTF-8 character.
func TestTopLogprobsKeysMatchTokens(t *testing.T) {
	tok := byteTokenizer{}
	tests := []struct {
		name string
		ids  []int
	}{
		{"ascii", tok.Encode("ab")},
		{"two-byte char", tok.Encode("xé")},
		{"four-byte char", tok.Encode("😀!")},
		{"truncated char", tok.Encode("a\xc3")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			toks := make([]generate.Token, len(tc.ids))
			for i, id := range tc.ids {
				// The chosen token second, after an alternative.
				lp := -1 - float64(i)
				toks[i] = generate.Token{ID: id, Logprob: lp, Top: []generate.Alt{{ID: 'q' + 3, Logprob: -0.5}, {ID: id, Logprob: lp}}}
			}
			pieces := tokenPieces(tok, tc.ids)
			lp := &legacyLogprobs{}
			appendLegacy(lp, toks, pieces, 0, tok)
			for i, tk := range lp.Tokens {
				if got, ok := lp.TopLogprobs[i][tk]; !ok || got != toks[i].Logprob {
					t.Errorf("completions: top_logprobs[%d][%q] = %v, %v; want %v (keys %q)", i, tk, got, ok, toks[i].Logprob, keys(lp.TopLogprobs[i]))
				}
			}
			chat := newChatLogprobs(toks, pieces, tok)
			for i, c := range chat.Content {
				found := false
				for _, a := range c.TopLogprobs {
					found = found || (a.Token == c.Token && a.Logprob == c.Logprob && string(bytesOf(a.Bytes)) == a.Token)
				}
				if !found {
					t.Errorf("chat: token %d %q with logprob %v is not among its top_logprobs %+v", i, c.Token, c.Logprob, c.TopLogprobs)
				}
			}
		})
	}
}

func keys(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
