package server

import (
	"math"
	"strings"

	"github.com/sdtp/sdtp/generate"
)

// maxPending bounds the ids an incremental decode holds back waiting for a
// UTF-8 character to complete; a longer run is invalid text, emitted as is.
const maxPending = 8

// tokenPieces splits the decoded text of ids into one piece per token, as
// an incremental decoder emits it: each token decodes with the tokens just
// before it as context (so SentencePiece spaces survive), and a token that
// ends inside a UTF-8 character gets "" while the token completing it
// carries the bytes. The pieces concatenate to dec.Decode(ids) for
// decoders whose output only grows at the end.
func tokenPieces(dec generate.Decoder, ids []int) []string {
	out := make([]string, len(ids))
	start, ctx := 0, 0 // window ids[start:], of which the first ctx are context
	prefix := ""
	for i := range ids {
		text := dec.Decode(ids[start : i+1])
		pending := i + 1 - start - ctx
		if len(text) <= len(prefix) || (strings.HasSuffix(text, "\uFFFD") && pending < maxPending) {
			continue
		}
		out[i] = emitted(prefix, text)
		start += ctx
		ctx = i + 1 - start
		prefix = dec.Decode(ids[start : i+1])
	}
	if n := len(ids); n > 0 && n-start > ctx {
		if text := dec.Decode(ids[start:]); len(text) > len(prefix) {
			out[n-1] += emitted(prefix, text)
		}
	}
	return out
}

// emitted returns what text adds to prefix (after their common prefix when
// a decoder rewrote earlier text).
func emitted(prefix, text string) string {
	if strings.HasPrefix(text, prefix) {
		return text[len(prefix):]
	}
	n := 0
	for n < len(text) && n < len(prefix) && text[n] == prefix[n] {
		n++
	}
	return text[n:]
}

// legacyLogprobs is the logprobs object of a /v1/completions choice.
type legacyLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []*float64           `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// finite returns a pointer to v, or nil where v is NaN or infinite (JSON
// has no such numbers; OpenAI sends null for a missing logprob).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// appendLegacy adds tokens, whose text pieces are pieces, to lp; the first
// piece starts at text offset off. A token without a logprob (the first
// prompt token) gets null in token_logprobs and top_logprobs.
func appendLegacy(lp *legacyLogprobs, toks []generate.Token, pieces []string, off int, dec generate.Decoder) {
	for i, t := range toks {
		lp.Tokens = append(lp.Tokens, pieces[i])
		lp.TokenLogprobs = append(lp.TokenLogprobs, finite(t.Logprob))
		var top map[string]float64
		if !math.IsNaN(t.Logprob) {
			top = make(map[string]float64, len(t.Top))
			for _, a := range topAlts(dec, toks, pieces, i) {
				// The chosen token owns its key, whatever else renders alike.
				if _, dup := top[a.text]; (a.chosen || !dup) && finite(a.logprob) != nil {
					top[a.text] = a.logprob
				}
			}
		}
		lp.TopLogprobs = append(lp.TopLogprobs, top)
		lp.TextOffset = append(lp.TextOffset, off)
		off += len(pieces[i])
	}
}

// alt is an alternative token rendered as text.
type alt struct {
	text    string
	logprob float64
	chosen  bool // the token that was emitted
}

// topAlts renders the alternatives of toks[i] in their order. The chosen
// token gets its own piece, so that it is found under the same string as
// in the tokens list (a token ending inside a UTF-8 character is "" there,
// not U+FFFD); the others are rendered by altPiece.
func topAlts(dec generate.Decoder, toks []generate.Token, pieces []string, i int) []alt {
	t := toks[i]
	prev := -1
	if i > 0 {
		prev = toks[i-1].ID
	}
	out := make([]alt, len(t.Top))
	for k, a := range t.Top {
		if a.ID == t.ID {
			out[k] = alt{pieces[i], a.Logprob, true}
		} else {
			out[k] = alt{altPiece(dec, prev, a.ID), a.Logprob, false}
		}
	}
	return out
}

// chatLogprobs is the logprobs object of a chat choice.
type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
}

type chatTokenLogprob struct {
	Token       string        `json:"token"`
	Logprob     float64       `json:"logprob"`
	Bytes       []int         `json:"bytes"`
	TopLogprobs []chatTopProb `json:"top_logprobs"`
}

type chatTopProb struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

func byteList(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

// safeLogprob maps a non-finite logprob to the most negative float64, since
// chat logprobs are never null.
func safeLogprob(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -math.MaxFloat64
	}
	return v
}

// newChatLogprobs builds the chat logprobs of generated tokens.
func newChatLogprobs(toks []generate.Token, pieces []string, dec generate.Decoder) *chatLogprobs {
	lp := &chatLogprobs{Content: []chatTokenLogprob{}}
	for i, t := range toks {
		c := chatTokenLogprob{Token: pieces[i], Logprob: safeLogprob(t.Logprob), Bytes: byteList(pieces[i]), TopLogprobs: []chatTopProb{}}
		for _, a := range topAlts(dec, toks, pieces, i) {
			c.TopLogprobs = append(c.TopLogprobs, chatTopProb{Token: a.text, Logprob: safeLogprob(a.logprob), Bytes: byteList(a.text)})
		}
		lp.Content = append(lp.Content, c)
	}
	return lp
}

// altPiece renders an alternative token as the tokens list renders the
// chosen one: as the text it adds after the previous token, so that a
// SentencePiece word start keeps its space (" Once", not "Once").
func altPiece(dec generate.Decoder, prev, id int) string {
	if prev < 0 {
		return dec.Decode([]int{id})
	}
	return emitted(dec.Decode([]int{prev}), dec.Decode([]int{prev, id}))
}
