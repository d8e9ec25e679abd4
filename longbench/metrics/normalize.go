package metrics

import (
	"strings"
)

// asciiPunctuation is Python's string.punctuation.
const asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// zhPunctuation is the cn_punctuation string of normalize_zh_answer.
const zhPunctuation = "！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏."

// NormalizeAnswer is normalize_answer of the official scorer: lower case,
// drop ASCII punctuation, replace the words a, an and the by a space, and
// collapse whitespace.
func NormalizeAnswer(s string) string {
	s = removeRunes(pyLower(s), asciiPunctuation)
	s = removeArticles(s)
	return strings.Join(pyFields(s), " ")
}

// NormalizeZhAnswer is normalize_zh_answer: lower case, drop ASCII and
// Chinese punctuation, and remove all whitespace.
func NormalizeZhAnswer(s string) string {
	s = removeRunes(pyLower(s), asciiPunctuation+zhPunctuation)
	return strings.Join(pyFields(s), "")
}

func removeRunes(s, set string) string {
	if !strings.ContainsAny(s, set) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(set, r) {
			return -1
		}
		return r
	}, s)
}

// removeArticles is re.sub(r"\b(a|an|the)\b", " ", s): a match needs a word
// boundary on both sides, so it is exactly a maximal run of word characters
// equal to one of the three articles.
func removeArticles(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := -1 // start of the current run of word characters
	flush := func(end int) {
		switch w := s[start:end]; w {
		case "a", "an", "the":
			b.WriteByte(' ')
		default:
			b.WriteString(w)
		}
		start = -1
	}
	for i, r := range s {
		if pyIsWord(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			flush(i)
		}
		b.WriteRune(r)
	}
	if start >= 0 {
		flush(len(s))
	}
	return b.String()
}
