package metrics

import (
	"strings"
	"testing"

	"github.com/sdtp/sdtp/longbench/jieba"
)

func seg(t testing.TB) *jieba.Segmenter {
	t.Helper()
	s, err := jieba.Default()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// f1Of is the F1 of a precision and recall given as counts, for expected
// values below.
func f1Of(same, npred, ngold int) float64 {
	p, r := float64(same)/float64(npred), float64(same)/float64(ngold)
	return 2 * p * r / (p + r)
}

func TestNormalizeAnswer(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"The Cat, sat on a mat!", "cat sat on mat"},
		{"  an\tapple\n", "apple"},
		{"theory of a-b", "theory of ab"}, // "a-b" loses its hyphen first, so "ab" stays
		{"THE", ""},
		{"Ἀθῆναι and ΟΔΟΣ", "ἀθῆναι and οδος"}, // final sigma, as Python lowers it
		{"İ", "i\u0307"},
		{"x\u001cy", "x y"}, // Python counts U+001C as whitespace
	} {
		if got := NormalizeAnswer(c.in); got != c.want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got, want := NormalizeZhAnswer("北京，是 首都。A!"), "北京是首都a"; got != want {
		t.Errorf("NormalizeZhAnswer = %q, want %q", got, want)
	}
}

func TestQAF1(t *testing.T) {
	for _, c := range []struct {
		pred, gold string
		want       float64
	}{
		{"The cat sat.", "a cat", f1Of(1, 2, 1)},
		{"cat cat dog", "cat dog dog", f1Of(2, 3, 3)},
		{"", "cat", 0},
		{"the", "a", 0}, // both normalize to nothing
		{"Paris", "paris", 1},
	} {
		if got := QAF1(c.pred, c.gold); got != c.want {
			t.Errorf("QAF1(%q, %q) = %v, want %v", c.pred, c.gold, got, c.want)
		}
	}
}

func TestQAF1Zh(t *testing.T) {
	s := seg(t)
	// jieba: 我/来到/北京/清华大学 against 北京/清华大学; punctuation-only words drop.
	if got, want := QAF1Zh(s, "我来到北京清华大学。", "北京清华大学"), f1Of(2, 4, 2); got != want {
		t.Errorf("QAF1Zh = %v, want %v", got, want)
	}
}

// rougeRef is ROUGE-L F as rouge 1.0.1 defines it, written plainly for the
// test: |union of LCS word sets| against the word sets of both sides.
func rougeRef(lcsUnion, hypWords, refWords int) float64 {
	p := float64(lcsUnion) / float64(hypWords)
	r := float64(lcsUnion) / float64(refWords)
	return 2.0 * ((p * r) / (p + r + 1e-8))
}

func TestRougeL(t *testing.T) {
	for _, c := range []struct {
		pred, gold string
		want       float64
	}{
		{"the cat sat", "the cat sat", rougeRef(3, 3, 3)},
		{"The cat sat", "the cat sat", rougeRef(2, 3, 3)}, // case-sensitive
		// words are sets: "a a b" has 2 distinct words, LCS with "a b" is {a, b}.
		{"a a b", "a b", rougeRef(2, 2, 2)},
		// two sentences in the hypothesis: LCS of "x y z" with each, unioned.
		{"x q. y z", "x y z", rougeRef(3, 4, 3)},
		{"", "the cat", 0},
		{"...", "the cat", 0},
		{"cat", "", 0},
		// "Hi. " leaves an empty sentence "" whose word "" counts in the hypothesis set.
		{"cat. ", "cat", rougeRef(1, 2, 1)},
	} {
		if got := RougeL(c.pred, c.gold); got != c.want {
			t.Errorf("RougeL(%q, %q) = %v, want %v", c.pred, c.gold, got, c.want)
		}
	}
}

// TestRougeRecursionLimit checks the Python recursion rule at its edge:
// "d "*m+"z" against "c "*k+"z" walks one diagonal step then m left steps,
// m+2 calls of _recon in all.
func TestRougeRecursionLimit(t *testing.T) {
	s := seg(t)
	for _, c := range []struct {
		m, k     int
		en, zh   bool
		whatEdge string
	}{
		{988, 99, true, true, "990 calls: last one at depth 999 (en), 1000 (zh)"},
		{989, 99, true, false, "991 calls: last at depth 1000 (en) starts; zh would need 1001"},
		{990, 99, false, false, "992 calls"},
		{989, 256, true, false, "look-up at depth 999 with cached ints"},
		{989, 257, false, false, "look-up at depth 999 with an int above 256"},
		{988, 257, true, false, "zh: look-up at depth 999 with an int above 256"},
	} {
		p, g := strings.Repeat("d ", c.m)+"z", strings.Repeat("c ", c.k)+"z"
		if got := RougeL(p, g) > 0; got != c.en {
			t.Errorf("RougeL m=%d k=%d succeeded=%v, want %v (%s)", c.m, c.k, got, c.en, c.whatEdge)
		}
		if got := RougeLZh(s, p, g) > 0; got != c.zh {
			t.Errorf("RougeLZh m=%d k=%d succeeded=%v, want %v (%s)", c.m, c.k, got, c.zh, c.whatEdge)
		}
	}
}

