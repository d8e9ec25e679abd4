package ruler

import (
	"fmt"
	"slices"
	"strings"
)

// Family is one of RULER's generator scripts (scripts/data/synthetic/*.py).
type Family string

// The task families implemented. RULER's qa family (SQuAD and HotpotQA
// documents) needs downloaded data sets and is not.
const (
	NIAH             Family = "niah"
	VariableTracking Family = "variable_tracking"
	CommonWords      Family = "common_words_extraction"
	FreqWords        Family = "freq_words_extraction"
)

// Metric is how a task's predictions are scored
// (scripts/eval/synthetic/constants.py).
type Metric string

// RULER's two metrics: string_match_all (the share of a row's references
// found in its prediction) and string_match_part (1 when any is found).
const (
	MatchAll  Metric = "string_match_all"
	MatchPart Metric = "string_match_part"
)

// Haystack kinds of needle-in-a-haystack (niah.py's --type_haystack).
const (
	hayNoise  = "noise"  // one sentence repeated
	hayEssay  = "essay"  // essay text, needles between its sentences
	hayNeedle = "needle" // distractor needles with other keys
)

// Needle key and value kinds (niah.py's --type_needle_k, --type_needle_v).
const (
	kindWords   = "words"
	kindNumbers = "numbers"
	kindUUIDs   = "uuids"
)

// Task is one task of RULER's synthetic benchmark (scripts/synthetic.yaml):
// a family and its arguments.
type Task struct {
	Name   string
	Family Family
	// NIAH arguments.
	Haystack              string
	KeyKind, ValueKind    string
	Keys, Values, Queries int
	// Variable tracking arguments.
	Chains, Hops int
	// Common-words arguments: repeats of the common and uncommon words,
	// and the number of common words.
	FreqCommon, FreqUncommon, NumCommon int
	// Frequent-words argument: the zeta distribution's alpha.
	Alpha float64
}

// tasks is RULER's scripts/synthetic.yaml without qa_1 and qa_2, in its
// order.
var tasks = []Task{
	{Name: "niah_single_1", Family: NIAH, Haystack: hayNoise, KeyKind: kindWords, ValueKind: kindNumbers, Keys: 1, Values: 1, Queries: 1},
	{Name: "niah_single_2", Family: NIAH, Haystack: hayEssay, KeyKind: kindWords, ValueKind: kindNumbers, Keys: 1, Values: 1, Queries: 1},
	{Name: "niah_single_3", Family: NIAH, Haystack: hayEssay, KeyKind: kindWords, ValueKind: kindUUIDs, Keys: 1, Values: 1, Queries: 1},
	{Name: "niah_multikey_1", Family: NIAH, Haystack: hayEssay, KeyKind: kindWords, ValueKind: kindNumbers, Keys: 4, Values: 1, Queries: 1},
	{Name: "niah_multikey_2", Family: NIAH, Haystack: hayNeedle, KeyKind: kindWords, ValueKind: kindNumbers, Keys: 1, Values: 1, Queries: 1},
	{Name: "niah_multikey_3", Family: NIAH, Haystack: hayNeedle, KeyKind: kindUUIDs, ValueKind: kindUUIDs, Keys: 1, Values: 1, Queries: 1},
	{Name: "niah_multivalue", Family: NIAH, Haystack: hayEssay, KeyKind: kindWords, ValueKind: kindNumbers, Keys: 1, Values: 4, Queries: 1},
	{Name: "niah_multiquery", Family: NIAH, Haystack: hayEssay, KeyKind: kindWords, ValueKind: kindNumbers, Keys: 1, Values: 1, Queries: 4},
	{Name: "vt", Family: VariableTracking, Haystack: hayNoise, Chains: 1, Hops: 4},
	{Name: "cwe", Family: CommonWords, FreqCommon: 30, FreqUncommon: 3, NumCommon: 10},
	{Name: "fwe", Family: FreqWords, Alpha: 2.0},
}

// Tasks returns the tasks in RULER's order.
func Tasks() []Task { return slices.Clone(tasks) }

// LookupTask finds a task by name.
func LookupTask(name string) (Task, error) {
	for _, t := range tasks {
		if t.Name == name {
			return t, nil
		}
	}
	return Task{}, fmt.Errorf("unknown task %q (have %s)", name, strings.Join(TaskNames(), ", "))
}

// TaskNames lists the task names in order.
func TaskNames() []string {
	var names []string
	for _, t := range tasks {
		names = append(names, t.Name)
	}
	return names
}

// ParseTasks reads a comma-separated task list: names, "all", or "niah"
// (the eight needle-in-a-haystack tasks). Tasks come back in RULER's
// order, each once.
func ParseTasks(list string) ([]Task, error) {
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case "":
			continue
		case "all":
			for _, t := range tasks {
				want[t.Name] = true
			}
		case "niah":
			for _, t := range tasks {
				if t.Family == NIAH {
					want[t.Name] = true
				}
			}
		default:
			if _, err := LookupTask(name); err != nil {
				return nil, err
			}
			want[name] = true
		}
	}
	var out []Task
	for _, t := range tasks {
		if want[t.Name] {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no task named in %q", list)
	}
	return out, nil
}

// Metric returns the task's metric: string_match_all for every family
// implemented here (RULER's qa family alone uses string_match_part).
func (t Task) Metric() Metric { return MatchAll }

// NewTokens is the family's tokens_to_generate
// (scripts/data/synthetic/constants.py).
func (t Task) NewTokens() int { return families[t.Family].newTokens }

// family holds a generator script's constants from RULER's
// scripts/data/synthetic/constants.py: the task template (with {context}
// and {query} and, per family, {type_needle_v} or {num_v}), the answer
// prefix the prompt ends with, and tokens_to_generate.
type family struct {
	template, answerPrefix string
	newTokens              int
}

var families = map[Family]family{
	NIAH: {
		template:     "Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic {type_needle_v} for {query} mentioned in the provided text?",
		answerPrefix: " The special magic {type_needle_v} for {query} mentioned in the provided text are",
		newTokens:    128,
	},
	VariableTracking: {
		template:     "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n{context}\nQuestion: Find all variables that are assigned the value {query} in the text above.",
		answerPrefix: " Answer: According to the chain(s) of variable assignment in the text above, {num_v} variables are assigned the value {query}, they are: ",
		newTokens:    30,
	},
	CommonWords: {
		template:     "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.\n{context}\nQuestion: What are the 10 most common words in the above list?",
		answerPrefix: " Answer: The top 10 words that appear most often in the list are:",
		newTokens:    120,
	},
	FreqWords: {
		template:     "Read the following coded text and track the frequency of each coded word. Find the three most frequently appeared coded words. {context}\nQuestion: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently appeared words in the above coded text?",
		answerPrefix: " Answer: According to the coded text above, the three most frequently appeared words are:",
		newTokens:    50,
	},
}

// format fills a template's {name} fields in one pass, as Python's
// str.format does for the templates above (what is filled in is not
// scanned again).
func format(template string, fields ...string) string {
	return strings.NewReplacer(fields...).Replace(template)
}
