package ruler

import (
	"embed"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// The texts RULER downloads at run time are replaced by small files made
// for this package (see data/README.md): RULER's needle keys and
// common-words lists come from the wonderwords package's noun, adjective
// and verb lists, its essay haystack from Paul Graham's essays.
//
//go:embed data/nouns.txt data/adjectives.txt data/verbs.txt data/essays.txt
var dataFiles embed.FS

// wordData holds the parsed data files.
type wordData struct {
	nouns, adjectives []string
	// common is the union of nouns, adjectives and verbs, sorted: the
	// list RULER's common_words_extraction.py samples from.
	common []string
	// commonSet holds common's words.
	commonSet map[string]bool
	// essay is the essay text split into words on single spaces after
	// collapsing white space, as niah.py does with its essays.
	essay []string
}

var loadWords = sync.OnceValue(func() *wordData {
	read := func(name string) string {
		b, err := dataFiles.ReadFile("data/" + name)
		if err != nil {
			panic("ruler: embedded " + name + ": " + err.Error()) // embedded at build time
		}
		return string(b)
	}
	d := &wordData{
		nouns:      strings.Fields(read("nouns.txt")),
		adjectives: strings.Fields(read("adjectives.txt")),
		commonSet:  map[string]bool{},
	}
	for _, w := range append(append(slices.Clone(d.nouns), d.adjectives...), strings.Fields(read("verbs.txt"))...) {
		if !d.commonSet[w] {
			d.commonSet[w] = true
			d.common = append(d.common, w)
		}
	}
	slices.Sort(d.common)
	d.essay = strings.Fields(read("essays.txt"))
	return d
})

// keyWord is RULER's generate_random_word for needle keys: an
// "adjective-noun" pair, uniform over all pairs.
func (d *wordData) keyWord(r *rand.Rand) string {
	return d.adjectives[r.IntN(len(d.adjectives))] + "-" + d.nouns[r.IntN(len(d.nouns))]
}

// essayWords returns the first n words of the essay text, repeated as
// often as needed (niah.py: (haystack * repeats)[:num_haystack]).
func (d *wordData) essayWords(n int) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		out = append(out, d.essay[:min(n-len(out), len(d.essay))]...)
	}
	return out
}

// Pseudo-words stand in for RULER's large English word list
// (json/english_words.json), used by common-words extraction when a
// sample needs more distinct words than the common list holds: three
// consonant-vowel syllables, 70³ words.
const (
	pseudoConsonants = "bdfgklmnprstvz"
	pseudoVowels     = "aeiou"
	pseudoSyllables  = len(pseudoConsonants) * len(pseudoVowels)
	pseudoWords      = pseudoSyllables * pseudoSyllables * pseudoSyllables
)

// pseudoWord returns pseudo-word i of [0, pseudoWords).
func pseudoWord(i int) string {
	var b strings.Builder
	for range 3 {
		s := i % pseudoSyllables
		i /= pseudoSyllables
		b.WriteByte(pseudoConsonants[s/len(pseudoVowels)])
		b.WriteByte(pseudoVowels[s%len(pseudoVowels)])
	}
	return b.String()
}
