// Package kvcache holds the keys and values of every decoder layer. Under
// SDTP each layer keeps only the tokens alive at that layer, so lengths
// differ by layer; decoding appends one token to every layer.
package kvcache

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

// ActivationSizer is implemented by backends whose activation elements are
// not 4-byte floats (a bf16 device backend returns 2).
type ActivationSizer interface {
	ActivationBytes() int
}

// Cache is the per-layer key/value store of one sequence.
type Cache struct {
	b       backend.Backend
	kvDim   int
	reserve int
	layers  []layer
	// Positions are the original position ids of the cached tokens, per layer.
	positions [][]int32
	// att is the attention bookkeeping of TrackAttention (nil: off).
	att *attention
}

type layer struct {
	k, v backend.Tensor // capacity rows
	n    int
}

// New makes an empty cache for layers layers of width kvDim. reserve is the
// number of decode steps to leave room for when a layer is first filled.
func New(b backend.Backend, layers, kvDim, reserve int) *Cache {
	return &Cache{b: b, kvDim: kvDim, reserve: reserve, layers: make([]layer, layers), positions: make([][]int32, layers)}
}

// Layers returns the number of layers.
func (c *Cache) Layers() int { return len(c.layers) }

// Len returns the number of tokens cached at layer l.
func (c *Cache) Len(l int) int { return c.layers[l].n }

// Positions returns the position ids of the tokens cached at layer l (do not modify).
func (c *Cache) Positions(l int) []int32 { return c.positions[l] }

// Reserve returns views of the next n free rows of layer l's keys and
// values (growing its storage when needed), so a caller can compute new
// keys and values in place; Commit then makes them part of the cache.
func (c *Cache) Reserve(l, n int) (k, v backend.Tensor) {
	ly := &c.layers[l]
	if ly.k == nil || ly.n+n > ly.k.Rows() {
		c.realloc(ly, ly.n+n+c.reserve)
	}
	return c.b.View(ly.k, ly.n, n), c.b.View(ly.v, ly.n, n)
}

// Commit adds the len(pos) rows last reserved at layer l, whose position
// ids are pos, to the cache.
func (c *Cache) Commit(l int, pos []int32) {
	ly := &c.layers[l]
	if ly.k == nil || ly.n+len(pos) > ly.k.Rows() {
		panic(fmt.Sprintf("kvcache: commit of %d rows at layer %d without a reservation", len(pos), l))
	}
	ly.n += len(pos)
	c.positions[l] = append(c.positions[l], pos...)
	c.att.grow(l, len(pos))
}

// Append copies the rows of k and v (n × kvDim each), whose position ids
// are pos, to the end of layer l, growing its storage when needed.
func (c *Cache) Append(l int, k, v backend.Tensor, pos []int32) {
	n := k.Rows()
	if v.Rows() != n || k.Cols() != c.kvDim || v.Cols() != c.kvDim || len(pos) != n {
		panic(fmt.Sprintf("kvcache: append %dx%d / %dx%d with %d positions to width %d", k.Rows(), k.Cols(), v.Rows(), v.Cols(), len(pos), c.kvDim))
	}
	ly := &c.layers[l]
	if ly.k == nil || ly.n+n > ly.k.Rows() {
		c.realloc(ly, ly.n+n+c.reserve)
	}
	c.b.Copy(c.b.View(ly.k, ly.n, n), k)
	c.b.Copy(c.b.View(ly.v, ly.n, n), v)
	ly.n += n
	c.positions[l] = append(c.positions[l], pos...)
	c.att.grow(l, n)
}

// AppendBatch adds one token to layer l of each cache, the token of
// caches[i] at position pos[i]: kv holds the n = len(caches) new keys,
// then the n new values (2n rows of the caches' width), and reaches the
// caches' free rows in one backend.ScatterRows (a batched decode step).
func AppendBatch(b backend.Backend, caches []*Cache, l int, kv backend.Tensor, pos []int32) {
	n := len(caches)
	if kv.Rows() != 2*n || len(pos) != n {
		panic(fmt.Sprintf("kvcache: batch append of %d rows with %d positions to %d caches", kv.Rows(), len(pos), n))
	}
	dst := make([]backend.Tensor, 2*n)
	for i, c := range caches {
		dst[i], dst[n+i] = c.Reserve(l, 1)
	}
	backend.ScatterRows(b, dst, kv)
	for i, c := range caches {
		c.Commit(l, pos[i:i+1])
	}
}

// realloc moves layer ly's tokens to new storage of capacity rows.
func (c *Cache) realloc(ly *layer, capacity int) {
	k, v := c.b.New(capacity, c.kvDim), c.b.New(capacity, c.kvDim)
	if ly.k != nil {
		if ly.n > 0 {
			c.b.Copy(c.b.View(k, 0, ly.n), c.b.View(ly.k, 0, ly.n))
			c.b.Copy(c.b.View(v, 0, ly.n), c.b.View(ly.v, 0, ly.n))
		}
		c.b.Free(ly.k)
		c.b.Free(ly.v)
	}
	ly.k, ly.v = k, v
}

// KV returns views of the keys and values cached at layer l.
func (c *Cache) KV(l int) (k, v backend.Tensor) {
	ly := &c.layers[l]
	return c.b.View(ly.k, 0, ly.n), c.b.View(ly.v, 0, ly.n)
}

// ElemBytes is the size of one cached element on the cache's backend.
func (c *Cache) ElemBytes() int { return ElemBytes(c.b) }

// ElemBytes is the size of one cached element on backend b.
func ElemBytes(b backend.Backend) int {
	if s, ok := b.(ActivationSizer); ok {
		return s.ActivationBytes()
	}
	return 4
}

// Bytes returns the bytes that keys and values of width kvDim take for
// tokens cached tokens (summed over layers) on backend b.
func Bytes(b backend.Backend, kvDim, tokens int) int64 {
	return int64(tokens) * int64(kvDim) * 2 * int64(ElemBytes(b))
}

// CapacityBytes returns the bytes of key and value storage the cache
// holds, spare rows included: what it takes from the backend's memory.
func (c *Cache) CapacityBytes() int64 {
	rows := 0
	for _, ly := range c.layers {
		if ly.k != nil {
			rows += ly.k.Rows()
		}
	}
	return Bytes(c.b, c.kvDim, rows)
}

// LayerBytes returns the bytes of keys and values held for the cached
// tokens of layer l (not counting spare capacity).
func (c *Cache) LayerBytes(l int) int64 {
	return int64(c.layers[l].n) * int64(c.kvDim) * 2 * int64(c.ElemBytes())
}

// Tokens returns the cached token count of every layer.
func (c *Cache) Tokens() []int {
	out := make([]int, len(c.layers))
	for i := range c.layers {
		out[i] = c.layers[i].n
	}
	return out
}

// Bytes returns the total bytes of keys and values for the cached tokens.
func (c *Cache) Bytes() int64 {
	var s int64
	for l := range c.layers {
		s += c.LayerBytes(l)
	}
	return s
}

// Free releases the cache's storage.
func (c *Cache) Free() {
	for i := range c.layers {
		if c.layers[i].k != nil {
			c.b.Free(c.layers[i].k)
			c.b.Free(c.layers[i].v)
		}
		c.layers[i] = layer{}
		c.positions[i] = nil
	}
	c.att.free(c.b)
}
