package jieba

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed data/dict.txt.gz
var dictGz []byte

//go:embed data/hmm_start_trans.tsv
var hmmStartTrans string

//go:embed data/hmm_emit.tsv.gz
var hmmEmitGz []byte

// Segmenter cuts text into words. It is immutable once built and safe for
// concurrent use.
type Segmenter struct {
	freq     map[string]int // word frequencies; every proper prefix of a word is present with 0
	logTotal float64        // log of the sum of all word frequencies
	hmm      *hmm
}

// loadDefault builds the segmenter from the embedded jieba data once.
var loadDefault = sync.OnceValues(func() (*Segmenter, error) {
	zr, err := gzip.NewReader(bytes.NewReader(dictGz))
	if err != nil {
		return nil, fmt.Errorf("jieba: embedded dict.txt.gz: %w", err)
	}
	return New(zr, "dict.txt")
})

// loadDefaultHMM parses the embedded jieba HMM tables once.
var loadDefaultHMM = sync.OnceValues(func() (*hmm, error) {
	return loadHMM(strings.NewReader(hmmStartTrans), hmmEmitGz)
})

// Default returns the segmenter built from jieba's own dictionary and HMM,
// loading it on first use (about a third of a second).
func Default() (*Segmenter, error) { return loadDefault() }

// New builds a segmenter from a jieba dictionary (lines "word freq [tag]"),
// with jieba's HMM for unknown words; name is used in error messages.
func New(dict io.Reader, name string) (*Segmenter, error) {
	m, err := loadDefaultHMM()
	if err != nil {
		return nil, err
	}
	s := &Segmenter{freq: make(map[string]int, 600000), hmm: m}
	total := 0
	sc := bufio.NewScanner(dict)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		// jieba: line.strip().decode('utf-8').split(' ')[:2]
		text := strings.TrimFunc(sc.Text(), isASCIISpace)
		parts := strings.Split(text, " ")
		if len(parts) < 2 {
			return nil, fmt.Errorf("jieba: %s line %d: want \"word freq\", got %q", name, line, text)
		}
		word := parts[0]
		f, err := strconv.Atoi(parts[1])
		if err != nil {
			return nil, fmt.Errorf("jieba: %s line %d: frequency %q: %w", name, line, parts[1], err)
		}
		s.freq[word] = f
		total += f
		for i := range word {
			if i == 0 {
				continue
			}
			if _, ok := s.freq[word[:i]]; !ok {
				s.freq[word[:i]] = 0
			}
		}
		if !utf8.ValidString(word) {
			return nil, fmt.Errorf("jieba: %s line %d: word is not valid UTF-8", name, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("jieba: reading %s: %w", name, err)
	}
	if total <= 0 {
		return nil, fmt.Errorf("jieba: %s: no words with a positive frequency", name)
	}
	s.logTotal = math.Log(float64(total))
	return s, nil
}

// isASCIISpace matches what Python's bytes.strip() removes.
func isASCIISpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}
