package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// A splitter cuts text at the matches of a pattern, calling emit with the
// byte range of every match and of every gap between matches, in order, so
// that the ranges tile the text; match tells which is which.
type splitter interface {
	split(text string, emit func(start, end int, match bool))
}

// Known split patterns, spelled as they appear in tokenizer.json files.
const (
	// patternQwen2 is the Qwen2 / Qwen2.5 pre-tokenizer regex.
	patternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patternLlama3 is the Llama-3 one: digits in groups of up to three.
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patternGPT2 is the regex the ByteLevel pre-tokenizer applies when
	// use_regex is true.
	patternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// newSplitter returns a hand-written scanner for the known patterns and a
// backtracking regex engine (.NET syntax, close to Oniguruma's) otherwise.
func newSplitter(pattern string) (splitter, error) {
	switch pattern {
	case patternQwen2:
		return &llama3Scanner{maxDigits: 1}, nil
	case patternLlama3:
		return &llama3Scanner{maxDigits: 3}, nil
	}
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("compiling split pattern %q: %w", pattern, err)
	}
	return &regexSplitter{re: re}, nil
}

// regexSplitter applies any regex with find-all semantics.
type regexSplitter struct{ re *regexp2.Regexp }

func (s *regexSplitter) split(text string, emit func(start, end int, match bool)) {
	if text == "" {
		return
	}
	idx, err := s.re.FindAllStringIndex(text, -1)
	if err != nil {
		// The engine only fails on timeouts, which are not set; keep the
		// whole text as one gap rather than lose it.
		emit(0, len(text), false)
		return
	}
	prev := 0
	for _, m := range idx {
		if m[0] > prev {
			emit(prev, m[0], false)
		}
		if m[1] > m[0] {
			emit(m[0], m[1], true)
		}
		prev = m[1]
	}
	if prev < len(text) {
		emit(prev, len(text), false)
	}
}

// Rune classes the Qwen2/Llama-3 pattern distinguishes.
const (
	clsOther  = iota // none of the below (punctuation, symbols, invalid bytes)
	clsLetter        // \p{L}
	clsNumber        // \p{N}
	clsSpace         // \s other than \r and \n
	clsCRLF          // \r or \n
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case c == '\r' || c == '\n':
			t[c] = clsCRLF
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			t[c] = clsSpace
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] = clsLetter
		case c >= '0' && c <= '9':
			t[c] = clsNumber
		default:
			t[c] = clsOther
		}
	}
	return t
}()

// classAt decodes the rune at text[i:] and classifies it. Invalid bytes are
// one-byte runes of class other.
func classAt(text string, i int) (r rune, size int, cls uint8) {
	c := text[i]
	if c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, size = utf8.DecodeRuneInString(text[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return r, 1, clsOther
	case unicode.IsLetter(r):
		return r, size, clsLetter
	case unicode.IsNumber(r):
		return r, size, clsNumber
	case unicode.IsSpace(r):
		return r, size, clsSpace
	}
	return r, size, clsOther
}

// llama3Scanner matches the Qwen2 and Llama-3 pattern exactly, alternative
// by alternative, without a regex engine:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,maxDigits} |
//	 ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
//
// Every position matches some alternative, so pre-tokens tile the text.
type llama3Scanner struct{ maxDigits int }

func (s *llama3Scanner) split(text string, emit func(start, end int, match bool)) {
	for i := 0; i < len(text); {
		j := s.match(text, i)
		emit(i, j, true)
		i = j
	}
}

// match returns the end of the match that starts at i (i < len(text)).
func (s *llama3Scanner) match(text string, i int) int {
	n := len(text)
	c, size, cls := classAt(text, i)
	next := i + size

	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if c == '\'' && next < n {
		if end := contraction(text, next); end > 0 {
			return end
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if cls == clsLetter {
		return letters(text, next)
	}
	if cls != clsCRLF && cls != clsNumber && next < n {
		if _, _, c2 := classAt(text, next); c2 == clsLetter {
			return letters(text, next)
		}
	}
	// \p{N}{1,maxDigits}
	if cls == clsNumber {
		j := next
		for k := 1; k < s.maxDigits && j < n; k++ {
			_, sz, c2 := classAt(text, j)
			if c2 != clsNumber {
				break
			}
			j += sz
		}
		return j
	}
	// ' '?[^\s\p{L}\p{N}]+[\r\n]*
	start := -1
	if cls == clsOther {
		start = next
	} else if c == ' ' && next < n {
		if _, sz, c2 := classAt(text, next); c2 == clsOther {
			start = next + sz
		}
	}
	if start >= 0 {
		j := start
		for j < n {
			_, sz, c2 := classAt(text, j)
			if c2 != clsOther {
				break
			}
			j += sz
		}
		for j < n && (text[j] == '\r' || text[j] == '\n') {
			j++
		}
		return j
	}
	// The rune at i is whitespace. Find the run [i, end) and the end of
	// its last \r or \n.
	end, lastNL, lastStart := i, -1, i
	for end < n {
		_, sz, c2 := classAt(text, end)
		if c2 != clsSpace && c2 != clsCRLF {
			break
		}
		if c2 == clsCRLF {
			lastNL = end + sz
		}
		lastStart = end
		end += sz
	}
	// \s*[\r\n]+ : backtracking leaves the match after the last newline.
	if lastNL >= 0 {
		return lastNL
	}
	// \s+(?!\S) : the whole run at the end of text, else all but its last
	// rune when that leaves at least one.
	if end == n {
		return end
	}
	if lastStart > i {
		return lastStart
	}
	// \s+
	return end
}

// contraction matches s|t|re|ve|m|ll|d case-insensitively at text[i:] and
// returns the end, or 0. Case folding follows Unicode: 'ſ' (U+017F) folds
// to 's', as in the Oniguruma engine Hugging Face uses.
func contraction(text string, i int) int {
	r, size := utf8.DecodeRuneInString(text[i:])
	switch r {
	case 's', 'S', 'ſ', 't', 'T', 'm', 'M', 'd', 'D':
		return i + size
	}
	if i+1 >= len(text) {
		return 0
	}
	a, b := lower(text[i]), lower(text[i+1])
	if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
		return i + 2
	}
	return 0
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// letters returns the end of the run of letters starting at i.
func letters(text string, i int) int {
	for i < len(text) {
		_, sz, c := classAt(text, i)
		if c != clsLetter {
			break
		}
		i += sz
	}
	return i
}
