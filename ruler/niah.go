package ruler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// noiseSentence is the noise haystack of niah.py and variable_tracking.py.
const noiseSentence = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."

// needleText is niah.py's needle: "One of the special magic
// {type_needle_v} for {key} is: {value}."
func needleText(valueKind, key, value string) string {
	return "One of the special magic " + valueKind + " for " + key + " is: " + value + "."
}

// depths are niah.py's DEPTHS: np.round(np.linspace(0, 100, num=40)), the
// percentages of the essay at which needles may be inserted.
var depths = func() []int {
	d := make([]int, 40)
	for i := range d {
		d[i] = int(math.Round(float64(i) * 100 / 39))
	}
	return d
}()

// randomOf is niah.py's generate_random for a key or value kind.
func (g *Generator) randomOf(r *rand.Rand, kind string) string {
	switch kind {
	case kindNumbers:
		return randomNumber(r, 7)
	case kindWords:
		return g.words.keyWord(r)
	default: // kindUUIDs
		return randomUUID(r)
	}
}

// niahBuilder follows niah.py's generate_input_output. n counts noise
// sentences, distractor needles or essay words, per haystack. Keys, and
// the values of one sample, are drawn distinct; distractor keys differ
// from the sample's keys (RULER draws them independently, which can
// repeat a key by chance).
func (g *Generator) niahBuilder(t Task) (builder, error) {
	for _, k := range []string{t.KeyKind, t.ValueKind} {
		if k != kindNumbers && k != kindWords && k != kindUUIDs {
			return builder{}, fmt.Errorf("%s: unknown needle kind %q", t.Name, k)
		}
	}
	numKeys := max(t.Keys, t.Queries)
	needles := numKeys * t.Values
	if t.Values < 1 || t.Queries < 1 || needles > len(depths) {
		return builder{}, fmt.Errorf("%s: %d keys, %d values, %d queries: want 1 to %d needles", t.Name, numKeys, t.Values, t.Queries, len(depths))
	}
	least := 1
	switch t.Haystack {
	case hayNoise, hayNeedle:
		least = needles // random.sample(range(num_haystack), len(needles))
	case hayEssay:
	default:
		return builder{}, fmt.Errorf("%s: unknown haystack %q", t.Name, t.Haystack)
	}
	fam := families[NIAH]
	return builder{min: least, build: func(r *rand.Rand, n int) (instance, error) {
		taken := map[string]bool{}
		distinct := func(kind string) string {
			for {
				if s := g.randomOf(r, kind); !taken[s] {
					taken[s] = true
					return s
				}
			}
		}
		keys := make([]string, numKeys)
		values := make([][]string, numKeys)
		var ndl []string
		for i := range keys {
			keys[i] = distinct(t.KeyKind)
			for range t.Values {
				v := distinct(t.ValueKind)
				values[i] = append(values[i], v)
				ndl = append(ndl, needleText(t.ValueKind, keys[i], v))
			}
		}
		r.Shuffle(len(ndl), func(i, j int) { ndl[i], ndl[j] = ndl[j], ndl[i] })

		var context string
		if t.Haystack == hayEssay {
			context = insertIntoEssay(r, g.words.essayWords(n), ndl)
		} else {
			sentences := make([]string, n, n+len(ndl))
			for i := range sentences {
				if t.Haystack == hayNoise {
					sentences[i] = noiseSentence
					continue
				}
				key := g.randomOf(r, t.KeyKind)
				for slices.Contains(keys, key) {
					key = g.randomOf(r, t.KeyKind)
				}
				sentences[i] = needleText(t.ValueKind, key, g.randomOf(r, t.ValueKind))
			}
			// Needles go in at distinct random indexes, the largest first
			// so that earlier insertions do not move later ones.
			at := sampleIndices(r, n, len(ndl))
			slices.SortFunc(at, func(a, b int) int { return b - a })
			for i, idx := range at {
				sentences = slices.Insert(sentences, idx, ndl[i])
			}
			context = strings.Join(sentences, "\n")
		}

		picked := sampleIndices(r, numKeys, t.Queries)
		var queries, answers []string
		for _, i := range picked {
			queries = append(queries, keys[i])
			answers = append(answers, values[i]...)
		}
		query := queries[0]
		if len(queries) > 1 {
			query = strings.Join(queries[:len(queries)-1], ", ") + ", and " + queries[len(queries)-1]
		}
		template, prefix, valueKind := fam.template, fam.answerPrefix, t.ValueKind
		if t.Queries*t.Values == 1 {
			// niah.py's singular wording, applied to the task template and
			// answer prefix (RULER applies it to the whole prompt template,
			// the model's chat template included).
			singular := func(s string) string {
				s = strings.ReplaceAll(s, "Some", "A")
				s = strings.ReplaceAll(s, "are all", "is")
				s = strings.ReplaceAll(s, "are", "is")
				return strings.ReplaceAll(s, "answers", "answer")
			}
			template, prefix, valueKind = singular(template), singular(prefix), strings.TrimSuffix(valueKind, "s")
		}
		fields := []string{"{type_needle_v}", valueKind, "{context}", context, "{query}", query}
		return instance{
			user:    format(template, fields...),
			prefix:  format(prefix, fields...),
			outputs: answers,
			context: context,
		}, nil
	}}, nil
}

// insertIntoEssay puts needles between the sentences of the essay words,
// at distinct random depths (niah.py's essay branch): the i-th needle
// after the first int(sentences·depth/100) sentences, depths sorted.
func insertIntoEssay(r *rand.Rand, words []string, needles []string) string {
	sents := splitSentences(strings.TrimSpace(strings.Join(words, " ")))
	picked := sampleIndices(r, len(depths), len(needles))
	pos := make([]int, 0, len(needles)+2)
	pos = append(pos, 0)
	for _, i := range picked {
		pos = append(pos, int(float64(len(sents))*(float64(depths[i])/100)))
	}
	slices.Sort(pos[1:])
	pos = append(pos, len(sents))
	var parts []string
	for i := 1; i < len(pos); i++ {
		parts = append(parts, strings.Join(sents[pos[i-1]:pos[i]], " "))
		if i-1 < len(needles) {
			parts = append(parts, needles[i-1])
		}
	}
	return strings.Join(parts, " ")
}
