package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

func splitAll(s splitter, text string) []string {
	var out []string
	s.split(text, func(start, end int, _ bool) { out = append(out, text[start:end]) })
	return out
}

// oracleSplitter runs the pattern on the regex engine. The engine folds
// case like .NET, which does not map 'ſ' to 's' as Oniguruma (and Unicode
// case folding) does, so the oracle spells that fold out.
func oracleSplitter(t testing.TB, pattern string) splitter {
	t.Helper()
	pattern = strings.Replace(pattern, `(?i:'s|`, `(?i:'[sſ]|`, 1)
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		t.Fatal(err)
	}
	return &regexSplitter{re: re}
}

// Tricky inputs for the Qwen2/Llama-3 pattern: contractions, whitespace
// runs before letters, digits and punctuation, newlines inside whitespace,
// non-ASCII letters, numbers and spaces.
var splitCorpus = []string{
	"", " ", "  ", "\n", "\t\n", " \n ", "Hello world", "   Hello", "  (", "\n =", "' era",
	"I'm you're we've they'll it'd SHE'S 'S 'Re 'LL", "'ſt 'ſ", "don't", "1234567 12 3",
	"x  \n\n  y", "a\r\n\r\nb", "tab\there", "\u00a0a\u3000b\u2028c", "(hello) [x]",
	"...\n\n", "!!!\r\n", "Ⅻ ½ ٣٤", "中文，测试！", "🦙.cpp", "a\u0301b", "\xff\xfe x", "z\x80",
	"    Hello\n    Hello", "end   ", "ends\n", "  \t  x", "\v\f x",
}

// splitAlphabet mixes the classes the pattern distinguishes.
var splitAlphabet = []rune("ab Z'sStmdrevlLRE0123456789 \t\n\r\v\f.,!?()-_\"'ſ中é½Ⅻ٣\u00a0\u3000\u2028\u0301🦙")

func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteRune(splitAlphabet[r.IntN(len(splitAlphabet))])
	}
	return b.String()
}

func TestScannerMatchesRegex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	inputs := append([]string(nil), splitCorpus...)
	for range 2000 {
		inputs = append(inputs, randomText(r, 1+r.IntN(30)))
	}
	for _, pattern := range []string{patternQwen2, patternLlama3} {
		fast, err := newSplitter(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fast.(*llama3Scanner); !ok {
			t.Fatalf("pattern %q does not get the hand-written scanner", pattern)
		}
		slow := oracleSplitter(t, pattern)
		for _, in := range inputs {
			if !utf8.ValidString(in) {
				continue // the regex engine decodes invalid bytes differently
			}
			got, want := splitAll(fast, in), splitAll(slow, in)
			if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
				t.Errorf("%q:\n scanner %q\n regex   %q", in, got, want)
			}
		}
	}
}

func FuzzScannerMatchesRegex(f *testing.F) {
	for _, s := range splitCorpus {
		f.Add(s)
	}
	fast := &llama3Scanner{maxDigits: 3}
	slow := oracleSplitter(f, patternLlama3)
	f.Fuzz(func(t *testing.T, in string) {
		got := splitAll(fast, in)
		if strings.Join(got, "") != in {
			t.Fatalf("pieces %q do not tile %q", got, in)
		}
		if !utf8.ValidString(in) {
			return
		}
		want := splitAll(slow, in)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%q:\n scanner %q\n regex   %q", in, got, want)
		}
	})
}

// TestScannerCases pins splits worked out by hand from the pattern.
func TestScannerCases(t *testing.T) {
	qwen := &llama3Scanner{maxDigits: 1}
	llama3 := &llama3Scanner{maxDigits: 3}
	for _, c := range []struct {
		s    splitter
		in   string
		want []string
	}{
		// \s+(?!\S) leaves the last space to join the word: "  " + " Hello".
		{qwen, "   Hello", []string{"  ", " Hello"}},
		// \s*[\r\n]+ ends after the last newline of a whitespace run.
		{qwen, "a \n\n b", []string{"a", " \n\n", " b"}},
		// Contractions match case-insensitively before letters.
		{qwen, "I'LL go", []string{"I", "'LL", " go"}},
		// A non-letter may lead a letter run; digits are single in Qwen2
		// and in threes in Llama-3.
		{qwen, "(x12345", []string{"(x", "1", "2", "3", "4", "5"}},
		{llama3, "(x12345", []string{"(x", "123", "45"}},
		// Punctuation takes one leading space and trailing newlines.
		{qwen, "a ?!\n\nb", []string{"a", " ?!\n\n", "b"}},
		// Trailing whitespace at the end of text stays whole.
		{qwen, "a   ", []string{"a", "   "}},
	} {
		if got := splitAll(c.s, c.in); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}
