package metrics

import (
	"math/rand/v2"
	"testing"
)

// refRatio is SequenceMatcher.ratio() written from its specification, by
// brute force: in each range, the longest block of equal elements none of
// which is popular (earliest in a, then in b), widened over equal elements
// on both sides, then the same on the left and right remainders.
func refRatio(a, b []rune) float64 {
	popular := map[rune]bool{}
	if len(b) >= 200 {
		count := map[rune]int{}
		for _, r := range b {
			count[r]++
		}
		for r, c := range count {
			if c > len(b)/100+1 {
				popular[r] = true
			}
		}
	}
	var blocks func(alo, ahi, blo, bhi int) int
	blocks = func(alo, ahi, blo, bhi int) int {
		bi, bj, bk := alo, blo, 0
		for i := alo; i < ahi; i++ {
			for j := blo; j < bhi; j++ {
				k := 0
				for i+k < ahi && j+k < bhi && a[i+k] == b[j+k] && !popular[b[j+k]] {
					k++
				}
				if k > bk {
					bi, bj, bk = i, j, k
				}
			}
		}
		for bi > alo && bj > blo && a[bi-1] == b[bj-1] {
			bi, bj, bk = bi-1, bj-1, bk+1
		}
		for bi+bk < ahi && bj+bk < bhi && a[bi+bk] == b[bj+bk] {
			bk++
		}
		if bk == 0 {
			return 0
		}
		return bk + blocks(alo, bi, blo, bj) + blocks(bi+bk, ahi, bj+bk, bhi)
	}
	if len(a)+len(b) == 0 {
		return 1
	}
	return 2.0 * float64(blocks(0, len(a), 0, len(b))) / float64(len(a)+len(b))
}

func TestSequenceRatioDocumented(t *testing.T) {
	// Values given in the Python difflib documentation.
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"abcd", "bcde", 0.75},
		{"tide", "diet", 0.25},
		{"diet", "tide", 0.5},
		{"", "", 1},
	} {
		if got := SequenceRatio([]rune(c.a), []rune(c.b)); got != c.want {
			t.Errorf("SequenceRatio(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestSequenceRatioAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabets := []string{"ab", "abc ", "abcdefghij(){};=", "x.\t 的是"}
	for n := range 400 {
		alpha := []rune(alphabets[n%len(alphabets)])
		gen := func() []rune {
			l := rng.IntN(260) // crosses the autojunk threshold of 200
			if n%3 == 0 {
				l = rng.IntN(20)
			}
			r := make([]rune, l)
			for i := range r {
				r[i] = alpha[rng.IntN(len(alpha))]
			}
			return r
		}
		a, b := gen(), gen()
		if got, want := SequenceRatio(a, b), refRatio(a, b); got != want {
			t.Fatalf("SequenceRatio(%q, %q) = %v, brute force %v", string(a), string(b), got, want)
		}
	}
}

// TestAutojunk shows the popular-element rule: in a 200-rune b made of one
// rune, that rune is not indexed, so no block can start on it, and "yx"
// finds no match (an empty match at the start of both ranges may still
// widen over equal runes, so "x" alone would match b[0]).
func TestAutojunk(t *testing.T) {
	b := make([]rune, 200)
	for i := range b {
		b[i] = 'x'
	}
	if got, want := SequenceRatio([]rune("x"), b), 2.0/201; got != want {
		t.Errorf("match widened from the empty block: ratio %v, want %v", got, want)
	}
	if got := SequenceRatio([]rune("yx"), b); got != 0 {
		t.Errorf("popular rune matched: ratio %v, want 0", got)
	}
	if got := SequenceRatio([]rune("yx"), b[:199]); got == 0 {
		t.Error("below 200 runes nothing is popular, but the match was not found")
	}
}
