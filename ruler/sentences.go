package ruler

import "unicode"

// splitSentences splits text whose white space is single spaces into
// sentences, standing in for NLTK's sent_tokenize (punkt) that niah.py
// runs over its essay haystack: a sentence ends at '.', '!' or '?' (with
// any closing quotes or brackets after it) followed by a space and a
// capital letter, a digit or an opening quote. Joining the sentences with
// single spaces gives the text back. The essay shipped with this package
// has no abbreviations, which are what punkt's extra rules are for.
func splitSentences(text string) []string {
	var out []string
	start := 0
	rs := []rune(text)
	pos := 0 // byte offset of rs[i]
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		size := len(string(r))
		if r == '.' || r == '!' || r == '?' {
			j, end := i+1, pos+size
			for j < len(rs) && (rs[j] == '"' || rs[j] == '\'' || rs[j] == ')' || rs[j] == ']' || rs[j] == '\u201d' || rs[j] == '\u2019') {
				end += len(string(rs[j]))
				j++
			}
			if j+1 < len(rs) && rs[j] == ' ' && startsSentence(rs[j+1]) {
				out = append(out, text[start:end])
				start = end + 1
				// Continue after the space.
				pos = end + 1
				i = j
				continue
			}
		}
		pos += size
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// startsSentence reports whether r can open a sentence.
func startsSentence(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsDigit(r) || r == '"' || r == '\'' || r == '(' || r == '\u201c'
}
