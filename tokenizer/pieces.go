package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// piece is a span of normalized text on its way to the model. first tells
// whether it starts at offset 0 of the original input (Metaspace's
// prepend_scheme "first" needs it).
type piece struct {
	text  string
	first bool
}

// A preTokenizer splits pieces into smaller ones.
type preTokenizer interface {
	apply(in []piece) []piece
}

// Split behaviours of tokenizer.json.
const (
	behIsolated = iota
	behRemoved
	behMergedWithPrevious
	behMergedWithNext
	behContiguous
)

// splitPre is the Split pre-tokenizer.
type splitPre struct {
	s        splitter
	behavior int
	invert   bool
}

func (p splitPre) apply(in []piece) []piece {
	out := make([]piece, 0, len(in)*4)
	for _, pc := range in {
		out = splitPiece(out, pc, p.s, p.behavior, p.invert)
	}
	return out
}

// splitPiece appends the parts of pc to out under the given behaviour.
func splitPiece(out []piece, pc piece, s splitter, behavior int, invert bool) []piece {
	text := pc.text
	lastStart := -1 // start of the last part appended for this piece
	pending := -1   // start of a match waiting to join the part after it
	lastMatch := false
	add := func(start, end int) {
		out = append(out, piece{text: text[start:end], first: pc.first && start == 0})
		lastStart = start
	}
	extend := func(end int) { out[len(out)-1].text = text[lastStart:end] }
	s.split(text, func(start, end int, match bool) {
		if invert {
			match = !match
		}
		switch behavior {
		case behIsolated:
			add(start, end)
		case behRemoved:
			if !match {
				add(start, end)
			}
		case behMergedWithPrevious:
			if match && !lastMatch && lastStart >= 0 {
				extend(end)
			} else {
				add(start, end)
			}
		case behMergedWithNext:
			// A match joins the part after it unless that is a match too.
			if match {
				if pending >= 0 {
					add(pending, start)
				}
				pending = start
				lastMatch = match
				return
			}
			if pending >= 0 {
				start, pending = pending, -1
			}
			add(start, end)
		case behContiguous:
			if match && lastMatch && lastStart >= 0 {
				extend(end)
			} else {
				add(start, end)
			}
		}
		lastMatch = match
	})
	if pending >= 0 {
		add(pending, len(text))
	}
	return out
}

// byteLevelPre is the ByteLevel pre-tokenizer: an optional leading space and
// the optional GPT-2 split; the byte-to-rune mapping itself happens in the
// model, which works on raw bytes.
type byteLevelPre struct {
	addPrefixSpace bool
	re             splitter
}

func (p byteLevelPre) apply(in []piece) []piece {
	if p.addPrefixSpace {
		for i := range in {
			if !strings.HasPrefix(in[i].text, " ") {
				in[i].text = " " + in[i].text
			}
		}
	}
	if p.re == nil {
		return in
	}
	out := make([]piece, 0, len(in)*4)
	for _, pc := range in {
		out = splitPiece(out, pc, p.re, behIsolated, false)
	}
	return out
}

// Metaspace prepend schemes.
const (
	prependAlways = iota
	prependFirst
	prependNever
)

// metaspacePre replaces spaces by "▁", prepends one per its scheme, and
// optionally splits before every "▁".
type metaspacePre struct {
	replacement string
	scheme      int
	split       bool
}

func (p metaspacePre) apply(in []piece) []piece {
	out := make([]piece, 0, len(in))
	for _, pc := range in {
		t := strings.ReplaceAll(pc.text, " ", p.replacement)
		if !strings.HasPrefix(t, p.replacement) &&
			(p.scheme == prependAlways || (p.scheme == prependFirst && pc.first)) {
			t = p.replacement + t
		}
		if !p.split {
			out = append(out, piece{text: t, first: pc.first})
			continue
		}
		start := 0
		for i := 0; i < len(t); {
			if i > start && strings.HasPrefix(t[i:], p.replacement) {
				out = append(out, piece{text: t[start:i], first: pc.first && start == 0})
				start = i
			}
			_, size := utf8.DecodeRuneInString(t[i:])
			i += size
		}
		if start < len(t) {
			out = append(out, piece{text: t[start:], first: pc.first && start == 0})
		}
	}
	return out
}

// digitsPre isolates digits: each one, or each run.
type digitsPre struct{ individual bool }

