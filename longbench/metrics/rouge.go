package metrics

import (
	"strings"

	"github.com/sdtp/sdtp/longbench/jieba"
)

// rouge 1.0.1 rebuilds the LCS of each sentence pair with a recursive
// function (_recon), so long sentences hit Python's recursion limit; the
// RecursionError is caught by the official rouge_score, which then returns
// 0. The rule below reproduces CPython 3.11 exactly (checked against it
// around the limit): with the default limit of 1000, a Python frame at depth
// D may start if D <= 1000, and a comparison run inside it needs D < 1000.
// In _recon, the int and str comparisons are specialised by the 3.11
// interpreter and never check the depth, but the dict look-ups
// table[i-1, j] compare tuple keys, which needs D < 1000, and D < 999
// unless the ints inside are ones Python caches (at most 256). When the
// official eval.py calls rouge_score, nine frames are below the first
// _recon (<module>, scorer, rouge_score, Rouge.get_scores,
// Rouge._get_avg_scores, the metric lambda, rouge_l_summary_level,
// _union_lcs, _recon_lcs); rouge_zh_score adds one. CPython 3.8-3.10,
// without specialisation, fail one frame earlier.
const (
	pyRecursionLimit = 1000
	pySmallIntMax    = 256
	framesToRecon    = 9
)

// maxLCSCells bounds the LCS table of one sentence pair (about 256 MiB).
// The official scorer keeps that table in a Python dict and would run out
// of memory long before this; pairs beyond it score 0, as an exception
// inside rouge_score would.
const maxLCSCells = 64 << 20

// RougeL is rouge_score of the official scorer: the ROUGE-L F score of the
// rouge 1.0.1 package (summary level, sentences split on '.', word sets,
// case-sensitive), or 0 where that package raises (an empty hypothesis or
// reference, or too deep a recursion).
func RougeL(prediction, groundTruth string) float64 {
	return rougeL(prediction, groundTruth, framesToRecon)
}

// RougeLZh is rouge_zh_score: RougeL over the jieba words of both texts
// joined by spaces.
func RougeLZh(seg *jieba.Segmenter, prediction, groundTruth string) float64 {
	p := strings.Join(seg.Cut(prediction), " ")
	g := strings.Join(seg.Cut(groundTruth), " ")
	return rougeL(p, g, framesToRecon+1)
}

// sentences is rouge's preprocessing: split on '.', drop empty pieces,
// collapse whitespace inside each.
func sentences(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ".") {
		if p != "" {
			out = append(out, strings.Join(pyFields(p), " "))
		}
	}
	return out
}

// rougeL computes rouge_l_summary_level's F score; base is the Python stack
// depth below the first _recon frame.
func rougeL(hyp, ref string, base int) float64 {
	hs, rs := sentences(hyp), sentences(ref)
	if len(hs) == 0 || len(rs) == 0 {
		return 0 // rouge_n raises "Hypothesis is empty." / "Reference is empty."
	}
	hypWords := make([][]string, len(hs))
	hypSet := map[string]bool{}
	for i, h := range hs {
		hypWords[i] = strings.Split(h, " ")
		for _, w := range hypWords[i] {
			hypSet[w] = true
		}
	}
	refSet := map[string]bool{}
	union := map[string]bool{}
	for _, r := range rs {
		refWords := strings.Split(r, " ")
		for _, w := range refWords {
			refSet[w] = true
		}
		for _, hw := range hypWords {
			if !reconLCS(refWords, hw, base, union) {
				return 0
			}
		}
	}
	llcs := float64(len(union))
	rLCS := llcs / float64(len(refSet))
	pLCS := llcs / float64(len(hypSet))
	return 2.0 * ((pLCS * rLCS) / (pLCS + rLCS + 1e-8))
}

// reconLCS walks rouge's _recon_lcs(x, y) backtrack over the LCS table and
// adds the words of the subsequence it finds to into. It reports false where
// Python would raise: RecursionError (see pyRecursionLimit; base is the
// depth below the first _recon frame), or a table too big.
func reconLCS(x, y []string, base int, into map[string]bool) bool {
	n, m := len(x), len(y)
	// The walk stops at i == 0 or j == 0, so it makes at least min(n, m)
	// calls plus the last one.
	if base+min(n, m)+1 > pyRecursionLimit || (n+1)*(m+1) > maxLCSCells {
		return false
	}
	w := m + 1
	table := make([]int32, (n+1)*w)
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			switch {
			case x[i-1] == y[j-1]:
				table[i*w+j] = table[(i-1)*w+j-1] + 1
			default:
				table[i*w+j] = max(table[(i-1)*w+j], table[i*w+j-1])
			}
		}
	}
	// First check the depth of every call, so a failing pair adds nothing.
	i, j := n, m
	for depth := base + 1; ; depth++ {
		if depth > pyRecursionLimit {
			return false
		}
		if i == 0 || j == 0 {
			break
		}
		if x[i-1] == y[j-1] {
			i, j = i-1, j-1
			continue
		}
		if depth >= pyRecursionLimit || (depth == pyRecursionLimit-1 && (i > pySmallIntMax || j > pySmallIntMax)) {
			return false
		}
		if table[(i-1)*w+j] > table[i*w+j-1] {
			i--
		} else {
			j--
		}
	}
	for i, j := n, m; i > 0 && j > 0; {
		switch {
		case x[i-1] == y[j-1]:
			into[x[i-1]] = true
			i, j = i-1, j-1
		case table[(i-1)*w+j] > table[i*w+j-1]:
			i--
		default:
			j--
		}
	}
	return true
}
