package ruler

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// smallContext is the length below which common-words extraction uses
// its short-context settings (common_words_extraction.py:
// args.max_seq_length < 4096).
const smallContext = 4096

// cweBuilder follows common_words_extraction.py's generate_input_output:
// one worked example (the whole prompt template filled, answer prefix
// and numbered answer included, as RULER writes it), a newline, then the
// task over n distinct words. Below 4096 tokens the example has 20 words
// (common ones 3 times, others once) and the task's common words appear
// 6 times, others once; from 4096 on, 40 words (10 and 3 times) and the
// task's FreqCommon and FreqUncommon.
func (g *Generator) cweBuilder(t Task, length int) builder {
	exWords, exCommon, exUncommon := 40, 10, 3
	common, uncommon := t.FreqCommon, t.FreqUncommon
	if length < smallContext {
		exWords, exCommon, exUncommon = 20, 3, 1
		common, uncommon = 6, 1
	}
	fam := families[CommonWords]
	text := func(list string) string { return format(fam.template, "{context}", list, "{query}", "") }
	return builder{min: t.NumCommon, build: func(r *rand.Rand, n int) (instance, error) {
		exList, exAnswer := g.wordList(r, exWords, exCommon, exUncommon, t.NumCommon)
		example, err := g.wrap(text(exList))
		if err != nil {
			return instance{}, err
		}
		example += fam.answerPrefix + " " + joinNumbered(exAnswer)
		list, answer := g.wordList(r, n, common, uncommon, t.NumCommon)
		return instance{before: example + "\n", user: text(list), prefix: fam.answerPrefix, outputs: answer, context: list}, nil
	}}
}

// wordList is common_words_extraction.py's get_example: n distinct words,
// the first numCommon repeated common times and the rest uncommon times,
// shuffled and numbered. It returns the list and the common words.
func (g *Generator) wordList(r *rand.Rand, n, common, uncommon, numCommon int) (string, []string) {
	words := g.distinctWords(r, n)
	var list []string
	for i, w := range words {
		reps := uncommon
		if i < numCommon {
			reps = common
		}
		for range reps {
			list = append(list, w)
		}
	}
	r.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	return joinNumbered(list), words[:min(numCommon, len(words))]
}

// distinctWords draws n distinct words in random order: from the common
// list when it has n, else every word of the list and as many
// pseudo-words as are missing (RULER switches to its large English list
// there).
func (g *Generator) distinctWords(r *rand.Rand, n int) []string {
	pool := g.words.common
	if n <= len(pool) {
		out := make([]string, n)
		for i, j := range sampleIndices(r, len(pool), n) {
			out[i] = pool[j]
		}
		return out
	}
	out := slices.Clone(pool)
	taken := maps.Clone(g.words.commonSet)
	for len(out) < n {
		if w := pseudoWord(r.IntN(pseudoWords)); !taken[w] {
			taken[w] = true
			out = append(out, w)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// fweWordLen is freq_words_extraction.py's coded_wordlen.
const fweWordLen = 6

// fweBuilder follows freq_words_extraction.py: a vocabulary of
// (length − new tokens)/50 distinct random 6-letter words in random order,
// the first replaced by "..." (noise); word k of the vocabulary appears
// int(n·k^−alpha/ζ(alpha)) times, all shuffled; the answer is words 2 to
// 4. n counts the words asked for (the sum of the repeats is close to it).
func (g *Generator) fweBuilder(t Task, length int) (builder, error) {
	if t.Alpha <= 1 {
		return builder{}, fmt.Errorf("%s: alpha %g: the zeta distribution needs alpha > 1", t.Name, t.Alpha)
	}
	size := (length - t.NewTokens()) / 50
	if size < 4 {
		return builder{}, fmt.Errorf("%s: length %d is too short: its vocabulary of %d words needs at least 4", t.Name, length, size)
	}
	z := zeta(t.Alpha)
	fam := families[FreqWords]
	// Word 4 appears once n·4^−alpha/ζ(alpha) reaches 1.
	least := int(math.Ceil(math.Pow(4, t.Alpha) * z))
	return builder{min: least, build: func(r *rand.Rand, n int) (instance, error) {
		taken := map[string]bool{}
		vocab := make([]string, 0, size)
		for len(vocab) < size {
			if w := randomLetters(r, lowerLetters, fweWordLen); !taken[w] {
				taken[w] = true
				vocab = append(vocab, w)
			}
		}
		r.Shuffle(len(vocab), func(i, j int) { vocab[i], vocab[j] = vocab[j], vocab[i] })
		vocab[0] = "..."
		var words []string
		for k, w := range vocab {
			reps := int(float64(n) * math.Pow(float64(k+1), -t.Alpha) / z)
			for range reps {
				words = append(words, w)
			}
		}
		r.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
		context := strings.Join(words, " ")
		return instance{
			user:    format(fam.template, "{context}", context, "{query}", ""),
			prefix:  fam.answerPrefix,
			outputs: slices.Clone(vocab[1:4]),
			context: context,
		}, nil
	}}, nil
}

// zeta is the Riemann zeta function for s > 1 (scipy.special.zeta(s)),
// by Euler–Maclaurin summation: accurate to about 1e-15 for s ≥ 1.5.
func zeta(s float64) float64 {
	const n = 64
	sum := 0.0
	for k := n - 1; k >= 1; k-- {
		sum += math.Pow(float64(k), -s)
	}
	N := float64(n)
	sum += math.Pow(N, 1-s)/(s-1) + 0.5*math.Pow(N, -s)
	// Bernoulli terms B2k/(2k)! · s(s+1)…(s+2k−2) · N^(−s−2k+1).
	terms := []float64{1.0 / 12, -1.0 / 720, 1.0 / 30240, -1.0 / 1209600}
	rising := s
	for i, c := range terms {
		k := float64(2*i + 1)
		sum += c * rising * math.Pow(N, -s-k)
		rising *= (s + k) * (s + k + 1)
	}
	return sum
}
