package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dlclark/regexp2/v2"
	"golang.org/x/text/unicode/norm"
)

// A normalizer rewrites a span of plain text before pre-tokenization.
type normalizer interface {
	normalize(s string) string
}

type unicodeNorm struct{ form norm.Form }

func (n unicodeNorm) normalize(s string) string {
	if n.form.IsNormalString(s) {
		return s
	}
	return n.form.String(s)
}

// prepend adds its text to every non-empty span (Llama-2's "▁").
type prepend struct{ text string }

func (p prepend) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.text + s
}

// replace substitutes a literal string or a regex.
type replace struct {
	literal string
	re      *regexp2.Regexp
	content string
}

func (r replace) normalize(s string) string {
	if r.re == nil {
		return strings.ReplaceAll(s, r.literal, r.content)
	}
	out, err := r.re.Replace(s, r.content, -1, -1)
	if err != nil {
		return s
	}
	return out
}

type lowercase struct{}

func (lowercase) normalize(s string) string { return strings.ToLower(s) }

// sequence applies normalizers in order.
type sequence []normalizer

func (q sequence) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// patternJSON is tokenizer.json's {"String": ...} or {"Regex": ...}.
type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

type normalizerJSON struct {
	Type        string            `json:"type"`
	Normalizers []json.RawMessage `json:"normalizers"`
	Prepend     string            `json:"prepend"`
	Pattern     patternJSON       `json:"pattern"`
	Content     string            `json:"content"`
}

// parseNormalizer reads tokenizer.json's "normalizer" value; null gives nil.
func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	nj, err := parseComponent[normalizerJSON](raw, "normalizer")
	if nj == nil || err != nil {
		return nil, err
	}
	switch nj.Type {
	case "NFC":
		return unicodeNorm{norm.NFC}, nil
	case "NFD":
		return unicodeNorm{norm.NFD}, nil
	case "NFKC":
		return unicodeNorm{norm.NFKC}, nil
	case "NFKD":
		return unicodeNorm{norm.NFKD}, nil
	case "Lowercase":
		return lowercase{}, nil
	case "Prepend":
		return prepend{nj.Prepend}, nil
	case "Replace":
		r := replace{content: nj.Content}
		switch {
		case nj.Pattern.String != nil:
			r.literal = *nj.Pattern.String
			if r.literal == "" {
				return nil, fmt.Errorf("normalizer Replace: empty pattern")
			}
		case nj.Pattern.Regex != nil:
			re, err := regexp2.Compile(*nj.Pattern.Regex, regexp2.None)
			if err != nil {
				return nil, fmt.Errorf("normalizer Replace: pattern %q: %w", *nj.Pattern.Regex, err)
			}
			r.re = re
		default:
			return nil, fmt.Errorf("normalizer Replace: pattern has neither String nor Regex")
		}
		return r, nil
	case "Sequence":
		seq, err := parseSequence(nj.Normalizers, "normalizer", parseNormalizer)
		if err != nil {
			return nil, err
		}
		return sequence(seq), nil
	}
	return nil, fmt.Errorf("normalizer: unsupported type %q", nj.Type)
}
