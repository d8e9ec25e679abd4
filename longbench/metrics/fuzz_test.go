package metrics

import (
	"math"
	"strings"
	"testing"
)

// FuzzMetrics runs every metric on arbitrary strings: none may panic, and
// every score must be a number in [0, 1].
func FuzzMetrics(f *testing.F) {
	for _, s := range [][3]string{
		{"The cat.", "a cat", "cat"},
		{"Paragraph 3", "Paragraph 3", ""},
		{"答案是段落3", "段落3", "段落"},
		{"\n# x\nreturn y", "return y", "`"},
		{"\xff\xfe", "Σ.İ", "\x00"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	fns := map[string]Func{}
	for _, n := range Names() {
		fn, err := Lookup(n)
		if err != nil {
			f.Fatal(err)
		}
		fns[n] = fn
	}
	f.Fuzz(func(t *testing.T, pred, gold, class string) {
		classes := []string{class, gold, ""}
		if id, ok := RetrievalID(gold, class); ok && !strings.Contains(gold, class+id) {
			t.Fatalf("RetrievalID(%q, %q) = %q, not in the text", gold, class, id)
		}
		for name, fn := range fns {
			s := fn(pred, gold, classes)
			if math.IsNaN(s) || s < 0 || s > 1 {
				t.Fatalf("%s(%q, %q) = %v, outside [0, 1]", name, pred, gold, s)
			}
		}
	})
}

// FuzzSequenceRatio compares the fast matcher with the brute-force
// definition on arbitrary short strings.
func FuzzSequenceRatio(f *testing.F) {
	f.Add("abcd", "bcde")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		ra, rb := []rune(a), []rune(b)
		if len(ra) > 300 || len(rb) > 300 {
			return
		}
		if got, want := SequenceRatio(ra, rb), refRatio(ra, rb); got != want {
			t.Fatalf("SequenceRatio(%q, %q) = %v, brute force %v", a, b, got, want)
		}
	})
}
