package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

var roundTripSeeds = []string{
	"", "Hello world", "  leading and trailing  ", "tabs\tand\r\nnewlines\n\n",
	"<|im_start|>user\nhi<|im_end|>\n<|endoftext|>", "<|im_start", "e\u0301 caf\u00e9 Å Å",
	"中文测试，你好世界！", "🦙🚀😶‍🌫️ ✅", "ſt 'S don't", "\u00a0\u3000\u2028", "1234567890",
	"def f(x):\n    return x ** 2\n",
}

// FuzzQwen2RoundTrip checks decode(encode(x)) == NFC(x) for valid UTF-8.
func FuzzQwen2RoundTrip(f *testing.F) {
	for _, s := range roundTripSeeds {
		f.Add(s)
	}
	tok := loadQwen2(f)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		ids := tok.Encode(s)
		if got, want := tok.Decode(ids), norm.NFC.String(s); got != want {
			t.Errorf("decode(encode(%q)) = %q, want %q (ids %v)", s, got, want, ids)
		}
	})
}

// TestQwen2Stream pushes ids one at a time: every piece is valid UTF-8 and
// the pieces add up to Decode, also for random ids that split characters
// or form invalid bytes.
func TestQwen2Stream(t *testing.T) {
	tok := loadQwen2(t)
	r := rand.New(rand.NewPCG(3, 4))
	seqs := [][]int{tok.Encode(strings.Join(roundTripSeeds, " "))}
	for range 200 {
		ids := make([]int, 1+r.IntN(12))
		for i := range ids {
			ids[i] = r.IntN(tok.VocabSize() + 2) // includes two unknown ids
		}
		seqs = append(seqs, ids)
	}
	for _, ids := range seqs {
		st := tok.NewStream()
		var b strings.Builder
		for _, id := range ids {
			out := st.Push(id)
			if !utf8.ValidString(out) {
				t.Fatalf("ids %v: Push(%d) = %q is not valid UTF-8", ids, id, out)
			}
			b.WriteString(out)
		}
		b.WriteString(st.Flush())
		if got, want := b.String(), tok.Decode(ids); got != want {
			t.Errorf("ids %v: stream %q, Decode %q", ids, got, want)
		}
	}
	// A multi-byte character split over tokens is held back until whole.
	ids := tok.Encode(" 🦙") // [11162 99 247] in llama.cpp's vocab test
	if len(ids) < 2 {
		t.Fatalf("\" 🦙\" encodes to %v; want a split character", ids)
	}
	st := tok.NewStream()
	for _, id := range ids[:len(ids)-1] {
		if out := st.Push(id); out != "" {
			t.Errorf("partial character emitted %q", out)
		}
	}
	if out := st.Push(ids[len(ids)-1]); out != " 🦙" {
		t.Errorf("completed character: got %q", out)
	}
}

func TestQwen2Specials(t *testing.T) {
	tok := loadQwen2(t)
	if tok.BOS() != -1 {
		t.Errorf("BOS = %d, want -1 (bos_token is null)", tok.BOS())
	}
	imEnd, ok := tok.ID("<|im_end|>")
	if !ok || !slices.Equal(tok.EOS(), []int{imEnd}) {
		t.Errorf("EOS = %v, want [%d] (<|im_end|>)", tok.EOS(), imEnd)
	}
	ids := tok.Encode("<|im_start|>user\nhi<|im_end|>")
	if !tok.IsSpecial(ids[0]) || ids[len(ids)-1] != imEnd {
		t.Errorf("special tokens not matched in text: %v", ids)
	}
	if got := tok.DecodeSkipSpecial(ids); got != "user\nhi" {
		t.Errorf("DecodeSkipSpecial = %q", got)
	}
	if !slices.Equal(tok.EncodeWithSpecial("hi"), tok.Encode("hi")) {
		t.Error("Qwen2 post-processing should add nothing")
	}
	if got := tok.TokenText(tok.Encode(" hello")[0]); got != "Ġhello" {
		t.Errorf("TokenText = %q, want Ġhello", got)
	}
}
