package ruler

import (
	"context"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/tokenizer"
)

// lengthSlack is the stated tolerance: a sample's prompt plus its new
// tokens is at most its length and more than length − lengthSlack. One
// haystack unit more would not fit; the largest unit, a line of two
// UUIDs in niah_multikey_3, is under 90 tokens in the tokenizers tested.
const lengthSlack = 128

// testTokenizers are the two tokenizers the length tests run with: Qwen2's
// byte-level BPE (151k tokens) and llama2.c's 512-token SentencePiece
// vocabulary, which spends several tokens on most words.
func testTokenizers(t *testing.T) map[string]tokenizer.Tokenizer {
	t.Helper()
	return map[string]tokenizer.Tokenizer{"qwen2": loadTokenizer(t, "qwen2/tokenizer.json"), "tok512": loadTokenizer(t, "llama2c/tok512.bin")}
}

var (
	tokMu    sync.Mutex
	tokCache = map[string]tokenizer.Tokenizer{}
)

// loadTokenizer loads a shared test tokenizer once for the package's
// tests (Qwen2's takes a while).
func loadTokenizer(t *testing.T, rel string) tokenizer.Tokenizer {
	t.Helper()
	path := testdata.Path(t, rel)
	tokMu.Lock()
	defer tokMu.Unlock()
	if tok, ok := tokCache[path]; ok {
		return tok
	}
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tokCache[path] = tok
	return tok
}

