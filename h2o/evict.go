package h2o

import (
	"cmp"
	"slices"

	"github.com/sdtp/sdtp/kvcache"
)

// Select applies H2O's rule to one layer holding tokens at positions pos
// (distinct) with accumulated attention scores: to keep keep of them, it
// keeps the recent tokens of highest position and, of the others, the
// keep−recent of highest score (on equal scores, the earlier position),
// and returns the rows of the rest in ascending order; nil when the layer
// holds at most keep tokens.
func Select(pos []int32, scores []float64, keep, recent int) []int32 {
	n := len(pos)
	if n <= keep {
		return nil
	}
	recent = min(recent, keep)
	// The rows of the others, from the first to evict to the last.
	first := recentFrom(pos, recent)
	var cand []int32
	for r, p := range pos {
		if p < first {
			cand = append(cand, int32(r))
		}
	}
	worse := func(a, b int32) int { // a before b: a is evicted first
		if c := cmp.Compare(scores[a], scores[b]); c != 0 {
			return c
		}
		return cmp.Compare(pos[b], pos[a])
	}
	evict := n - keep
	if evict == 1 { // a decode step: one scan
		w := cand[0]
		for _, r := range cand[1:] {
			if worse(r, w) < 0 {
				w = r
			}
		}
		return []int32{w}
	}
	slices.SortFunc(cand, worse)
	out := cand[:evict]
	slices.Sort(out)
	return out
}

// recentFrom returns the lowest position of the recent window: the
// recent-th highest of pos (above every position when recent is 0). The
// window is usually the last recent positions of the sequence, all
// present, which one pass confirms; otherwise the positions are sorted.
func recentFrom(pos []int32, recent int) int32 {
	top := slices.Max(pos)
	if recent == 0 {
		return top + 1
	}
	from := top - int32(recent) + 1
	in := 0
	for _, p := range pos {
		if p >= from {
			in++
		}
	}
	if in == recent {
		return from
	}
	s := slices.Clone(pos)
	slices.Sort(s)
	return s[len(s)-recent]
}

// Evictor keeps one sequence's cache within a Budget. The cache must track
// attention (kvcache.TrackAttention) from before its prefill.
type Evictor struct {
	b            Budget
	keep, recent []int
	evicted      int
}

// New returns an Evictor of budget b.
func New(b Budget) *Evictor { return &Evictor{b: b} }

// Budget returns the evictor's budget.
func (e *Evictor) Budget() Budget { return e.b }

// Prefilled fixes each layer's budget from the tokens it holds after the
// prefill, evicts what is over it, and gives back the storage the layer
// will never use (it holds at most its budget and one new token).
func (e *Evictor) Prefilled(c *kvcache.Cache) {
	e.keep, e.recent = make([]int, c.Layers()), make([]int, c.Layers())
	for l := range e.keep {
		e.keep[l], e.recent[l] = e.b.Sizes(c.Len(l))
	}
	e.Step(c)
	for l, k := range e.keep {
		c.Shrink(l, k+1)
	}
}

// Step evicts, at every layer over its budget, the tokens H2O's rule
// drops (Select): after each decode step, whose new token made a layer at
// its budget one token over.
func (e *Evictor) Step(c *kvcache.Cache) {
	for l, k := range e.keep {
		if rows := Select(c.Positions(l), c.Scores(l), k, e.recent[l]); rows != nil {
			c.Evict(l, rows)
			e.evicted += len(rows)
		}
	}
}

// Keep returns each layer's budget in tokens (nil before Prefilled).
func (e *Evictor) Keep() []int { return e.keep }

// Evicted returns the tokens evicted so far, summed over the layers.
func (e *Evictor) Evicted() int { return e.evicted }
