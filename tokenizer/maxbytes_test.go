package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sdtp/sdtp/internal/testdata"
)

// boundTexts are texts that pack many bytes into few tokens: long runs,
// each vocabulary's longest tokens repeated, characters that normalization
// shrinks, and random bytes and characters.
func boundTexts(t *testing.T, tok *BPE) []string {
	longest := ""
	for s := range tok.vocab {
		if d := tok.Decode([]int{int(tok.vocab[s])}); len(d) > len(longest) {
			longest = d
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	randBytes := make([]byte, 4000)
	for i := range randBytes {
		randBytes[i] = byte(r.IntN(256))
	}
	var randChars strings.Builder
	for range 2000 {
		randChars.WriteRune(rune(r.IntN(0x30000)))
	}
	return []string{
		strings.Repeat(longest, 50),
		strings.Repeat(" ", 5000),
		strings.Repeat("\n", 5000),
		strings.Repeat("a", 5000),
		strings.Repeat("0", 5000),
		strings.Repeat("=", 5000),
		strings.Repeat("\u212A", 1000),             // KELVIN SIGN: "K" after NFC
		strings.Repeat("\u1100\u1161\u11A8", 1000), // Hangul jamo: one syllable after NFC
		strings.Repeat("\U0001D400", 1000),         // MATHEMATICAL BOLD CAPITAL A
		strings.Repeat("e\u0301", 1000),            // composes to "é"
		strings.Repeat("<|im_start|>", 500),
		string(randBytes),
		randChars.String(),
	}
}

// TestMaxTokenBytesBoundsEncoding: on the shared tokenizers, no text
// encodes to fewer than ⌈len/MaxTokenBytes⌉ tokens.
func TestMaxTokenBytesBoundsEncoding(t *testing.T) {
	toks := map[string]*BPE{"qwen2": loadQwen2(t)}
	for _, name := range []string{"llama2c/tok512.bin", "llama2c/tokenizer.bin"} {
		tok, err := LoadLlama2C(testdata.Path(t, name))
		if err != nil {
			t.Fatal(err)
		}
		toks[name] = tok.BPE
	}
	for name, tok := range toks {
		m := tok.MaxTokenBytes()
		if m <= 0 {
			t.Errorf("%s: MaxTokenBytes %d, want a bound", name, m)
			continue
		}
		t.Logf("%s: MaxTokenBytes %d", name, m)
		for i, text := range boundTexts(t, tok) {
			if n := len(tok.Encode(text)); n*m < len(text) {
				t.Errorf("%s: text %d (%d bytes) encodes to %d tokens, fewer than %d bytes a token allow", name, i, len(text), n, m)
			}
		}
	}
}

// TestMaxTokenBytesWithoutBound: pipelines where some text makes no token
// or fuses into one have no bound; the others have one.
func TestMaxTokenBytesWithoutBound(t *testing.T) {
	noFallback := func(s string) string { return strings.Replace(s, `"byte_fallback": true`, `"byte_fallback": false`, 1) }
	tests := []struct {
		name       string
		normalizer string
		pre        string
		added      string
		edit       func(string) string
		bounded    bool
	}{
		{"byte fallback", legacyNormalizer, "null", "", nil, true},
		{"metaspace", "null", metaspacePreTok, "", nil, true},
		{"unknowns fused", legacyNormalizer, "null", "", noFallback, false},
		{"unknowns apart", legacyNormalizer, "null", "", func(s string) string {
			return strings.Replace(noFallback(s), `"fuse_unk": true`, `"fuse_unk": false`, 1)
		}, true},
		{"no unk", legacyNormalizer, "null", "", func(s string) string {
			return strings.Replace(noFallback(s), `"unk_token": "<unk>", `, "", 1)
		}, false},
		{"split removed", "null", `{"type":"Split","pattern":{"String":" "},"behavior":"Removed","invert":false}`, "", nil, false},
		{"split isolated", "null", `{"type":"Split","pattern":{"String":" "},"behavior":"Isolated","invert":false}`, "", nil, true},
		{"regex replace", `{"type":"Replace","pattern":{"Regex":" +"},"content":" "}`, "null", "", nil, false},
		{"shrinking replace", `{"type":"Replace","pattern":{"String":"abcd"},"content":"x"}`, "null", "", nil, true},
		{"deleting replace", `{"type":"Replace","pattern":{"String":"a"},"content":""}`, "null", "", nil, false},
		{"lstrip added token", legacyNormalizer, "null", `,{"id":266,"content":"<tag>","special":false,"normalized":false,"lstrip":true}`, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := string(spTokenizerJSON(t, tc.normalizer, tc.pre, legacyDecoder, tc.added))
			if tc.edit != nil {
				data = tc.edit(data)
			}
			tok, err := ParseJSON([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			m := tok.MaxTokenBytes()
			if (m > 0) != tc.bounded {
				t.Fatalf("MaxTokenBytes %d, want a bound: %v", m, tc.bounded)
			}
			if m == 0 {
				return
			}
			for _, text := range []string{strings.Repeat("ab ", 300), strings.Repeat("abcd", 300), strings.Repeat("\u212A", 300), "x<tag>  y"} {
				if n := len(tok.Encode(text)); n*m < len(text) {
					t.Errorf("%q... (%d bytes): %d tokens, fewer than %d bytes a token allow", text[:12], len(text), n, m)
				}
			}
		})
	}
}

// TestNormalizerShrink checks the per-character shrink factors against
// every character: no character's normal form or lower case is shorter
// than its bytes divided by the factor claimed.
func TestNormalizerShrink(t *testing.T) {
	forms := []normalizer{unicodeNorm{norm.NFC}, unicodeNorm{norm.NFD}, unicodeNorm{norm.NFKC}, unicodeNorm{norm.NFKD}, lowercase{}}
	for _, n := range forms {
		f := shrinkOf(n)
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if !utf8.ValidRune(r) {
				continue
			}
			in := string(r)
			if out := n.normalize(in); len(out)*f < len(in) {
				t.Errorf("%T %v: %U (%d bytes) becomes %q (%d bytes), more than the factor %d", n, n, r, len(in), out, len(out), f)
			}
		}
	}
}
