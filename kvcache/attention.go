package kvcache

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

// attention is the bookkeeping of a cache that tracks the attention its
// tokens receive: per layer and cached token the accumulated mass (host,
// float64), and the device rows the model writes each forward pass's mass
// into, layer l at rows [l·stride, l·stride+Len(l)) of one column.
type attention struct {
	scores  [][]float64
	mass    backend.Tensor // layers·stride × 1
	stride  int
	pending []bool // layers whose mass rows hold a pass's mass not yet added
	host    []float32
}

// TrackAttention makes the cache keep, for every layer and cached token,
// the attention mass the token has received (see backend.AttentionMass),
// summed over every forward pass that ran over the cache since: the model
// writes each pass's mass to MassRows and the cache adds it in AddMass.
// This is what attention-based eviction (H2O, package h2o) ranks tokens
// by. Tokens cached before the call start at 0. The scores are float64
// sums; a pass's mass has the backend's activation precision (bf16 on a
// GPU) before it is added.
func (c *Cache) TrackAttention() {
	if c.att != nil {
		return
	}
	c.att = &attention{scores: make([][]float64, len(c.layers)), pending: make([]bool, len(c.layers))}
	for l := range c.layers {
		c.att.scores[l] = make([]float64, c.layers[l].n)
	}
}

// TracksAttention reports whether TrackAttention was called.
func (c *Cache) TracksAttention() bool { return c.att != nil }

// Scores returns the attention mass accumulated by each token cached at
// layer l, in row order (nil without TrackAttention; do not modify).
func (c *Cache) Scores(l int) []float64 {
	if c.att == nil {
		return nil
	}
	return c.att.scores[l]
}

// MassRows returns the Len(l)×1 device rows where the model writes the
// attention mass layer l's tokens received in the current forward pass;
// AddMass adds them to the scores. It panics without TrackAttention.
func (c *Cache) MassRows(l int) backend.Tensor {
	a := c.att
	if a == nil {
		panic("kvcache: MassRows without TrackAttention")
	}
	n := c.layers[l].n
	if a.mass == nil || n > a.stride {
		c.growMass(max(n, 2*a.stride))
	}
	a.pending[l] = true
	return c.b.View(a.mass, l*a.stride, n)
}

// growMass moves the mass rows to a stride of stride, keeping what the
// layers of the current pass wrote.
func (c *Cache) growMass(stride int) {
	a := c.att
	m := c.b.New(len(c.layers)*stride, 1)
	if a.mass != nil {
		for l, p := range a.pending {
			if p && c.layers[l].n > 0 {
				n := min(c.layers[l].n, a.stride)
				c.b.Copy(c.b.View(m, l*stride, n), c.b.View(a.mass, l*a.stride, n))
			}
		}
		c.b.Free(a.mass)
	}
	a.mass, a.stride = m, stride
}

// AddMass adds the mass written to MassRows since the last call to each
// layer's scores (one copy to the host, which waits for queued work). The
// model calls it at the end of every forward pass.
func (c *Cache) AddMass() {
	a := c.att
	if a == nil || a.mass == nil {
		return
	}
	any := false
	for _, p := range a.pending {
		any = any || p
	}
	if !any {
		return
	}
	if len(a.host) != a.mass.Rows() {
		a.host = make([]float32, a.mass.Rows())
	}
	c.b.ToHost(a.host, a.mass)
	for l, p := range a.pending {
		if !p {
			continue
		}
		a.pending[l] = false
		sc := a.scores[l]
		if len(sc) != c.layers[l].n {
			panic(fmt.Sprintf("kvcache: layer %d has %d scores for %d tokens", l, len(sc), c.layers[l].n))
		}
		for j, v := range a.host[l*a.stride : l*a.stride+len(sc)] {
			sc[j] += float64(v)
		}
	}
}

// grow adds n zero scores at layer l (new tokens); a no-op when not tracking.
func (a *attention) grow(l, n int) {
	if a != nil {
		a.scores[l] = append(a.scores[l], make([]float64, n)...)
	}
}

func (a *attention) free(b backend.Backend) {
	if a == nil {
		return
	}
	if a.mass != nil {
		b.Free(a.mass)
		a.mass, a.stride = nil, 0
	}
	for l := range a.scores {
		a.scores[l] = nil
		a.pending[l] = false
	}
}
