package ruler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// iclTokens is the length variable_tracking.py fits its in-context
// example to (max_seq_length=500).
const iclTokens = 500

// iclExample is variable tracking's worked example: a small instance
// with its answer, made once per task and seed, with its variable names
// and value renamed in every sample (randomize_icl).
type iclExample struct {
	text  string   // the instance, answer prefix and answer, then "\n"
	names []string // the answer's variable names
	value string   // the chain's value
}

// vtChains is variable_tracking.py's generate_chains: chains of
// hops+1 distinct variables of k capital letters; the first is assigned
// value, each next one the one before it.
func vtChains(r *rand.Rand, chains, hops, k int, value func() string) (vars [][]string, lines [][]string) {
	taken := map[string]bool{"VAR": true} // "VAR" would read as the keyword
	for range chains {
		var vs []string
		for len(vs) < hops+1 {
			if v := randomLetters(r, upperLetters, k); !taken[v] {
				taken[v] = true
				vs = append(vs, v)
			}
		}
		chain := []string{"VAR " + vs[0] + " = " + value()}
		for j := range hops {
			chain = append(chain, "VAR "+vs[j+1]+" = VAR "+vs[j]+" ")
		}
		vars = append(vars, vs)
		lines = append(lines, chain)
	}
	return vars, lines
}

// vtText is variable_tracking.py's generate_input_output with the noise
// haystack: n noise sentences with each chain's lines inserted at
// distinct random places in order, then the task template. It returns
// the task text, answer prefix, answer and context.
func vtText(r *rand.Rand, t Task, n, k int, value func() string) (user, prefix string, answer []string, context string) {
	vars, chains := vtChains(r, t.Chains, t.Hops, k, value)
	sentences := make([]string, n)
	for i := range sentences {
		sentences[i] = noiseSentence
	}
	for _, chain := range chains {
		at := sampleIndices(r, len(sentences), len(chain))
		slices.Sort(at)
		for j, p := range at {
			sentences = slices.Insert(sentences, p+j, chain[j])
		}
	}
	context = strings.ReplaceAll(strings.Join(sentences, "\n"), ". \n", ".\n")
	query := strings.TrimSpace(chains[0][0][strings.LastIndex(chains[0][0], "=")+1:])
	fam := families[VariableTracking]
	fields := []string{"{context}", context, "{query}", query, "{num_v}", strconv.Itoa(t.Hops + 1)}
	return format(fam.template, fields...), format(fam.answerPrefix, fields...), vars[0], context
}

// vtNoiseLeast is the smallest noise haystack: every chain line needs a
// place of its own.
func vtNoiseLeast(t Task) int { return t.Chains * (t.Hops + 1) }

// iclExample makes (once per task) the in-context example of
// variable_tracking.py's first call: 3-letter names, the value 12345,
// at most 10 hops, RULER's bare template with its answer prefix (no chat
// template), as many noise sentences as fit in 500 tokens (the fewest
// there can be where none fit: RULER loops for ever there); the answer
// follows the prefix after a space.
func (g *Generator) iclExample(ctx context.Context, t Task) (*iclExample, error) {
	if t.Chains < 1 || t.Hops < 1 {
		return nil, fmt.Errorf("%s: %d chains of %d hops", t.Name, t.Chains, t.Hops)
	}
	if v, ok := g.icl.Load(t.Name); ok {
		return v.(*iclExample), nil
	}
	it := t
	it.Hops = min(10, t.Hops)
	const value = "12345"
	build := func(n int) (string, []string) {
		user, prefix, answer, _ := vtText(newRand(g.opt.Seed, t.Name, "icl"), it, n, 3, func() string { return value })
		return user + prefix, answer
	}
	n, err := fitHaystack(ctx, vtNoiseLeast(it), iclTokens, func(n int) (int, error) {
		text, _ := build(n)
		return g.count(text), nil
	})
	if err != nil && !errors.Is(err, errTooShort) {
		return nil, fmt.Errorf("%s in-context example: %w", t.Name, err)
	}
	text, answer := build(n)
	ex := &iclExample{text: text + " " + strings.Join(answer, " ") + "\n", names: answer, value: value}
	v, _ := g.icl.LoadOrStore(t.Name, ex)
	return v.(*iclExample), nil
}

// randomized is randomize_icl: the example with its variable names
// replaced by new random names of the same length and its value by a new
// random 5-digit number. The names are replaced in one pass (RULER
// replaces them one after another).
func (ex *iclExample) randomized(r *rand.Rand) string {
	taken := map[string]bool{"VAR": true}
	var pairs []string
	for _, name := range ex.names {
		var v string
		for v == "" || taken[v] {
			v = randomLetters(r, upperLetters, len(name))
		}
		taken[v] = true
		pairs = append(pairs, name, v)
	}
	pairs = append(pairs, ex.value, vtValue(r))
	return strings.NewReplacer(pairs...).Replace(ex.text)
}

// vtValue is np.random.randint(10000, 99999): 10000 to 99998.
func vtValue(r *rand.Rand) string { return strconv.Itoa(10000 + r.IntN(89999)) }

// vtBuilder follows variable_tracking.py's final call: 5-letter names, a
// random value, n noise sentences, the in-context example renamed and
// put before the task text (RULER inserts it where the task template
// begins, after the model template's opening).
func (g *Generator) vtBuilder(t Task, ex *iclExample) builder {
	return builder{min: vtNoiseLeast(t), build: func(r *rand.Rand, n int) (instance, error) {
		icl := ex.randomized(r)
		user, prefix, answer, context := vtText(r, t, n, 5, func() string { return vtValue(r) })
		return instance{user: icl + "\n" + user, prefix: prefix, outputs: answer, context: context}, nil
	}}
}
