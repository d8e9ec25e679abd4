package tokenizer

import (
	"iter"
	"strings"
	"unicode/utf8"
)

// BPE is the tokenizer every supported format loads into: added-token
// matching, normalization, pre-tokenization, a rank-ordered BPE model and a
// decoder chain.
type BPE struct {
	source string // file it was loaded from, for messages

	tokens  []string // id -> token text; "" where no token has the id
	vocab   map[string]int32
	added   map[string]*addedToken
	special []bool

	rawMatch  *matcher // added tokens matched on the raw text
	normMatch *matcher // added tokens matched after normalization

	norm normalizer
	pre  preTokenizer

	// Initial symbols of a pre-token. Byte-level models map every byte to
	// the token of its byte-level rune; the others look characters up and
	// fall back to "<0xXX>" byte tokens, then to the unknown token.
	byteLevel    bool
	byteIDs      [256]int32
	rawVocab     map[string]int32 // byte-level: token bytes -> id, for ignoreMerges
	byteFallback bool
	fallbackIDs  [256]int32
	unk          int32
	fuseUnk      bool
	ignoreMerges bool
	llamaChars   bool // group bytes into characters the way llama2.c does

	// cutSep, when set, is a separator ("▁" or " ") before which a long
	// word can be cut without changing the result: no token contains it
	// after another character, so no merge crosses such a cut.
	cutSep string

	model *bpe

	post     []postItem // EncodeWithSpecial template; nil means none
	dec      decoder
	byteOnly bool // decoder is exactly ByteLevel: decode through tokBytes
	tokBytes [][]byte
	cleanUp  bool
	bos      int
	eos      []int
	maxBytes int // MaxTokenBytes
}

// postItem is one element of a post-processing template: a run of special
// ids, or the encoded sequence itself (ids == nil).
type postItem struct {
	ids []int
}

// Encode implements Tokenizer.
func (t *BPE) Encode(text string) []int {
	return t.appendEncoded(make([]int, 0, len(text)/3+4), text)
}

// EncodeWithSpecial implements Tokenizer.
func (t *BPE) EncodeWithSpecial(text string) []int {
	if t.post == nil {
		return t.Encode(text)
	}
	ids := make([]int, 0, len(text)/3+8)
	for _, it := range t.post {
		if it.ids == nil {
			ids = t.appendEncoded(ids, text)
		} else {
			ids = append(ids, it.ids...)
		}
	}
	return ids
}

func (t *BPE) appendEncoded(ids []int, text string) []int {
	var segs, sub []segment
	segs = t.rawMatch.split(text, 0, segs)
	pieces := make([]piece, 0, 1)
	for _, s := range segs {
		if s.tok != nil {
			ids = append(ids, s.tok.ID)
			continue
		}
		normed := s.text
		if t.norm != nil {
			normed = t.norm.normalize(normed)
		}
		sub = t.normMatch.split(normed, s.offset, sub[:0])
		for _, ss := range sub {
			if ss.tok != nil {
				ids = append(ids, ss.tok.ID)
				continue
			}
			if ss.text == "" {
				continue
			}
			pieces = append(pieces[:0], piece{text: ss.text, first: ss.offset == 0})
			if t.pre != nil {
				pieces = t.pre.apply(pieces)
			}
			for _, p := range pieces {
				if t.cutSep == "" {
					ids = t.appendWord(ids, p.text)
					continue
				}
				for w := range cutWords(p.text, t.cutSep) {
					ids = t.appendWord(ids, w)
				}
			}
		}
	}
	return ids
}

// appendWord runs the BPE model on one pre-token.
func (t *BPE) appendWord(ids []int, word string) []int {
	if word == "" {
		return ids
	}
	if res, ok := t.model.cached(word); ok {
		return appendIDs(ids, res)
	}
	if t.ignoreMerges {
		lookup := t.vocab
		if t.byteLevel {
			lookup = t.rawVocab
		}
		if id, ok := lookup[word]; ok {
			res := []int32{id}
			t.model.store(word, res)
			return append(ids, int(id))
		}
	}
	var syms []int32
	if t.byteLevel {
		syms = make([]int32, 0, len(word))
		for i := 0; i < len(word); i++ {
			if id := t.byteIDs[word[i]]; id >= 0 {
				syms = append(syms, id)
			} else if t.unk >= 0 {
				syms = append(syms, t.unk)
			}
		}
	} else {
		syms = t.charSymbols(word)
	}
	res := t.model.apply(syms)
	t.model.store(word, res)
	return appendIDs(ids, res)
}

// cutWords yields word cut before every sep that follows another character.
func cutWords(word, sep string) iter.Seq[string] {
	return func(yield func(string) bool) {
		start := 0
		for i := 1; i < len(word); {
			k := strings.Index(word[i:], sep)
			if k < 0 {
				break
			}
			i += k
			if !strings.HasSuffix(word[:i], sep) {
				if !yield(word[start:i]) {
					return
				}
				start = i
			}
			i += len(sep)
		}
		yield(word[start:])
	}
}