func qwenGenerator(t *testing.T, seed uint64) *Generator {
	t.Helper()
	g, err := NewGenerator(Options{Tokenizer: loadTokenizer(t, "qwen2/tokenizer.json"), Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGenerateIsDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b, other := qwenGenerator(t, 7), qwenGenerator(t, 7), qwenGenerator(t, 8)
	for _, task := range Tasks() {
		s1, err := a.Generate(ctx, task, 4096, 3)
		if err != nil {
			t.Fatal(err)
		}
		// Another generator, and samples made before it in another order,
		// give the same sample.
		if _, err := b.Generate(ctx, task, 4096, 0); err != nil {
			t.Fatal(err)
		}
		s2, err := b.Generate(ctx, task, 4096, 3)
		if err != nil {
			t.Fatal(err)
		}
		if s1.Prompt != s2.Prompt || !slices.Equal(s1.Outputs, s2.Outputs) || s1.Tokens != s2.Tokens {
			t.Errorf("%s: the same seed gave two samples", task.Name)
		}
		s3, err := other.Generate(ctx, task, 4096, 3)
		if err != nil {
			t.Fatal(err)
		}
		if s3.Prompt == s1.Prompt || slices.Equal(s3.Outputs, s1.Outputs) {
			t.Errorf("%s: seeds 7 and 8 gave the same sample", task.Name)
		}
		s4, err := a.Generate(ctx, task, 4096, 4)
		if err != nil {
			t.Fatal(err)
		}
		if s4.Prompt == s1.Prompt {
			t.Errorf("%s: samples 3 and 4 are the same", task.Name)
		}
		if s1.ID != "" && s1.ID != SampleID(task.Name, 4096, 3) {
			t.Errorf("%s: ID %q", task.Name, s1.ID)
		}
	}
}

func TestGenerateFillsTheLength(t *testing.T) {
	ctx := context.Background()
	for name, tok := range testTokenizers(t) {
		g, err := NewGenerator(Options{Tokenizer: tok, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, length := range []int{4096, 8192} {
			for _, task := range Tasks() {
				if err := g.CheckLength(ctx, task, length); err != nil {
					// tok512 spends so many tokens per word that cwe's
					// worked example alone exceeds 4096.
					if name == "tok512" && task.Name == "cwe" && length == 4096 {
						continue
					}
					t.Fatalf("%s %s %d: %v", name, task.Name, length, err)
				}
				for index := range 2 {
					s, err := g.Generate(ctx, task, length, index)
					if err != nil {
						t.Fatalf("%s %s %d: %v", name, task.Name, length, err)
					}
					total := s.Tokens + s.NewTokens
					if total > length || total <= length-lengthSlack {
						t.Errorf("%s %s sample %d: %d prompt + %d new tokens for length %d", name, task.Name, index, s.Tokens, s.NewTokens, length)
					}
					if n := len(tok.EncodeWithSpecial(s.Prompt)); n != s.Tokens {
						t.Errorf("%s %s: Tokens %d, the tokenizer gives %d", name, task.Name, s.Tokens, n)
					}
					if s.NewTokens != task.NewTokens() {
						t.Errorf("%s: NewTokens %d", task.Name, s.NewTokens)
					}
				}
			}
		}
	}
}

func TestGenerateRefusesTooShortLengths(t *testing.T) {
	g := qwenGenerator(t, 1)
	ctx := context.Background()
	for _, task := range Tasks() {
		for _, length := range []int{task.NewTokens(), 200} {
			if err := g.CheckLength(ctx, task, length); err == nil {
				t.Errorf("%s at %d: no error", task.Name, length)
			}
			if _, err := g.Generate(ctx, task, length, 0); err == nil || !strings.Contains(err.Error(), task.Name) {
				t.Errorf("%s at %d: error %v, want one naming the task", task.Name, length, err)
			}
		}
	}
}

// TestAnswersAreInTheHaystack checks what RULER's generators guarantee of
// every sample: its answers are in the haystack, which is in the prompt,
// and the task's structure holds.
func TestAnswersAreInTheHaystack(t *testing.T) {
	g := qwenGenerator(t, 3)
	ctx := context.Background()
	for _, length := range []int{2048, 4096} {
		for _, task := range Tasks() {
			for index := range 3 {
				s, err := g.Generate(ctx, task, length, index)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(s.Prompt, s.Context) || !strings.HasSuffix(s.Prompt, s.AnswerPrefix) {
					t.Fatalf("%s: the prompt does not hold the context and end in the answer prefix", s.ID)
				}
				if len(s.Outputs) == 0 {
					t.Fatalf("%s: no outputs", s.ID)
				}
				for _, o := range s.Outputs {
					if !strings.Contains(s.Context, o) {
						t.Errorf("%s: answer %q is not in the haystack", s.ID, o)
					}
				}
				checkStructure(t, task, length, s)
			}
		}
	}
}

// checkStructure checks one sample against its family's construction.
func checkStructure(t *testing.T, task Task, length int, s Sample) {
	t.Helper()
	switch task.Family {
	case NIAH:
		if want := task.Queries * task.Values; len(s.Outputs) != want {
			t.Errorf("%s: %d outputs, want %d", s.ID, len(s.Outputs), want)
		}
		kind := task.ValueKind
		if task.Queries*task.Values == 1 {
			kind = strings.TrimSuffix(kind, "s")
		}
		for _, o := range s.Outputs {
			// Each value is in exactly one needle, which names a key the
			// question asks about.
			re := regexp.MustCompile(`One of the special magic ` + task.ValueKind + ` for (\S+) is: ` + regexp.QuoteMeta(o) + `\.`)
			m := re.FindAllStringSubmatch(s.Context, -1)
			if len(m) != 1 {
				t.Errorf("%s: value %s is in %d needles", s.ID, o, len(m))
				continue
			}
			if !strings.Contains(s.AnswerPrefix, m[0][1]) || !strings.Contains(s.AnswerPrefix, " "+kind+" for ") {
				t.Errorf("%s: answer prefix %q does not ask for key %s", s.ID, s.AnswerPrefix, m[0][1])
			}
		}
		if n := strings.Count(s.Context, "One of the special magic"); task.Haystack != hayNeedle && n != max(task.Keys, task.Queries)*task.Values {
			t.Errorf("%s: %d needles", s.ID, n)
		}
	case VariableTracking:
		// Following the chain from the queried value reaches every
		// output, in order.
		value := regexp.MustCompile(`assigned the value (\d+)`).FindStringSubmatch(s.AnswerPrefix)
		if value == nil {
			t.Fatalf("%s: no value in %q", s.ID, s.AnswerPrefix)
		}
		cur := value[1]
		for i, o := range s.Outputs {
			want := "VAR " + o + " = " + cur
			if i > 0 {
				want = "VAR " + o + " = VAR " + cur + " "
			}
			if strings.Count(s.Context, want) != 1 {
				t.Errorf("%s: %q is not in the context once", s.ID, want)
			}
			cur = o
		}
		if len(s.Outputs) != task.Hops+1 {
			t.Errorf("%s: %d outputs", s.ID, len(s.Outputs))
		}
	case CommonWords:
		common, uncommon := task.FreqCommon, task.FreqUncommon
		if length < smallContext {
			common, uncommon = 6, 1
		}
		counts := map[string]int{}
		for _, m := range regexp.MustCompile(`\d+\. (\S+)`).FindAllStringSubmatch(s.Context, -1) {
			counts[m[1]]++
		}
		if len(s.Outputs) != task.NumCommon {
			t.Errorf("%s: %d outputs", s.ID, len(s.Outputs))
		}
		for w, c := range counts {
			want := uncommon
			if slices.Contains(s.Outputs, w) {
				want = common
			}
			if c != want {
				t.Errorf("%s: %q appears %d times, want %d", s.ID, w, c, want)
			}
		}
	case FreqWords:
		counts := map[string]int{}
		for _, w := range strings.Fields(s.Context) {
			counts[w]++
		}
		byCount := slices.Collect(func(yield func(string) bool) {
			for w := range counts {
				if !yield(w) {
					return
				}
			}
		})
		slices.SortFunc(byCount, func(a, b string) int { return counts[b] - counts[a] })
		if byCount[0] != "..." {
			t.Errorf("%s: the most frequent word is %q, not the dots", s.ID, byCount[0])
		}
		for i, o := range s.Outputs {
			if counts[o] < counts[byCount[i+1]] {
				t.Errorf("%s: answer %d %q appears %d times, word %q %d", s.ID, i, o, counts[o], byCount[i+1], counts[byCount[i+1]])
			}
		}
		if len(counts) > (length-task.NewTokens())/50 {
			t.Errorf("%s: %d distinct words, more than the vocabulary", s.ID, len(counts))
		}
	}
}

func TestChatTemplateWrapsTheTask(t *testing.T) {
	tok := loadTokenizer(t, "qwen2/tokenizer.json")
	wrap := func(user string) (string, error) {
		return "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n", nil
	}
	g, err := NewGenerator(Options{Tokenizer: tok, Seed: 1, Template: wrap})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"niah_single_1", "vt", "cwe"} {
		task, _ := LookupTask(name)
		s, err := g.Generate(ctx, task, 4096, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(s.Prompt, "<|im_start|>assistant\n"+s.AnswerPrefix) {
			t.Errorf("%s: the answer prefix does not follow the assistant's turn: %q", name, s.Prompt[len(s.Prompt)-200:])
		}
		// cwe's worked example is a whole templated prompt of its own
		// (RULER formats it with the full template), so it has two turns.
		want := 1
		if name == "cwe" {
			want = 2
		}
		if n := strings.Count(s.Prompt, "<|im_start|>user\n"); n != want {
			t.Errorf("%s: %d user turns, want %d", name, n, want)
		}
		if s.Tokens+s.NewTokens > 4096 || s.Tokens+s.NewTokens <= 4096-lengthSlack {
			t.Errorf("%s: %d tokens with the template", name, s.Tokens)
		}
	}
}

func TestNIAHWording(t *testing.T) {
	g := qwenGenerator(t, 1)
	ctx := context.Background()
	for _, c := range []struct {
		task, prefix string
	}{
		// niah.py rewords the template for a single value.
		{"niah_single_1", " The special magic number for %s mentioned in the provided text is"},
		{"niah_single_3", " The special magic uuid for %s mentioned in the provided text is"},
		{"niah_multivalue", " The special magic numbers for %s mentioned in the provided text are"},
	} {
		task, _ := LookupTask(c.task)
		s, err := g.Generate(ctx, task, 2048, 0)
		if err != nil {
			t.Fatal(err)
		}
		key := regexp.MustCompile(`for (\S+) mentioned`).FindStringSubmatch(s.AnswerPrefix)
		if key == nil || s.AnswerPrefix != strings.Replace(c.prefix, "%s", key[1], 1) {
			t.Errorf("%s: answer prefix %q", c.task, s.AnswerPrefix)
		}
		single := task.Values*task.Queries == 1
		if got := strings.HasPrefix(s.Prompt, "A special magic"); got != single {
			t.Errorf("%s: prompt begins %q", c.task, s.Prompt[:40])
		}
	}
	task, _ := LookupTask("niah_multiquery")
	s, err := g.Generate(ctx, task, 2048, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`for \S+, \S+, \S+, and \S+ mentioned in the provided text are$`).MatchString(s.AnswerPrefix) {
		t.Errorf("multiquery answer prefix %q", s.AnswerPrefix)
	}
}

func TestFitHaystack(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name          string
		least, budget int
		tokens        func(n int) int
		want          int
	}{
		{"linear", 1, 1000, func(n int) int { return 50 + 7*n }, 135},
		{"exact", 1, 57, func(n int) int { return 50 + 7*n }, 1},
		{"steps", 5, 10_000, func(n int) int { return 100 + 25*(n/10) }, 3969},
		{"flat then steep", 1, 500, func(n int) int {
			if n < 300 {
				return 100 + n/10
			}
			return 130 + 40*(n-300)
		}, 309},
	} {
		got, err := fitHaystack(ctx, c.least, c.budget, func(n int) (int, error) { return c.tokens(n), nil })
		if err != nil || got != c.want {
			t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
		}
		if c.tokens(got) > c.budget || c.tokens(got+1) <= c.budget {
			t.Errorf("%s: %d is not the largest fitting size", c.name, got)
		}
	}
	if _, err := fitHaystack(ctx, 3, 10, func(n int) (int, error) { return 11, nil }); err == nil {
		t.Error("a budget below the smallest prompt fitted")
	}
}

func TestZeta(t *testing.T) {
	for _, c := range []struct{ s, want float64 }{
		{2, math.Pi * math.Pi / 6},
		{4, math.Pow(math.Pi, 4) / 90},
		{3, 1.2020569031595942}, // Apéry's constant
	} {
		if got := zeta(c.s); math.Abs(got-c.want) > 1e-14 {
			t.Errorf("zeta(%g) = %.17g, want %.17g", c.s, got, c.want)
		}
	}
}

func TestDepths(t *testing.T) {
	// np.round(np.linspace(0, 100, 40)): i·100/39 rounded; no value is a
	// tie, so half-even and half-away agree.
	if len(depths) != 40 || depths[0] != 0 || depths[39] != 100 || depths[1] != 3 || depths[20] != 51 || depths[38] != 97 {
		t.Errorf("depths %v", depths)
	}
}

func TestSplitSentences(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"One. Two! Three? four", []string{"One.", "Two!", "Three? four"}},
		{`He said "stop." Then left.`, []string{`He said "stop."`, "Then left."}},
		{"Ends without a stop", []string{"Ends without a stop"}},
		{"A 3.5 ratio. 42 is next.", []string{"A 3.5 ratio.", "42 is next."}},
		{"", nil},
	} {
		got := splitSentences(c.in)
		if !slices.Equal(got, c.want) {
			t.Errorf("splitSentences(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Join(got, " ") != c.in {
			t.Errorf("splitSentences(%q) does not join back", c.in)
		}
	}
	essay := strings.Join(loadWords().essay, " ")
	if s := splitSentences(essay); len(s) < 100 || strings.Join(s, " ") != essay {
		t.Errorf("the essay splits into %d sentences", len(s))
	}
}

func TestRandomHelpers(t *testing.T) {
	r := newRand(1, "x")
	for range 100 {
		k := sampleIndices(r, 10, 10)
		s := slices.Clone(k)
		slices.Sort(s)
		if !slices.Equal(s, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Fatalf("sampleIndices(10, 10) = %v", k)
		}
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for range 100 {
		if u := randomUUID(r); !uuid.MatchString(u) {
			t.Fatalf("uuid %q", u)
		}
		if n := randomNumber(r, 7); len(n) != 7 || n[0] == '0' {
			t.Fatalf("number %q", n)
		}
	}
	seen := map[string]bool{}
	for i := range pseudoWords {
		w := pseudoWord(i)
		if seen[w] || len(w) != 6 {
			t.Fatalf("pseudo-word %d %q", i, w)
		}
		seen[w] = true
	}
}

func TestDistinctWordsBeyondTheList(t *testing.T) {
	g := qwenGenerator(t, 1)
	pool := g.words.common
	for _, n := range []int{10, len(pool), len(pool) + 50} {
		words := g.distinctWords(newRand(1, n), n)
		seen := map[string]bool{}
		listed := 0
		for _, w := range words {
			if seen[w] {
				t.Fatalf("n=%d: %q twice", n, w)
			}
			seen[w] = true
			if g.words.commonSet[w] {
				listed++
			}
		}
		// Every listed word is used before any pseudo-word.
		if len(words) != n || listed != min(n, len(pool)) {
			t.Errorf("n=%d: %d words, %d of them listed", n, len(words), listed)
		}
	}
}
