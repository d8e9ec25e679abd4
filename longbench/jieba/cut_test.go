package jieba

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func defaultSeg(t testing.TB) *Segmenter {
	t.Helper()
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCutReadmeExamples checks the outputs that jieba's README documents for
// its default mode (accurate mode with the HMM).
func TestCutReadmeExamples(t *testing.T) {
	s := defaultSeg(t)
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"我来到北京清华大学", []string{"我", "来到", "北京", "清华大学"}},
		// 杭研 is not in the dictionary: the HMM finds it ("新词识别").
		{"他来到了网易杭研大厦", []string{"他", "来到", "了", "网易", "杭研", "大厦"}},
	} {
		if got := s.Cut(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Cut(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCutBlocks checks the block rules of jieba.cut that do not depend on the
// dictionary: whitespace separators ("\r\n" kept whole), one word per rune
// outside the han class, and the alphanumeric pattern of finalseg.
func TestCutBlocks(t *testing.T) {
	s := defaultSeg(t)
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\r\nb", []string{"a", "\r\n", "b"}},
		{"\r\r\n", []string{"\r", "\r\n"}},
		{"，。 ！", []string{"，", "。", " ", "！"}},
		{"x\u3000y", []string{"x", "\u3000", "y"}},
	} {
		if got := s.Cut(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Cut(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitAlnum(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"ab.12%cd", []string{"ab.12%", "cd"}},
		{"a.b", []string{"a", ".", "b"}},
		{"+#1.%", []string{"+#", "1", ".%"}},
		{"x1.5.6", []string{"x1.5", ".", "6"}},
		{"", nil},
	} {
		if got := splitAlnum([]rune(c.in), nil); !slices.Equal(got, c.want) {
			t.Errorf("splitAlnum(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestEmbeddedDictIsJieba checks that the embedded dictionary is jieba
// 0.42.1's dict.txt byte for byte (sha256 from data/README.md).
func TestEmbeddedDictIsJieba(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(dictGz))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		t.Fatal(err)
	}
	const want = "7197c3211ddd98962b036cdf40324d1ea2bfaa12bd028e68faa70111a88e12a8"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("dict.txt sha256 = %s, want %s", got, want)
	}
	m, err := loadDefaultHMM()
	if err != nil {
		t.Fatal(err)
	}
	for st, em := range m.emit {
		if len(em) == 0 {
			t.Errorf("state %c has no emission probabilities", stateLetter[st])
		}
	}
}

func TestNewRejectsBadDictionary(t *testing.T) {
	for _, in := range []string{"word\n", "word x n\n", "", "a 0\n"} {
		if _, err := New(strings.NewReader(in), "user.dict"); err == nil {
			t.Errorf("New(%q): no error", in)
		} else if !strings.Contains(err.Error(), "user.dict") {
			t.Errorf("New(%q): error %q does not name the file", in, err)
		}
	}
	s, err := New(strings.NewReader("杭研 5 n\n大厦 3 n\n"), "user.dict")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Cut("杭研大厦"), []string{"杭研", "大厦"}; !slices.Equal(got, want) {
		t.Errorf("custom dictionary: Cut = %q, want %q", got, want)
	}
}

// FuzzCut checks that Cut never panics and that its words put back together
// give the input (invalid UTF-8 read as U+FFFD).
func FuzzCut(f *testing.F) {
	for _, s := range []string{"他来到了网易杭研大厦", "a\r\nb", "1.5%的人", "\xff中", "C++和c#以及AT&T"} {
		f.Add(s)
	}
	s := defaultSeg(f)
	f.Fuzz(func(t *testing.T, in string) {
		words := s.Cut(in)
		want := in
		if !utf8.ValidString(in) {
			want = string([]rune(in))
		}
		if got := strings.Join(words, ""); got != want {
			t.Fatalf("Cut(%q) joined = %q", in, got)
		}
		for _, w := range words {
			if w == "" {
				t.Fatalf("Cut(%q) has an empty word: %q", in, words)
			}
		}
	})
}
