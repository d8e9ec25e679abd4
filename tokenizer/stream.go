package tokenizer

import "strings"

// Stream decodes ids one at a time. It follows Hugging Face's DecodeStream:
// it decodes a short window of recent ids, emits what the window adds to
// the text already emitted, and holds back while the text ends in U+FFFD
// (an incomplete UTF-8 sequence that a later token may finish). The
// concatenated output equals Decode of all ids pushed, after Flush (byte
// fallback runs that turn out invalid are the exception: Decode replaces
// the whole run, the stream only what follows the last good character).
// A Stream is not safe for concurrent use.
type Stream struct {
	decode func([]int) string
	ids    []int  // window: context ids, then ids not yet emitted
	prefix string // decode of the context ids
	ctx    int    // number of context ids at the start of the window
}

func newStream(decode func([]int) string) *Stream { return &Stream{decode: decode} }

// Push adds one id and returns the text it completes, possibly "".
func (s *Stream) Push(id int) string {
	s.ids = append(s.ids, id)
	text := s.decode(s.ids)
	if len(text) <= len(s.prefix) || strings.HasSuffix(text, "\uFFFD") {
		return ""
	}
	out := s.emit(text)
	// The ids just emitted become the context of the next window.
	keep := len(s.ids) - s.ctx
	s.ids = append(s.ids[:0], s.ids[s.ctx:]...)
	s.prefix = s.decode(s.ids)
	s.ctx = keep
	return out
}

// emit returns what text adds to the prefix. Decoders that rewrite earlier
// text (clean-up rules across the window edge) can break the prefix
// relation; then the part after the common prefix is emitted.
func (s *Stream) emit(text string) string {
	if strings.HasPrefix(text, s.prefix) {
		return text[len(s.prefix):]
	}
	n := 0
	for n < len(text) && n < len(s.prefix) && text[n] == s.prefix[n] {
		n++
	}
	return text[n:]
}

// Flush returns whatever is held back (with U+FFFD for bytes that never
// formed a character) and resets the stream.
func (s *Stream) Flush() string {
	var out string
	if len(s.ids) > s.ctx {
		text := s.decode(s.ids)
		if len(text) > len(s.prefix) {
			out = s.emit(text)
		}
	}
	s.ids, s.prefix, s.ctx = s.ids[:0], "", 0
	return out
}
