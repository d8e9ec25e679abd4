package kvcache

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

// directMoves is the most rows Evict moves with one Copy each; more go
// through a Gather and a backend.ScatterRows.
const directMoves = 4

// Evict removes the tokens cached at rows of layer l (ascending, distinct,
// each below Len(l)), with their positions and scores. The rows left keep
// their keys and values but not their order: each evicted row below the
// new length is filled by a kept row from above it, the lowest first, so
// a decode step that evicts one token moves at most one row instead of
// every later one. Positions and Scores follow the rows; attention over
// a layer's whole cache does not depend on the order.
func (c *Cache) Evict(l int, rows []int32) {
	ly := &c.layers[l]
	for i, r := range rows {
		if r < 0 || int(r) >= ly.n || (i > 0 && r <= rows[i-1]) {
			panic(fmt.Sprintf("kvcache: evict rows %v of layer %d holding %d tokens: want ascending rows below %d", rows, l, ly.n, ly.n))
		}
	}
	if len(rows) == 0 {
		return
	}
	n := ly.n - len(rows)
	evicted := make(map[int32]bool, len(rows))
	for _, r := range rows {
		evicted[r] = true
	}
	var holes, from []int32
	for _, r := range rows {
		if int(r) < n {
			holes = append(holes, r)
		}
	}
	for r := int32(n); int(r) < ly.n; r++ {
		if !evicted[r] {
			from = append(from, r)
		}
	}
	c.moveRows(ly, holes, from)
	pos := c.positions[l]
	for i, h := range holes {
		pos[h] = pos[from[i]]
	}
	c.positions[l] = pos[:n]
	if a := c.att; a != nil {
		sc := a.scores[l]
		for i, h := range holes {
			sc[h] = sc[from[i]]
		}
		a.scores[l] = sc[:n]
	}
	ly.n = n
}

// moveRows copies keys and values of rows from[i] to rows to[i].
func (c *Cache) moveRows(ly *layer, to, from []int32) {
	b := c.b
	if len(to) <= directMoves {
		for i, t := range to {
			b.Copy(b.View(ly.k, int(t), 1), b.View(ly.k, int(from[i]), 1))
			b.Copy(b.View(ly.v, int(t), 1), b.View(ly.v, int(from[i]), 1))
		}
		return
	}
	idx := b.Ints(from)
	defer b.FreeInts(idx)
	tmp := b.New(len(from), c.kvDim)
	defer b.Free(tmp)
	for _, t := range []backend.Tensor{ly.k, ly.v} {
		b.Gather(tmp, t, idx)
		dst := make([]backend.Tensor, len(to))
		for i, r := range to {
			dst[i] = b.View(t, int(r), 1)
		}
		backend.ScatterRows(b, dst, tmp)
	}
}

// Shrink reallocates layer l's storage to rows rows (at least its
// tokens) when it holds more: a cache whose length a budget bounds (H2O)
// gives back, after its prefill, the room it reserved for every new token.
func (c *Cache) Shrink(l, rows int) {
	ly := &c.layers[l]
	if rows = max(rows, ly.n); ly.k != nil && ly.k.Rows() > rows {
		c.realloc(ly, rows)
	}
}
