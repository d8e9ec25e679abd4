package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// spVocab is a tiny Llama-2-style vocabulary: <unk>, <s>, </s>, the 256
// byte tokens, then a few pieces.
func spVocab() map[string]int {
	v := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for b := 0; b < 256; b++ {
		v[fmt.Sprintf("<0x%02X>", b)] = 3 + b
	}
	for i, p := range []string{"▁", "a", "b", "▁a", "ab", "▁ab", "c", "<tag>"} {
		v[p] = 259 + i
	}
	return v
}

const (
	idSpace = 259 + iota
	idA
	idB
	idSpaceA
	idAB
	idSpaceAB
	idC
	idTag
)

// spTokenizerJSON builds a tokenizer.json around spVocab; the pipeline
// parts are passed in as JSON values.
func spTokenizerJSON(t *testing.T, normalizer, preTokenizer, decoder string, extraAdded string) []byte {
	t.Helper()
	vocab, err := json.Marshal(spVocab())
	if err != nil {
		t.Fatal(err)
	}
	added := `{"id":0,"content":"<unk>","special":true,"normalized":false},
		{"id":1,"content":"<s>","special":true,"normalized":false},
		{"id":2,"content":"</s>","special":true,"normalized":false}` + extraAdded
	return []byte(`{
	"version": "1.0",
	"added_tokens": [` + added + `],
	"normalizer": ` + normalizer + `,
	"pre_tokenizer": ` + preTokenizer + `,
	"post_processor": {"type": "TemplateProcessing",
		"single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
		"special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
	"decoder": ` + decoder + `,
	"model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
		"vocab": ` + string(vocab) + `,
		"merges": ["▁ a", "a b", "▁a b"]}
	}`)
}

const (
	legacyNormalizer = `{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}`
	legacyDecoder    = `{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}`
	metaspacePreTok  = `{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}`
	metaspaceDecoder = `{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}`
)

// TestSentencePiecePipelines checks encodings worked out by hand from the
// merges ("▁ a" < "a b" < "▁a b", lowest rank first, leftmost on ties).
func TestSentencePiecePipelines(t *testing.T) {
	tagAdded := `,{"id":266,"content":"<tag>","special":false,"normalized":false,"lstrip":true,"rstrip":true}`
	legacy, err := ParseJSON(spTokenizerJSON(t, legacyNormalizer, "null", legacyDecoder, tagAdded))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := ParseJSON(spTokenizerJSON(t, "null", metaspacePreTok, metaspaceDecoder, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		tok  *BPE
		text string
		want []int
		dec  string // Decode of want
	}{
		// "▁ab▁ab": ▁+a twice (rank 0, leftmost first), then ▁a+b twice.
		{"merges", legacy, "ab ab", []int{idSpaceAB, idSpaceAB}, "ab ab"},
		// "d" and "é" are not pieces: byte fallback to <0x64>, <0xC3><0xA9>.
		{"byte fallback", legacy, "cdé", []int{idSpace, idC, 3 + 0x64, 3 + 0xC3, 3 + 0xA9}, "cdé"},
		// Each span around a special token gets its own "▁" prefix (legacy).
		{"special splits", legacy, "ab <s>ab", []int{idSpaceAB, idSpace, 1, idSpaceAB}, "ab <s> ab"},
		// lstrip/rstrip swallow the spaces around <tag>.
		{"lstrip rstrip", legacy, "a <tag> b", []int{idSpaceA, idTag, idSpace, idB}, "a<tag> b"},
		// Metaspace "first" prepends only at the start of the input.
		{"metaspace first", meta, "ab <s>ab", []int{idSpaceAB, idSpace, 1, idAB}, "ab <s>ab"},
		// An input that starts with a space gets no second "▁".
		{"metaspace leading space", meta, " ab", []int{idSpaceAB}, "ab"},
		{"empty", legacy, "", nil, ""},
	} {
		got := c.tok.Encode(c.text)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(%q) = %v, want %v", c.name, c.text, got, c.want)
		}
		if d := c.tok.Decode(c.want); d != c.dec {
			t.Errorf("%s: Decode(%v) = %q, want %q", c.name, c.want, d, c.dec)
		}
	}
	if got := legacy.EncodeWithSpecial("ab"); !slices.Equal(got, []int{1, idSpaceAB}) {
		t.Errorf("EncodeWithSpecial = %v, want BOS then ▁ab", got)
	}
	if legacy.BOS() != 1 || !slices.Equal(legacy.EOS(), []int{2}) {
		t.Errorf("BOS %d EOS %v, want 1 [2]", legacy.BOS(), legacy.EOS())
	}
	// An invalid byte run decodes to one U+FFFD per byte (ByteFallback).
	if d := legacy.Decode([]int{idA, 3 + 0xE4, 3 + 0xB8, idB}); d != "a\uFFFD\uFFFDb" {
		t.Errorf("invalid byte run decodes to %q", d)
	}
}

