package ruler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/sdtp/sdtp/evalrun"
)

// Tokenizer is what fitting a sample to its length needs from the model's
// tokenizer; the method names and meanings follow tokenizer.Tokenizer.
type Tokenizer interface {
	// EncodeWithSpecial tokenizes text as Hugging Face's tokenizer(text)
	// does, with the BOS the tokenizer prepends, if any.
	EncodeWithSpecial(text string) []int
	// BOS is the beginning-of-sequence id, or -1 when there is none.
	BOS() int
}

// Options says how samples are made for one model.
type Options struct {
	// Tokenizer counts a prompt's tokens as the model reads them.
	Tokenizer Tokenizer
	// Template wraps the task text (RULER's task_template) into the
	// model's chat format; nil is RULER's "base" template (the text as
	// it is). The answer prefix follows the wrapped text, as in RULER's
	// prepare.py: model_template.format(task_template) + answer_prefix.
	Template func(user string) (string, error)
	// Seed picks the samples: the same seed, task, length and index give
	// the same sample.
	Seed uint64
}

// Generator makes RULER samples for one model.
type Generator struct {
	opt   Options
	words *wordData
	// icl caches the variable-tracking in-context example per task.
	icl sync.Map // task name -> *iclExample
}

// NewGenerator returns a generator for opt.
func NewGenerator(opt Options) (*Generator, error) {
	if opt.Tokenizer == nil {
		return nil, errors.New("ruler: a tokenizer is needed to fit samples to their length")
	}
	return &Generator{opt: opt, words: loadWords()}, nil
}

// Sample is one generated task instance.
type Sample struct {
	// ID names the sample in prediction files: task-length-index.
	ID     string
	Task   string
	Length int // the target length: prompt tokens plus NewTokens at most
	Index  int
	// Prompt is the whole text the model reads: the chat template around
	// the task text, then the answer prefix.
	Prompt       string
	AnswerPrefix string
	// Outputs are the references the prediction is scored against.
	Outputs []string
	// Context is the haystack the task text holds (the needles, chains or
	// word list among their filler); every output appears in it.
	Context string
	// Tokens is the prompt's length in the model's tokens (BOS included
	// where the tokenizer adds one).
	Tokens    int
	NewTokens int
	// Haystack is the size that filled the length: sentences, words or
	// list entries, per family.
	Haystack int
}

// SampleID is the ID of the index-th sample of task at length.
func SampleID(task string, length, index int) string {
	return fmt.Sprintf("%s-%d-%d", task, length, index)
}

// instance is a built task text before it is measured.
type instance struct {
	// before is text that precedes the wrapped task text (common-words
	// extraction's worked example); user is the task text the chat
	// template wraps; prefix is the answer prefix after it.
	before, user, prefix string
	outputs              []string
	context              string
}

// builder builds a task instance with haystack size n from a fresh
// random source (the same for every n, so a sample is a function of n).
type builder struct {
	// min is the smallest haystack the family can build.
	min   int
	build func(r *rand.Rand, n int) (instance, error)
}

// Generate makes the index-th sample of task t at the target length: the
// largest haystack whose prompt, in the model's tokens, leaves room for
// the task's new tokens within length (RULER's binary search over the
// haystack size, done here per sample).
func (g *Generator) Generate(ctx context.Context, t Task, length, index int) (Sample, error) {
	if index < 0 {
		return Sample{}, fmt.Errorf("ruler: sample index %d", index)
	}
	b, err := g.builder(ctx, t, length)
	if err != nil {
		return Sample{}, err
	}
	budget := length - t.NewTokens()
	fresh := func() *rand.Rand { return newRand(g.opt.Seed, t.Name, length, index) }
	measure := func(n int) (string, instance, int, error) {
		in, err := b.build(fresh(), n)
		if err != nil {
			return "", instance{}, 0, err
		}
		p, err := g.prompt(in)
		if err != nil {
			return "", instance{}, 0, err
		}
		return p, in, g.count(p), nil
	}
	n, err := fitHaystack(ctx, b.min, budget, func(n int) (int, error) {
		_, _, tokens, err := measure(n)
		return tokens, err
	})
	if err != nil {
		return Sample{}, fmt.Errorf("%s at length %d: %w", t.Name, length, err)
	}
	p, in, tokens, err := measure(n)
	if err != nil {
		return Sample{}, err
	}
	return Sample{
		ID: SampleID(t.Name, length, index), Task: t.Name, Length: length, Index: index,
		Prompt: p, AnswerPrefix: in.prefix, Outputs: in.outputs, Context: in.context,
		Tokens: tokens, NewTokens: t.NewTokens(), Haystack: n,
	}, nil
}