func (p digitsPre) apply(in []piece) []piece {
	out := make([]piece, 0, len(in))
	for _, pc := range in {
		t := pc.text
		start := 0
		for i := 0; i < len(t); i++ {
			d := t[i] >= '0' && t[i] <= '9'
			prevD := i > start && t[i-1] >= '0' && t[i-1] <= '9'
			if i > start && (d != prevD || (d && p.individual)) {
				out = append(out, piece{text: t[start:i], first: pc.first && start == 0})
				start = i
			}
		}
		if start < len(t) {
			out = append(out, piece{text: t[start:], first: pc.first && start == 0})
		}
	}
	return out
}

type preSequence []preTokenizer

func (q preSequence) apply(in []piece) []piece {
	for _, p := range q {
		in = p.apply(in)
	}
	return in
}

type preTokenizerJSON struct {
	Type           string            `json:"type"`
	PreTokenizers  []json.RawMessage `json:"pretokenizers"`
	Pattern        patternJSON       `json:"pattern"`
	Behavior       string            `json:"behavior"`
	Invert         bool              `json:"invert"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Replacement    string            `json:"replacement"`
	PrependScheme  string            `json:"prepend_scheme"`
	Split          *bool             `json:"split"`
	Individual     bool              `json:"individual_digits"`
}

// parsePreTokenizer reads tokenizer.json's "pre_tokenizer". byteLevel is set
// when a ByteLevel pre-tokenizer is present.
func parsePreTokenizer(raw json.RawMessage, byteLevel *bool) (preTokenizer, error) {
	pj, err := parseComponent[preTokenizerJSON](raw, "pre_tokenizer")
	if pj == nil || err != nil {
		return nil, err
	}
	switch pj.Type {
	case "Sequence":
		seq, err := parseSequence(pj.PreTokenizers, "pre_tokenizer", func(raw json.RawMessage) (preTokenizer, error) {
			return parsePreTokenizer(raw, byteLevel)
		})
		if err != nil {
			return nil, err
		}
		return preSequence(seq), nil
	case "Split":
		var pat string
		switch {
		case pj.Pattern.Regex != nil:
			pat = *pj.Pattern.Regex
		case pj.Pattern.String != nil:
			pat = regexpQuote(*pj.Pattern.String)
		default:
			return nil, fmt.Errorf("pre_tokenizer Split: pattern has neither String nor Regex")
		}
		s, err := newSplitter(pat)
		if err != nil {
			return nil, fmt.Errorf("pre_tokenizer Split: %w", err)
		}
		beh, ok := map[string]int{
			"Isolated": behIsolated, "Removed": behRemoved, "MergedWithPrevious": behMergedWithPrevious,
			"MergedWithNext": behMergedWithNext, "Contiguous": behContiguous,
		}[pj.Behavior]
		if !ok {
			return nil, fmt.Errorf("pre_tokenizer Split: unknown behavior %q", pj.Behavior)
		}
		return splitPre{s: s, behavior: beh, invert: pj.Invert}, nil
	case "ByteLevel":
		*byteLevel = true
		p := byteLevelPre{addPrefixSpace: pj.AddPrefixSpace != nil && *pj.AddPrefixSpace}
		if pj.UseRegex == nil || *pj.UseRegex {
			s, err := newSplitter(patternGPT2)
			if err != nil {
				return nil, err
			}
			p.re = s
		}
		return p, nil
	case "Metaspace":
		p := metaspacePre{replacement: pj.Replacement, split: pj.Split == nil || *pj.Split}
		if p.replacement == "" {
			p.replacement = "▁"
		}
		switch pj.PrependScheme {
		case "always":
			p.scheme = prependAlways
		case "first":
			p.scheme = prependFirst
		case "never":
			p.scheme = prependNever
		case "":
			p.scheme = prependNever
			if pj.AddPrefixSpace == nil || *pj.AddPrefixSpace {
				p.scheme = prependAlways
			}
		default:
			return nil, fmt.Errorf("pre_tokenizer Metaspace: unknown prepend_scheme %q", pj.PrependScheme)
		}
		return p, nil
	case "Digits":
		return digitsPre{individual: pj.Individual}, nil
	}
	return nil, fmt.Errorf("pre_tokenizer: unsupported type %q", pj.Type)
}

// regexpQuote escapes a literal for the regex engine.
func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$#&-~ `, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
