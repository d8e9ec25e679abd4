package metrics

// SequenceRatio is Python's difflib.SequenceMatcher(None, a, b).ratio():
// 2*M/T where M is the total size of the matching blocks found by the
// recursive longest-match search and T = len(a)+len(b). It follows CPython's
// algorithm step by step, including the autojunk rule (when b has at least
// 200 elements, elements occurring more than len(b)/100+1 times are not
// indexed, though matches may still extend over them), so that its result
// is the same float.
func SequenceRatio(a, b []rune) float64 {
	t := len(a) + len(b)
	if t == 0 {
		return 1.0
	}
	sm := newMatcher(a, b)
	matched := 0
	type span struct{ alo, ahi, blo, bhi int }
	queue := []span{{0, len(a), 0, len(b)}}
	for len(queue) > 0 {
		q := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		i, j, k := sm.longestMatch(q.alo, q.ahi, q.blo, q.bhi)
		if k == 0 {
			continue
		}
		matched += k
		if q.alo < i && q.blo < j {
			queue = append(queue, span{q.alo, i, q.blo, j})
		}
		if i+k < q.ahi && j+k < q.bhi {
			queue = append(queue, span{i + k, q.ahi, j + k, q.bhi})
		}
	}
	return 2.0 * float64(matched) / float64(t)
}

// matcher holds SequenceMatcher's b2j index of b.
type matcher struct {
	a, b []rune
	b2j  map[rune][]int
	// j2len and newj2len are find_longest_match's dicts, kept as arrays
	// indexed by j+1 with the touched entries listed for clearing.
	j2len, newj2len     []int
	touched, newTouched []int
}

func newMatcher(a, b []rune) *matcher {
	b2j := make(map[rune][]int)
	for i, r := range b {
		b2j[r] = append(b2j[r], i)
	}
	if n := len(b); n >= 200 {
		ntest := n/100 + 1
		for r, idx := range b2j {
			if len(idx) > ntest {
				delete(b2j, r)
			}
		}
	}
	return &matcher{a: a, b: b, b2j: b2j, j2len: make([]int, len(b)+1), newj2len: make([]int, len(b)+1)}
}

// longestMatch is find_longest_match(alo, ahi, blo, bhi) with no junk
// function: the longest block a[i:i+k] == b[j:j+k] inside the ranges (the
// earliest i, then earliest j, among equals), extended over equal
// unindexed ("popular") elements on both sides.
func (m *matcher) longestMatch(alo, ahi, blo, bhi int) (int, int, int) {
	a, b := m.a, m.b
	besti, bestj, bestsize := alo, blo, 0
	for i := alo; i < ahi; i++ {
		for _, j := range m.b2j[a[i]] {
			if j < blo {
				continue
			}
			if j >= bhi {
				break
			}
			k := m.j2len[j] + 1 // j2len.get(j-1, 0) + 1, stored at index j
			m.newj2len[j+1] = k
			m.newTouched = append(m.newTouched, j+1)
			if k > bestsize {
				besti, bestj, bestsize = i-k+1, j-k+1, k
			}
		}
		for _, t := range m.touched {
			m.j2len[t] = 0
		}
		m.j2len, m.newj2len = m.newj2len, m.j2len
		m.touched, m.newTouched = m.newTouched, m.touched[:0]
	}
	for _, t := range m.touched {
		m.j2len[t] = 0
	}
	m.touched = m.touched[:0]
	for besti > alo && bestj > blo && a[besti-1] == b[bestj-1] {
		besti, bestj, bestsize = besti-1, bestj-1, bestsize+1
	}
	for besti+bestsize < ahi && bestj+bestsize < bhi && a[besti+bestsize] == b[bestj+bestsize] {
		bestsize++
	}
	return besti, bestj, bestsize
}
