package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// byteLevelJSON is a tiny GPT-2-style tokenizer: the 256 byte runes as
// ids 0..255, then he, ll, hell, hello (reachable by merges) and Ġworld
// (not reachable: only ignore_merges can produce it).
func byteLevelJSON(t *testing.T, addPrefixSpace, ignoreMerges bool) []byte {
	t.Helper()
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	for i, s := range []string{"he", "ll", "hell", "hello", "Ġworld"} {
		vocab[s] = 256 + i
	}
	v, err := json.Marshal(vocab)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(fmt.Sprintf(`{
	"added_tokens": [{"id": 261, "content": "<|end|>", "special": true}],
	"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": %v, "use_regex": true},
	"post_processor": {"type": "ByteLevel"},
	"decoder": {"type": "ByteLevel"},
	"model": {"type": "BPE", "ignore_merges": %v, "vocab": %s,
		"merges": [["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"]]}
	}`, addPrefixSpace, ignoreMerges, v))
}

// TestByteLevel checks encodings worked out by hand: the GPT-2 regex cuts
// "hello world" into "hello" and " world"; merges build hello; Ġworld only
// comes whole from ignore_merges; add_prefix_space turns "hello" into
// " hello", which is Ġ followed by hello.
func TestByteLevel(t *testing.T) {
	sp, w, o, r, l, d := int(' '), int('w'), int('o'), int('r'), int('l'), int('d')
	// The byte-level rune of ' ' is Ġ, at id 32 here (id == byte).
	for _, c := range []struct {
		name                 string
		prefix, ignoreMerges bool
		text                 string
		want                 []int
	}{
		{"ignore_merges", false, true, "hello world", []int{259, 260}},
		{"merges only", false, false, "hello world", []int{259, sp, w, o, r, l, d}},
		{"prefix space", true, true, "hello", []int{sp, 259}},
		{"special", false, true, "hello<|end|>", []int{259, 261}},
	} {
		tok, err := ParseJSON(byteLevelJSON(t, c.prefix, c.ignoreMerges))
		if err != nil {
			t.Fatal(err)
		}
		got := tok.Encode(c.text)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(%q) = %v, want %v", c.name, c.text, got, c.want)
		}
		want := c.text
		if c.prefix {
			want = " " + want
		}
		if dec := tok.Decode(got); dec != want {
			t.Errorf("%s: Decode = %q, want %q", c.name, dec, want)
		}
	}
}
