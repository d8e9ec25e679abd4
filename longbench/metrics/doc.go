// Package metrics implements the LongBench v1 scoring functions exactly as
// the official scorer (THUDM/LongBench metrics.py) computes them, including
// the behaviour of the Python libraries it calls: rouge 1.0.1 for ROUGE-L
// (sentences split on '.', set-based, case-sensitive, and 0 when its
// recursive LCS would exceed Python's recursion limit), fuzzywuzzy's ratio
// over difflib.SequenceMatcher for code similarity (autojunk included), and
// jieba (package longbench/jieba) for Chinese words. Strings are treated as
// sequences of Unicode code points with Python's notions of whitespace,
// word characters, digits and lower case.
//
// Every metric takes a prediction and one gold answer and returns a score
// in [0, 1]; the caller takes the maximum over the gold answers.
package metrics
