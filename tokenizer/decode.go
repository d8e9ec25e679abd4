package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// appendLossy appends b to dst as valid UTF-8, replacing each maximal
// invalid subsequence by one U+FFFD, as Rust's String::from_utf8_lossy and
// Python's errors="replace" do.
func appendLossy(dst []byte, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
			need = 2
		case c == 0xED:
			need, hi = 2, 0x9F
		case c == 0xF0:
			need, lo = 3, 0x90
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		case c == 0xF4:
			need, hi = 3, 0x8F
		}
		if need == 0 {
			dst = append(dst, "\uFFFD"...)
			i++
			continue
		}
		j, ok := i+1, true
		for k := 0; k < need; k++ {
			l, h := byte(0x80), byte(0xBF)
			if k == 0 {
				l, h = lo, hi
			}
			if j >= len(b) || b[j] < l || b[j] > h {
				ok = false
				break
			}
			j++
		}
		if ok {
			dst = append(dst, b[i:j]...)
		} else {
			dst = append(dst, "\uFFFD"...)
		}
		i = j
	}
	return dst
}

// A decoder is one step of tokenizer.json's decoder chain: it maps the
// token strings to new strings, which are joined at the end.
type decoder interface {
	decodeChain(toks []string) []string
}

type byteLevelDec struct{}

func (byteLevelDec) decodeChain(toks []string) []string {
	var raw []byte
	for _, t := range toks {
		raw = append(raw, byteLevelDecode(t)...)
	}
	return []string{string(appendLossy(nil, raw))}
}

type replaceDec struct{ old, new string }

func (d replaceDec) decodeChain(toks []string) []string {
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(t, d.old, d.new)
	}
	return toks
}

// byteFallbackDec turns runs of "<0xXX>" tokens into the bytes they stand
// for; a run that is not valid UTF-8 becomes one U+FFFD per byte.
type byteFallbackDec struct{}

func byteToken(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(t[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

func (byteFallbackDec) decodeChain(toks []string) []string {
	out := toks[:0:0]
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if utf8.Valid(run) {
			out = append(out, string(run))
		} else {
			for range run {
				out = append(out, "\uFFFD")
			}
		}
		run = run[:0]
	}
	for _, t := range toks {
		if b, ok := byteToken(t); ok {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

type fuseDec struct{}

func (fuseDec) decodeChain(toks []string) []string { return []string{strings.Join(toks, "")} }

// stripDec removes up to start leading and stop trailing copies of content
// from every token.
type stripDec struct {
	content     rune
	start, stop int
}

func (d stripDec) decodeChain(toks []string) []string {
	for i, t := range toks {
		for k := 0; k < d.start; k++ {
			r, size := utf8.DecodeRuneInString(t)
			if size == 0 || r != d.content {
				break
			}
			t = t[size:]
		}
		for k := 0; k < d.stop; k++ {
			r, size := utf8.DecodeLastRuneInString(t)
			if size == 0 || r != d.content {
				break
			}
			t = t[:len(t)-size]
		}
		toks[i] = t
	}
	return toks
}

// metaspaceDec turns "▁" back into spaces, dropping them from the first
// token when a prefix was added at encode time.
type metaspaceDec struct {
	replacement rune
	dropFirst   bool
}

func (d metaspaceDec) decodeChain(toks []string) []string {
	for i, t := range toks {
		var b strings.Builder
		for _, r := range t {
			if r == d.replacement {
				if i == 0 && d.dropFirst {
					continue
				}
				r = ' '
			}
			b.WriteRune(r)
		}
		toks[i] = b.String()
	}
	return toks
}

type decSequence []decoder

func (q decSequence) decodeChain(toks []string) []string {
	for _, d := range q {
		toks = d.decodeChain(toks)
	}
	return toks
}

type decoderJSON struct {
	Type           string            `json:"type"`
	Decoders       []json.RawMessage `json:"decoders"`
	Pattern        patternJSON       `json:"pattern"`
	Content        string            `json:"content"`
	Start          int               `json:"start"`
	Stop           int               `json:"stop"`
	Replacement    string            `json:"replacement"`
	PrependScheme  string            `json:"prepend_scheme"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
}

// parseDecoder reads tokenizer.json's "decoder"; null gives nil.
func parseDecoder(raw json.RawMessage) (decoder, error) {
	dj, err := parseComponent[decoderJSON](raw, "decoder")
	if dj == nil || err != nil {
		return nil, err
	}
	switch dj.Type {
	case "ByteLevel":
		return byteLevelDec{}, nil
	case "Replace":
		if dj.Pattern.String == nil {
			return nil, fmt.Errorf("decoder Replace: only String patterns are supported")
		}
		return replaceDec{old: *dj.Pattern.String, new: dj.Content}, nil
	case "ByteFallback":
		return byteFallbackDec{}, nil
	case "Fuse":
		return fuseDec{}, nil
	case "Strip":
		r, size := utf8.DecodeRuneInString(dj.Content)
		if size == 0 || size != len(dj.Content) {
			return nil, fmt.Errorf("decoder Strip: content %q is not one character", dj.Content)
		}
		if dj.Start < 0 || dj.Stop < 0 {
			return nil, fmt.Errorf("decoder Strip: negative start or stop")
		}
		return stripDec{content: r, start: dj.Start, stop: dj.Stop}, nil
	case "Metaspace":
		rep := dj.Replacement
		if rep == "" {
			rep = "▁"
		}
		r, size := utf8.DecodeRuneInString(rep)
		if size != len(rep) {
			return nil, fmt.Errorf("decoder Metaspace: replacement %q is not one character", rep)
		}
		drop := dj.PrependScheme != "never"
		if dj.PrependScheme == "" && dj.AddPrefixSpace != nil {
			drop = *dj.AddPrefixSpace
		}
		return metaspaceDec{replacement: r, dropFirst: drop}, nil
	case "Sequence":
		seq, err := parseSequence(dj.Decoders, "decoder", parseDecoder)
		if err != nil {
			return nil, err
		}
		return decSequence(seq), nil
	}
	return nil, fmt.Errorf("decoder: unsupported type %q", dj.Type)
}

// cleanUpSpaces is transformers' clean_up_tokenization: the same
// replacements, applied one after another.
func cleanUpSpaces(s string) string {
	for _, r := range [][2]string{
		{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
		{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
	} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}