func TestUnknownFused(t *testing.T) {
	data := spTokenizerJSON(t, legacyNormalizer, "null", legacyDecoder, "")
	data = []byte(strings.Replace(string(data), `"byte_fallback": true`, `"byte_fallback": false`, 1))
	tok, err := ParseJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	// "dd" has no pieces and no fallback: one fused <unk>.
	if got, want := tok.Encode("addb"), []int{idSpaceA, 0, idB}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}

func TestLoadCompanions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tokenizer.json", string(spTokenizerJSON(t, legacyNormalizer, "null", legacyDecoder, "")))
	write("tokenizer_config.json", `{"bos_token": {"content": "<s>"}, "eos_token": "</s>", "clean_up_tokenization_spaces": true}`)
	write("generation_config.json", `{"eos_token_id": [2, 0]}`)
	tk, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tk.BOS() != 1 || !slices.Equal(tk.EOS(), []int{2, 0}) {
		t.Errorf("BOS %d EOS %v, want 1 [2 0]", tk.BOS(), tk.EOS())
	}
	write("tokenizer_config.json", `{"eos_token": 7}`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "eos_token") {
		t.Errorf("bad eos_token: err = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("empty folder: err = %v", err)
	}
}

func TestParseJSONErrors(t *testing.T) {
	good := string(spTokenizerJSON(t, legacyNormalizer, "null", legacyDecoder, ""))
	for _, c := range []struct{ name, data, want string }{
		{"not JSON", "{", "parsing JSON"},
		{"no model", `{"added_tokens": []}`, "model"},
		{"unigram", `{"model": {"type": "Unigram"}}`, "model.type"},
		{"merge out of vocab", strings.Replace(good, `"▁a b"]`, `"▁a zz"]`, 1), "merges[2]"},
		{"bad merge", strings.Replace(good, `"▁a b"]`, `"▁ab"]`, 1), "merges[2]"},
		{"negative id", strings.Replace(good, `"a":260`, `"a":-5`, 1), "out of range"},
		{"unknown normalizer", strings.Replace(good, `"type":"Prepend"`, `"type":"Nope"`, 1), "normalizer"},
		{"unknown decoder", strings.Replace(good, `"type":"Fuse"`, `"type":"Nope"`, 1), "decoder"},
		{"bad regex", strings.Replace(good, `"pre_tokenizer": null`, `"pre_tokenizer": {"type":"Split","pattern":{"Regex":"("},"behavior":"Isolated"}`, 1), "pre_tokenizer"},
	} {
		_, err := ParseJSON([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want mention of %q", c.name, err, c.want)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	t := &testing.T{}
	f.Add(spTokenizerJSON(t, legacyNormalizer, "null", legacyDecoder, ""))
	f.Add(spTokenizerJSON(t, "null", metaspacePreTok, metaspaceDecoder, ""))
	f.Add(spTokenizerJSON(t, `{"type":"NFC"}`, `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"MergedWithNext","invert":false},{"type":"ByteLevel","add_prefix_space":true,"use_regex":true},{"type":"Digits","individual_digits":true}]}`, `{"type":"ByteLevel"}`, ""))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]},"added_tokens":[{"id":3,"content":"x","single_word":true}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseJSON(data)
		if err != nil {
			return
		}
		for _, s := range []string{"", "ab ab", " <s>x\xff中 123\n"} {
			ids := tok.EncodeWithSpecial(s)
			_ = tok.Decode(ids)
			_ = tok.DecodeSkipSpecial(append(ids, -1, tok.VocabSize()))
			st := tok.NewStream()
			for _, id := range ids {
				st.Push(id)
			}
			st.Flush()
		}
	})
}

func TestAppendLossy(t *testing.T) {
	// Expected strings follow the Unicode "maximal subpart" rule: each
	// maximal prefix of a well-formed sequence that is cut short, and each
	// byte that cannot start one, becomes one U+FFFD.
	for _, c := range []struct{ in, want string }{
		{"abc", "abc"},
		{"中", "中"},
		{"\xe4\xb8", "\uFFFD"},                           // truncated 3-byte sequence
		{"\xe4\xb8A", "\uFFFDA"},                         // cut short by ASCII
		{"\x80\x80", "\uFFFD\uFFFD"},                     // lone continuations
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},           // surrogate: ED only takes 80..9F
		{"\xf0\x9f\xa6", "\uFFFD"},                       // truncated emoji
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"}, // above U+10FFFF
		{"\xc0\xaf", "\uFFFD\uFFFD"},                     // overlong
	} {
		if got := string(appendLossy(nil, []byte(c.in))); got != c.want {
			t.Errorf("appendLossy(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCleanUpSpaces(t *testing.T) {
	// transformers' clean_up_tokenization, replacement by replacement.
	if got := cleanUpSpaces("Hello , world ! I 'm here . Do n't"); got != "Hello, world! I'm here. Don't" {
		t.Errorf("got %q", got)
	}
}
