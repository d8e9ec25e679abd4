package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	Content    string `json:"content"`
	ID         int    `json:"id"`
	Special    bool   `json:"special"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	SingleWord bool   `json:"single_word"`
	Normalized bool   `json:"normalized"`
}

// trieNode is one byte step of the added-token matcher.
type trieNode struct {
	next map[byte]*trieNode
	tok  *addedToken
}

// matcher finds added tokens in text, leftmost first and, at one position,
// longest first (Hugging Face's Aho-Corasick LeftmostLongest).
type matcher struct {
	root  trieNode
	first [256]bool
}

func newMatcher(toks []*addedToken) *matcher {
	m := &matcher{}
	for _, t := range toks {
		if t.Content == "" {
			continue
		}
		n := &m.root
		for i := 0; i < len(t.Content); i++ {
			c := t.Content[i]
			if n.next == nil {
				n.next = map[byte]*trieNode{}
			}
			child, ok := n.next[c]
			if !ok {
				child = &trieNode{}
				n.next[c] = child
			}
			n = child
		}
		n.tok = t
		m.first[t.Content[0]] = true
	}
	return m
}

// longestAt returns the longest token that starts at text[i:].
func (m *matcher) longestAt(text string, i int) *addedToken {
	var best *addedToken
	n := &m.root
	for j := i; j < len(text); j++ {
		child, ok := n.next[text[j]]
		if !ok {
			break
		}
		n = child
		if n.tok != nil {
			best = n.tok
		}
	}
	return best
}

// segment is a span of text that is either an added token (tok != nil) or
// plain text still to be tokenized.
type segment struct {
	text   string
	offset int // byte offset of text in the string that was split
	tok    *addedToken
}

// split cuts text at the added tokens it contains, applying their lstrip,
// rstrip and single_word flags as Hugging Face does.
func (m *matcher) split(text string, offset int, out []segment) []segment {
	if m == nil || len(m.root.next) == 0 {
		return append(out, segment{text: text, offset: offset})
	}
	startOffset := 0
	for i := 0; i < len(text); {
		if !m.first[text[i]] {
			i++
			continue
		}
		tok := m.longestAt(text, i)
		if tok == nil {
			i++
			continue
		}
		start, stop := i, i+len(tok.Content)
		i = stop
		if tok.SingleWord && (endsWithWord(text[:start]) || startsWithWord(text[stop:])) {
			continue
		}
		if tok.LStrip {
			s := start
			for s > startOffset {
				r, size := utf8.DecodeLastRuneInString(text[:s])
				if !unicode.IsSpace(r) {
					break
				}
				s -= size
			}
			start = s
		}
		if tok.RStrip {
			for stop < len(text) {
				r, size := utf8.DecodeRuneInString(text[stop:])
				if !unicode.IsSpace(r) {
					break
				}
				stop += size
			}
			i = stop
		}
		if startOffset < start {
			out = append(out, segment{text: text[startOffset:start], offset: offset + startOffset})
		}
		out = append(out, segment{text: text[start:stop], offset: offset + start, tok: tok})
		startOffset = stop
	}
	if startOffset < len(text) || len(text) == 0 {
		out = append(out, segment{text: text[startOffset:], offset: offset + startOffset})
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' }

func endsWithWord(s string) bool {
	r, size := utf8.DecodeLastRuneInString(s)
	return size > 0 && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	return size > 0 && isWordRune(r)
}
