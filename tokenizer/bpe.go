package tokenizer

import (
	"sync"
)

// merge is what a pair of adjacent symbols becomes: the id of the merged
// token and the merge's rank (lower merges first).
type merge struct {
	rank int32
	id   int32
}

// pairKey packs two token ids into a map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpe merges the symbols of one pre-token by rank, lowest rank first and,
// among equal ranks, leftmost first: Hugging Face's BPE model and
// llama2.c's best-score loop both reduce to this.
type bpe struct {
	merges map[uint64]merge

	mu    sync.Mutex
	cache map[string][]int32
}

const (
	// cacheMaxWord is the longest pre-token (bytes) whose result is cached.
	cacheMaxWord = 256
	// cacheMaxEntries bounds the cache; it is emptied when full.
	cacheMaxEntries = 1 << 17
)

func newBPE(merges map[uint64]merge) *bpe {
	return &bpe{merges: merges, cache: make(map[string][]int32)}
}

// cached returns the ids cached for word.
func (m *bpe) cached(word string) ([]int32, bool) {
	if len(word) > cacheMaxWord {
		return nil, false
	}
	m.mu.Lock()
	ids, ok := m.cache[word]
	m.mu.Unlock()
	return ids, ok
}

func (m *bpe) store(word string, ids []int32) {
	if len(word) > cacheMaxWord {
		return
	}
	m.mu.Lock()
	if len(m.cache) >= cacheMaxEntries {
		clear(m.cache)
	}
	m.cache[word] = ids
	m.mu.Unlock()
}

// candidate is a possible merge of the symbol at pos with its right
// neighbour.
type candidate struct {
	rank int32
	pos  int32
	id   int32
}

func (a candidate) less(b candidate) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// pairHeap is a binary min-heap of candidates.
type pairHeap []candidate

func (h *pairHeap) push(c candidate) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *pairHeap) pop() candidate {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].less(s[l]) {
			m = r
		}
		if !s[m].less(s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// apply merges syms in place and returns the resulting ids.
func (m *bpe) apply(syms []int32) []int32 {
	n := len(syms)
	if n < 2 {
		return syms
	}
	prev := make([]int32, n)
	next := make([]int32, n)
	for i := range syms {
		prev[i] = int32(i) - 1
		next[i] = int32(i) + 1
	}
	next[n-1] = -1
	h := make(pairHeap, 0, n)
	for i := 0; i+1 < n; i++ {
		if mg, ok := m.merges[pairKey(syms[i], syms[i+1])]; ok {
			h.push(candidate{rank: mg.rank, pos: int32(i), id: mg.id})
		}
	}
	const dead = -2
	for len(h) > 0 {
		c := h.pop()
		p := c.pos
		if next[p] == dead || next[p] < 0 {
			continue
		}
		r := next[p]
		// Skip stale candidates: the pair now at p must still merge the same way.
		mg, ok := m.merges[pairKey(syms[p], syms[r])]
		if !ok || mg != (merge{rank: c.rank, id: c.id}) {
			continue
		}
		syms[p] = c.id
		nr := next[r]
		next[p] = nr
		if nr >= 0 {
			prev[nr] = p
		}
		next[r] = dead
		if q := prev[p]; q >= 0 {
			if mg, ok := m.merges[pairKey(syms[q], syms[p])]; ok {
				h.push(candidate{rank: mg.rank, pos: q, id: mg.id})
			}
		}
		if nr >= 0 {
			if mg, ok := m.merges[pairKey(syms[p], syms[nr])]; ok {
				h.push(candidate{rank: mg.rank, pos: p, id: mg.id})
			}
		}
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}