// safeCut reports whether words may be cut before sep: sep is a token and
// no token holds sep after a character that is not part of a run of sep.
func safeCut(vocab map[string]int32, sep string) bool {
	if _, ok := vocab[sep]; !ok {
		return false
	}
	for tok := range vocab {
		rest := tok
		for strings.HasPrefix(rest, sep) {
			rest = rest[len(sep):]
		}
		if strings.Contains(rest, sep) {
			return false
		}
	}
	return true
}

func appendIDs(ids []int, res []int32) []int {
	for _, id := range res {
		ids = append(ids, int(id))
	}
	return ids
}

// charSymbols gives the initial symbols of a word for character-level
// models, as Hugging Face's BPE does with byte_fallback and fuse_unk.
func (t *BPE) charSymbols(word string) []int32 {
	syms := make([]int32, 0, len(word))
	unkPending := false
	flushUnk := func() {
		if unkPending {
			syms = append(syms, t.unk)
			unkPending = false
		}
	}
	for i := 0; i < len(word); {
		size := t.charLen(word, i)
		ch := word[i : i+size]
		i += size
		if id, ok := t.vocab[ch]; ok {
			flushUnk()
			syms = append(syms, id)
			continue
		}
		if t.byteFallback && t.allFallback(ch) {
			flushUnk()
			for k := 0; k < len(ch); k++ {
				syms = append(syms, t.fallbackIDs[ch[k]])
			}
			continue
		}
		if t.unk >= 0 {
			if unkPending && !t.fuseUnk {
				syms = append(syms, t.unk)
			}
			unkPending = true
		}
	}
	flushUnk()
	return syms
}

func (t *BPE) allFallback(ch string) bool {
	for k := 0; k < len(ch); k++ {
		if t.fallbackIDs[ch[k]] < 0 {
			return false
		}
	}
	return true
}

// charLen is the byte length of the character at word[i:]: a UTF-8 rune
// (an invalid byte alone), or for llama2.c files a lead byte with up to
// three following continuation bytes, as llama2.c's encode groups them.
func (t *BPE) charLen(word string, i int) int {
	if t.llamaChars {
		j := i + 1
		for j < len(word) && j-i < 4 && word[j]&0xC0 == 0x80 {
			j++
		}
		return j - i
	}
	_, size := utf8.DecodeRuneInString(word[i:])
	return size
}

// Decode implements Tokenizer.
func (t *BPE) Decode(ids []int) string { return t.decode(ids, false) }

// DecodeSkipSpecial implements Tokenizer.
func (t *BPE) DecodeSkipSpecial(ids []int) string { return t.decode(ids, true) }

func (t *BPE) valid(id int) bool { return id >= 0 && id < len(t.tokens) && t.tokens[id] != "" }

func (t *BPE) decode(ids []int, skipSpecial bool) string {
	var s string
	if t.byteOnly {
		var raw []byte
		for _, id := range ids {
			if !t.valid(id) || (skipSpecial && t.special[id]) {
				continue
			}
			raw = append(raw, t.tokBytes[id]...)
		}
		s = string(appendLossy(make([]byte, 0, len(raw)), raw))
	} else {
		toks := make([]string, 0, len(ids))
		for _, id := range ids {
			if !t.valid(id) || (skipSpecial && t.special[id]) {
				continue
			}
			toks = append(toks, t.tokens[id])
		}
		if t.dec == nil {
			s = strings.Join(toks, " ")
		} else {
			s = strings.Join(t.dec.decodeChain(toks), "")
		}
	}
	if t.cleanUp {
		s = cleanUpSpaces(s)
	}
	return s
}

// NewStream implements Tokenizer.
func (t *BPE) NewStream() *Stream { return newStream(t.Decode) }

// NewStreamSkipSpecial is NewStream with special tokens left out.
func (t *BPE) NewStreamSkipSpecial() *Stream { return newStream(t.DecodeSkipSpecial) }

// BOS implements Tokenizer.
func (t *BPE) BOS() int { return t.bos }

// EOS implements Tokenizer.
func (t *BPE) EOS() []int { return append([]int(nil), t.eos...) }

// VocabSize implements Tokenizer.
func (t *BPE) VocabSize() int { return len(t.tokens) }

// TokenText implements Tokenizer.
func (t *BPE) TokenText(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// ID implements Tokenizer.
func (t *BPE) ID(token string) (int, bool) {
	if a, ok := t.added[token]; ok {
		return a.ID, true
	}
	if id, ok := t.vocab[token]; ok {
		return int(id), true
	}
	return 0, false
}

// IsSpecial implements Tokenizer.
func (t *BPE) IsSpecial(id int) bool { return id >= 0 && id < len(t.special) && t.special[id] }

// Source is the file the tokenizer was loaded from.
func (t *BPE) Source() string { return t.source }
