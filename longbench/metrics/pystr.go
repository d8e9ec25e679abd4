package metrics

import (
	"strings"
	"unicode"
)

// pyIsSpace reports whether Python's str.isspace() is true for r: Go's
// unicode.IsSpace plus the ASCII separators U+001C..U+001F.
func pyIsSpace(r rune) bool {
	return (r >= 0x1C && r <= 0x1F) || unicode.IsSpace(r)
}

// pyFields is Python's s.split() with no argument.
func pyFields(s string) []string { return strings.FieldsFunc(s, pyIsSpace) }

// pyIsWord reports whether r matches Python's \w in a str pattern
// (letters, numbers and '_').
func pyIsWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// pyIsDigit reports whether r matches Python's \d in a str pattern (any
// Unicode decimal digit).
func pyIsDigit(r rune) bool { return unicode.IsDigit(r) }

// pyDigitRuns is re.findall(r"\d+", s).
func pyDigitRuns(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		switch {
		case pyIsDigit(r) && start < 0:
			start = i
		case !pyIsDigit(r) && start >= 0:
			out = append(out, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// pyLower is Python's str.lower(): Unicode lower case with the full
// mapping of U+0130 and the final-sigma rule, which Go's strings.ToLower
// does not apply.
func pyLower(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 || ('A' <= r && r <= 'Z') }) {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 0x130: // LATIN CAPITAL LETTER I WITH DOT ABOVE
			b.WriteString("i\u0307")
		case 0x3A3: // GREEK CAPITAL LETTER SIGMA
			if finalSigma(rs, i) {
				b.WriteRune(0x3C2)
			} else {
				b.WriteRune(0x3C3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is CPython's Final_Sigma test for the capital sigma at rs[i]:
// a cased letter before it (skipping case-ignorable ones) and none after.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && isCaseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !isCased(rs[j]) {
		return false
	}
	k := i + 1
	for k < len(rs) && isCaseIgnorable(rs[k]) {
		k++
	}
	return k == len(rs) || !isCased(rs[k])
}

func isCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// isCaseIgnorable is Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk and the
// word-break MidLetter, MidNumLet and Single_Quote characters.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