func TestClassification(t *testing.T) {
	classes := []string{"Individual", "City", "Other location", "location"}
	for _, c := range []struct {
		pred, gold string
		want       float64
	}{
		{"City", "City", 1},
		{"City or Individual", "City", 0.5},
		{"Abbreviation", "City", 0},
		// "location" is a proper substring of the gold answer and is removed.
		{"Other location", "Other location", 1},
	} {
		if got := Classification(c.pred, c.gold, classes); got != c.want {
			t.Errorf("Classification(%q, %q) = %v, want %v", c.pred, c.gold, got, c.want)
		}
	}
	// Python's remove-while-iterating: after "ab" is removed, the loop skips
	// "b" (now at the index the loop moves to), so "b" survives.
	classes = []string{"ab", "b", "abc"}
	if got, want := Classification("abc", "abc", classes), 1.0/2; got != want {
		t.Errorf("remove-while-iterating: got %v, want %v", got, want)
	}
	// A duplicated class: list.remove takes the first copy.
	classes = []string{"b", "b", "bc"}
	if got, want := Classification("bc", "bc", classes), 1.0/2; got != want {
		t.Errorf("duplicate classes: got %v, want %v", got, want)
	}
}

func TestCountAndRetrieval(t *testing.T) {
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"count exact", Count("There are 12 paragraphs", "12"), 1},
		{"count share", Count("12 or 13", "12"), 0.5},
		{"count none", Count("twelve", "12"), 0},
		{"count arabic-indic digits", Count("١٢", "12"), 0},
		{"retrieval", Retrieval("Paragraph 7", "Paragraph 7"), 1},
		{"retrieval share", Retrieval("Paragraph 7 or Paragraph 27", "Paragraph 7"), 0.5},
		{"retrieval bad gold", Retrieval("7", "Paragraph seven"), 0},
		{"retrieval zh", RetrievalZh("答案是段落3", "段落3"), 1},
		{"retrieval zh other", RetrievalZh("段落30", "段落3"), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, ok := RetrievalID("12", ""); ok {
		t.Error("RetrievalID with an empty prefix found something")
	}
	if id, ok := RetrievalID("see Paragraph x, Paragraph 12", "Paragraph "); !ok || id != "12" {
		t.Errorf("RetrievalID = %q, %v; want 12, true", id, ok)
	}
}

func TestCodeSim(t *testing.T) {
	for _, c := range []struct {
		pred, gold string
		want       float64
	}{
		{"\n\nreturn x", "return x", 1},
		{"# comment\n// other\nreturn x", "return x", 1},
		{"```\n```", "return x", 0}, // no usable line: "" scores 0
		{"", "", 1},                 // fuzz.ratio("", "") is 100: equal strings first
		// "abcd" vs "bcde": one block "bcd", ratio 6/8, 75 percent.
		{"abcd", "bcde", 0.75},
	} {
		if got := CodeSim(c.pred, c.gold); got != c.want {
			t.Errorf("CodeSim(%q, %q) = %v, want %v", c.pred, c.gold, got, c.want)
		}
	}
	// One shared rune in 16 is 12.5 percent, which Python rounds to 12
	// (half to even); one in 8 is exactly 25.
	if got := FuzzRatio("a", "abcdefg"); got != 25 {
		t.Errorf("FuzzRatio(a, abcdefg) = %d, want 25", got)
	}
	if got := FuzzRatio("a", "bcdefghabcdefgh"); got != 12 {
		t.Errorf("FuzzRatio half-even = %d, want 12", got)
	}
}

func TestLookup(t *testing.T) {
	for _, n := range Names() {
		if _, err := Lookup(n); err != nil {
			t.Errorf("Lookup(%q): %v", n, err)
		}
	}
	if _, err := Lookup("bleu"); err == nil {
		t.Error("Lookup(bleu): no error")
	}
}