// CheckLength reports whether task t can make a sample at length: its
// smallest haystack must leave room for the new tokens.
func (g *Generator) CheckLength(ctx context.Context, t Task, length int) error {
	b, err := g.builder(ctx, t, length)
	if err != nil {
		return err
	}
	in, err := b.build(newRand(g.opt.Seed, t.Name, length, 0), b.min)
	if err != nil {
		return err
	}
	p, err := g.prompt(in)
	if err != nil {
		return err
	}
	if n := g.count(p); n+t.NewTokens() > length {
		return fmt.Errorf("%s: length %d is too short: the smallest prompt has %d tokens and the task generates %d", t.Name, length, n, t.NewTokens())
	}
	return nil
}

// builder returns the family's builder for t at length.
func (g *Generator) builder(ctx context.Context, t Task, length int) (builder, error) {
	if length <= t.NewTokens() {
		return builder{}, fmt.Errorf("%s: length %d leaves no room for a prompt and %d new tokens", t.Name, length, t.NewTokens())
	}
	switch t.Family {
	case NIAH:
		return g.niahBuilder(t)
	case VariableTracking:
		icl, err := g.iclExample(ctx, t)
		if err != nil {
			return builder{}, err
		}
		return g.vtBuilder(t, icl), nil
	case CommonWords:
		return g.cweBuilder(t, length), nil
	case FreqWords:
		return g.fweBuilder(t, length)
	}
	return builder{}, fmt.Errorf("ruler: task %s has unknown family %q", t.Name, t.Family)
}

// prompt assembles an instance's prompt: before, the wrapped task text,
// the answer prefix.
func (g *Generator) prompt(in instance) (string, error) {
	w, err := g.wrap(in.user)
	if err != nil {
		return "", err
	}
	return in.before + w + in.prefix, nil
}

// wrap applies the chat template to a task text.
func (g *Generator) wrap(user string) (string, error) {
	if g.opt.Template == nil {
		return user, nil
	}
	s, err := g.opt.Template(user)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return s, nil
}

// count is the number of tokens the model reads for prompt
// (evalrun.EncodePrompt: the tokenizer's encoding with its BOS, one BOS
// only where the chat template wrote it already).
func (g *Generator) count(prompt string) int {
	return len(evalrun.EncodePrompt(g.opt.Tokenizer, prompt))
}

// errTooShort says that not even the smallest haystack fits.
var errTooShort = errors.New("the length is too short")

// fitHaystack finds the largest haystack size n ≥ least whose prompt has at
// most budget tokens (tokens(n) measures one), searching by interpolation
// (token counts grow about linearly with n) with bisection steps to
// bound the work. When even least does not fit, it returns least and an
// error wrapping errTooShort.
func fitHaystack(ctx context.Context, least, budget int, tokens func(n int) (int, error)) (int, error) {
	lo := least
	tLo, err := tokens(lo)
	if err != nil {
		return 0, err
	}
	if tLo > budget {
		return least, fmt.Errorf("%w: the smallest prompt has %d tokens, %d are left for it", errTooShort, tLo, budget)
	}
	hi, tHi := -1, 0 // the smallest size known not to fit, once found
	rate := float64(tLo) / float64(max(lo, 1))
	bisect := false
	for range 200 {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if hi >= 0 && hi-lo <= 1 {
			return lo, nil
		}
		var n int
		switch {
		case hi < 0:
			n = lo + int(float64(budget-tLo)/max(rate, 1e-9))
			if n <= lo {
				n = lo + 1
			}
		case bisect:
			n = lo + (hi-lo)/2
		default:
			n = lo + int(float64(budget-tLo)*float64(hi-lo)/float64(max(tHi-tLo, 1)))
			n = max(lo+1, min(n, hi-1))
		}
		t, err := tokens(n)
		if err != nil {
			return 0, err
		}
		width := hi - lo
		if t <= budget {
			if n > lo && t > tLo {
				rate = float64(t-tLo) / float64(n-lo)
			}
			lo, tLo = n, t
		} else {
			hi, tHi = n, t
		}
		// Alternate to bisection when interpolation did not halve the
		// bracket.
		bisect = !bisect && width > 0 && hi >= 0 && 2*(hi-lo) > width
	}
	return 0, errors.New("no haystack size found (token counts do not settle)")
}

// joinNumbered writes words as "1. w1 2. w2 ..." (common_words_extraction.py).
func joinNumbered(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d. %s", i+1, w)
	}
	return b.String()
}
