package jieba

import (
	"math"
	"unicode"
	"unicode/utf8"
)

// Cut segments text as jieba.cut(text, cut_all=False, HMM=True) does and
// returns the words in order; concatenated they give back text (with any
// invalid UTF-8 replaced by U+FFFD).
func (s *Segmenter) Cut(text string) []string {
	if !utf8.ValidString(text) {
		text = string([]rune(text))
	}
	var out []string
	// blocks = re_han_default.split(text): runs of han-class runes are cut
	// with the dictionary, everything else goes through re_skip_default.
	for i := 0; i < len(text); {
		r, _ := utf8.DecodeRuneInString(text[i:])
		j := i
		if isBlockRune(r) {
			for j < len(text) {
				r, n := utf8.DecodeRuneInString(text[j:])
				if !isBlockRune(r) {
					break
				}
				j += n
			}
			out = s.cutDAG(text[i:j], out)
		} else {
			for j < len(text) {
				r, n := utf8.DecodeRuneInString(text[j:])
				if isBlockRune(r) {
					break
				}
				j += n
			}
			out = cutOther(text[i:j], out)
		}
		i = j
	}
	return out
}

// isBlockRune is jieba's re_han_default class [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-].
func isBlockRune(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FD5, r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	switch r {
	case '+', '#', '&', '.', '_', '%', '-':
		return true
	}
	return false
}

// cutOther handles a block outside the han class: re_skip_default
// "(\r\n|\s)" splits it, the separators are kept whole and every other
// rune becomes its own word.
func cutOther(blk string, out []string) []string {
	for i := 0; i < len(blk); {
		if blk[i] == '\r' && i+1 < len(blk) && blk[i+1] == '\n' {
			out = append(out, "\r\n")
			i += 2
			continue
		}
		_, n := utf8.DecodeRuneInString(blk[i:])
		out = append(out, blk[i:i+n])
		i += n
	}
	return out
}

// cutDAG is Tokenizer.__cut_DAG: the maximum-probability route through the
// dictionary DAG, with runs of single characters that are not a dictionary
// word handed to the HMM.
func (s *Segmenter) cutDAG(sentence string, out []string) []string {
	// offs[k] is the byte offset of rune k; offs[n] == len(sentence).
	offs := make([]int, 0, len(sentence)+1)
	for i := range sentence {
		offs = append(offs, i)
	}
	n := len(offs)
	offs = append(offs, len(sentence))
	word := func(a, b int) string { return sentence[offs[a]:offs[b]] }

	dag := make([][]int, n)
	for k := range n {
		var ends []int
		for i := k; i < n; i++ {
			f, ok := s.freq[word(k, i+1)]
			if !ok {
				break
			}
			if f > 0 {
				ends = append(ends, i)
			}
		}
		if len(ends) == 0 {
			ends = []int{k}
		}
		dag[k] = ends
	}

	type step struct {
		logp float64
		end  int
	}
	route := make([]step, n+1)
	for idx := n - 1; idx >= 0; idx-- {
		best := step{end: -1}
		for _, x := range dag[idx] {
			f := s.freq[word(idx, x+1)]
			if f == 0 {
				f = 1
			}
			p := math.Log(float64(f)) - s.logTotal + route[x+1].logp
			// max over (prob, x) tuples: ties go to the larger x.
			if best.end < 0 || p > best.logp || (p == best.logp && x > best.end) {
				best = step{p, x}
			}
		}
		route[idx] = best
	}

	bufStart := -1 // start rune of the pending run of single characters
	flush := func(end int) {
		if bufStart < 0 {
			return
		}
		buf := word(bufStart, end)
		switch {
		case end-bufStart == 1:
			out = append(out, buf)
		case s.freq[buf] == 0:
			out = s.hmm.cutUnknown([]rune(buf), out)
		default:
			for _, r := range buf {
				out = append(out, string(r))
			}
		}
		bufStart = -1
	}
	for x := 0; x < n; {
		y := route[x].end + 1
		if y-x == 1 {
			if bufStart < 0 {
				bufStart = x
			}
		} else {
			flush(x)
			out = append(out, word(x, y))
		}
		x = y
	}
	flush(n)
	return out
}

// splitAlnum is re.split("([a-zA-Z0-9]+(?:\.\d+)?%?)") keeping the
// non-empty pieces, as finalseg.cut does outside Han runs.
func splitAlnum(text []rune, out []string) []string {
	isAlnum := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	start := 0 // start of the pending non-matching piece
	for i := 0; i < len(text); {
		if !isAlnum(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isAlnum(text[j]) {
			j++
		}
		if j+1 < len(text) && text[j] == '.' && unicode.IsDigit(text[j+1]) {
			j += 2
			for j < len(text) && unicode.IsDigit(text[j]) {
				j++
			}
		}
		if j < len(text) && text[j] == '%' {
			j++
		}
		if start < i {
			out = append(out, string(text[start:i]))
		}
		out = append(out, string(text[i:j]))
		start, i = j, j
	}
	if start < len(text) {
		out = append(out, string(text[start:]))
	}
	return out
}
