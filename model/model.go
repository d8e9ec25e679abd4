package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/kvcache"
)

// Layer holds the weights of one decoder block. Bq, Bk, Bv are nil unless
// the config has QKV biases.
type Layer = Block[backend.Weight]

// Model is a loaded decoder on one backend.
type Model struct {
	Config Config
	B      backend.Backend
	Weights[backend.Weight]
	invFreq []float32
	// closers release what the weights borrow (mapped files), after the weights.
	closers []io.Closer
	weights []backend.Weight

	// spare holds decode-step workspaces (at most spareRows rows) for
	// reuse, so a decode step allocates nothing; Forward and Decode may
	// run on several goroutines at once.
	mu    sync.Mutex
	spare []*workspace
}

// maxSpare bounds the decode workspaces kept for reuse; spareRows is the
// largest row capacity kept (a batched decode step's rows).
const (
	maxSpare  = 4
	spareRows = 64
)

// workspaceFor returns a workspace for n rows: for a decode step (few
// rows, the default MLP chunk) a kept one that is large enough, else a
// new one, its capacity rounded up to a power of two so that batches of
// changing size reuse it.
func (m *Model) workspaceFor(n, chunk int) *workspace {
	if n > spareRows || chunk != 0 {
		return newWorkspace(m.B, &m.Config, n, chunk)
	}
	m.mu.Lock()
	best := -1
	for i, w := range m.spare {
		if c := w.x.Rows(); c >= n && (best < 0 || c < m.spare[best].x.Rows()) {
			best = i
		}
	}
	if best >= 0 {
		w := m.spare[best]
		m.spare = append(m.spare[:best], m.spare[best+1:]...)
		m.mu.Unlock()
		return w
	}
	m.mu.Unlock()
	capacity := 1
	for capacity < n {
		capacity *= 2
	}
	return newWorkspace(m.B, &m.Config, capacity, 0)
}

// release keeps a decode-step workspace for the next step, or frees it.
func (m *Model) release(w *workspace) {
	if w.x.Rows() <= spareRows && w.chunk == w.x.Rows() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.spare) < maxSpare {
			m.spare = append(m.spare, w)
			return
		}
	}
	w.free()
}

// Close releases the weights and the files they were read from.
func (m *Model) Close() error {
	m.mu.Lock()
	for _, w := range m.spare {
		w.free()
	}
	m.spare = nil
	m.mu.Unlock()
	for _, w := range m.weights {
		m.B.FreeWeight(w)
	}
	m.weights = nil
	var first error
	for _, c := range m.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	m.closers = nil
	return first
}

// NewCache makes an empty KV cache for this model with room for reserve
// decode steps beyond the first fill of each layer.
func (m *Model) NewCache(reserve int) *kvcache.Cache {
	return kvcache.New(m.B, m.Config.Layers, m.Config.KVDim(), reserve)
}

// Pruner decides, before each decoder block, which of the alive tokens go
// on. The model calls it during prefill only.
type Pruner interface {
	// Keep is called with the hidden states (one row per alive token) and
	// the original position ids of the tokens entering block layer, and the
	// prompt length. It returns the ascending row indices to keep, or nil to
	// keep every row.
	Keep(ctx context.Context, b backend.Backend, layer int, hidden backend.Tensor, pos []int32, promptLen int) ([]int32, error)
}

// ForwardOptions select what a forward pass computes.
type ForwardOptions struct {
	// Pruner, when not nil, may drop tokens between blocks (prefill only).
	Pruner Pruner
	// AllLogits computes logits for every row alive after the last block
	// (every input row without a pruner), in order, instead of only the
	// last. Which original positions those rows hold is the pruner's to
	// track (it chose them).
	AllLogits bool
	// RowLogits, with AllLogits, receives the logits of consecutive row
	// blocks (first row index, rows×vocab values, valid only during the
	// call) instead of Forward returning them all: long prompts then never
	// hold rows×vocab floats at once. Forward returns only the last row.
	RowLogits func(first int, logits []float32) error
	// Alive, when not nil, receives the number of tokens entering each block.
	Alive []int
	// MLPChunk bounds the rows the MLP processes at once (0: 4096).
	MLPChunk int
}

// Forward runs ids at the given position ids through the model, appending
// their keys and values to cache (which may already hold earlier tokens),
// and returns the logits of the last row (1×vocab, or rows×vocab with
// AllLogits) copied to the host. With a pruner the rows shrink between
// blocks; the returned last row is always the last input token, which the
// schedule protects. When cache tracks attention (kvcache.TrackAttention),
// the attention mass each cached token received in the pass, at every
// layer, is added to its score.
func (m *Model) Forward(ctx context.Context, ids []int, pos []int32, cache *kvcache.Cache, o ForwardOptions) ([]float32, error) {
	c := &m.Config
	b := m.B
	n := len(ids)
	if n == 0 {
		return nil, fmt.Errorf("forward: no tokens")
	}
	if len(pos) != n {
		return nil, fmt.Errorf("forward: %d ids but %d positions", n, len(pos))
	}
	for _, id := range ids {
		if id < 0 || id >= c.Vocab {
			return nil, fmt.Errorf("forward: token id %d outside the vocabulary (size %d)", id, c.Vocab)
		}
	}
	if err := m.CheckRoom(cache, n); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	if o.Alive != nil && len(o.Alive) != c.Layers {
		return nil, fmt.Errorf("forward: Alive has %d entries for %d layers", len(o.Alive), c.Layers)
	}
	ids32 := make([]int32, n)
	for i, id := range ids {
		ids32[i] = int32(id)
	}
	w := m.workspaceFor(n, o.MLPChunk)
	defer m.release(w)
	w.pending = nil

	idsDev := b.Ints(ids32)
	b.Embed(w.rows(w.x, n), m.Embed, idsDev)
	b.FreeInts(idsDev)

	pos = append([]int32(nil), pos...)
	posDev := b.Ints(pos)
	defer func() { b.FreeInts(posDev) }()

	attn := m.attentionShape()
	for l := range m.Layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if o.Pruner != nil {
			m.flush(w, n)
			keep, err := o.Pruner.Keep(ctx, b, l, w.rows(w.x, n), pos, len(ids))
			if err != nil {
				return nil, fmt.Errorf("pruning before block %d: %w", l, err)
			}
			if keep != nil && len(keep) < n {
				if err := checkKeep(keep, n); err != nil {
					return nil, fmt.Errorf("pruning before block %d: %w", l, err)
				}
				n = m.gather(w, keep, n)
				newPos := make([]int32, len(keep))
				for i, k := range keep {
					newPos[i] = pos[k]
				}
				pos = newPos
				b.FreeInts(posDev)
				posDev = b.Ints(pos)
			}
		}
		if o.Alive != nil {
			o.Alive[l] = n
		}
		m.block(w, &m.Layers[l], l, n, pos, posDev, []*kvcache.Cache{cache}, attn)
	}
	if err := b.Sync(); err != nil {
		return nil, err
	}
	cache.AddMass()
	m.flush(w, n)
	return m.logits(w, n, o.AllLogits, o.RowLogits)
}

// Decode runs one decode step of several sequences at once: token ids[i],
// at position pos[i], joins caches[i] (sequence i's own cache, of its own
// length at each layer) and attends to it. Every weight multiplies all
// rows in one product; attention runs per sequence
// (backend.DecodeAttention). It returns the logits, len(ids)×vocab, on the
// host. On a backend that computes each row of a product on its own (the
// CPU, up to 16 rows) row i equals, bit for bit, what Forward gives for
// sequence i alone.
func (m *Model) Decode(ctx context.Context, ids []int, pos []int32, caches []*kvcache.Cache) ([]float32, error) {
	c := &m.Config
	n := len(ids)
	switch {
	case n == 0:
		return nil, fmt.Errorf("decode: no sequences")
	case len(pos) != n || len(caches) != n:
		return nil, fmt.Errorf("decode: %d ids, %d positions and %d caches", n, len(pos), len(caches))
	}
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return nil, fmt.Errorf("decode: token id %d of sequence %d outside the vocabulary (size %d)", id, i, c.Vocab)
		}
		if err := m.CheckRoom(caches[i], 1); err != nil {
			return nil, fmt.Errorf("decode: sequence %d: %w", i, err)
		}
	}
	if n == 1 {
		return m.Forward(ctx, ids, pos, caches[0], ForwardOptions{})
	}
	ids32 := make([]int32, n)
	for i, id := range ids {
		ids32[i] = int32(id)
	}
	b := m.B
	w := m.workspaceFor(n, 0)
	defer m.release(w)
	w.pending = nil
	idsDev := b.Ints(ids32)
	b.Embed(w.rows(w.x, n), m.Embed, idsDev)
	b.FreeInts(idsDev)
	posDev := b.Ints(pos)
	defer b.FreeInts(posDev)
	attn := m.attentionShape()
	for l := range m.Layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m.block(w, &m.Layers[l], l, n, pos, posDev, caches, attn)
	}
	if err := b.Sync(); err != nil {
		return nil, err
	}
	for _, c := range caches {
		c.AddMass()
	}
	m.flush(w, n)
	return m.logits(w, n, true, nil)
}

func (m *Model) attentionShape() backend.AttentionShape {
	c := &m.Config
	return backend.AttentionShape{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: float32(1 / math.Sqrt(float64(c.HeadDim)))}
}

// CheckRoom returns an error wrapping ErrTooLong when n more tokens of
// cache's sequence would pass the model's sliding window.
func (m *Model) CheckRoom(cache *kvcache.Cache, n int) error {
	if w := m.Config.SlidingWindow; w > 0 && cache.Len(0)+n > w {
		return fmt.Errorf("%d tokens exceed the sliding window of %d, which sdtp does not implement: %w", cache.Len(0)+n, w, ErrTooLong)
	}
	return nil
}

// ErrTooLong marks input the model cannot take (beyond its positions or
// its sliding window); callers can tell it apart from device failures.
var ErrTooLong = errors.New("input too long for the model")

func checkKeep(keep []int32, n int) error {
	for i, k := range keep {
		if k < 0 || int(k) >= n || (i > 0 && k <= keep[i-1]) {
			return fmt.Errorf("keep indices must be ascending and within [0,%d): got %d at %d", n, k, i)
		}
	}
	return nil
}

// gather keeps only the rows keep of the hidden states; it returns the new row count.
func (m *Model) gather(w *workspace, keep []int32, n int) int {
	b := m.B
	idx := b.Ints(keep)
	dst := w.rows(w.h, len(keep))
	b.Gather(dst, w.rows(w.x, n), idx)
	b.FreeInts(idx)
	b.Copy(w.rows(w.x, len(keep)), dst)
	return len(keep)
}

// block runs one decoder block on the first n rows of w.x in place. The
// rows are one sequence whose cache is caches[0] (prefill, or one decode
// step), or, with n caches, row i is the decode token of the sequence
// whose cache is caches[i]. A cache that tracks attention gets the
// attention mass its tokens received written to its MassRows.
func (m *Model) block(w *workspace, ly *Layer, l, n int, pos []int32, posDev backend.Ints, caches []*kvcache.Cache, attn backend.AttentionShape) {
	b, c := m.B, &m.Config
	x, h := w.rows(w.x, n), w.rows(w.h, n)
	q, a := w.rows(w.q, n), w.rows(w.a, n)
	eps := float32(c.NormEps)

	m.norm(w, h, x, ly.AttnNorm, eps)
	// One sequence's new keys and values go straight into its cache's free
	// rows; a batch's go to the workspace, then to each sequence's cache.
	one := len(caches) == 1
	var k, v backend.Tensor
	if one {
		k, v = caches[0].Reserve(l, n)
	} else {
		k, v = w.kv(n)
	}
	if f, ok := b.(backend.QKVer); ok {
		f.QKV(q, k, v, h, ly.Wq, ly.Wk, ly.Wv, ly.Bq, ly.Bk, ly.Bv)
	} else {
		b.MatMul(q, h, ly.Wq, ly.Bq)
		b.MatMul(k, h, ly.Wk, ly.Bk)
		b.MatMul(v, h, ly.Wv, ly.Bv)
	}
	b.RoPE(q, posDev, c.Heads, c.HeadDim, m.invFreq)
	b.RoPE(k, posDev, c.KVHeads, c.HeadDim, m.invFreq)
	if one {
		caches[0].Commit(l, pos)
		kAll, vAll := caches[0].KV(l)
		b.Attention(a, q, kAll, vAll, attn)
		if caches[0].TracksAttention() {
			backend.AttentionMass(b, caches[0].MassRows(l), q, kAll, attn)
		}
	} else {
		kvcache.AppendBatch(b, caches, l, w.rows(w.kvb, 2*n), pos)
		ks, vs := make([]backend.Tensor, n), make([]backend.Tensor, n)
		for i, cache := range caches {
			ks[i], vs[i] = cache.KV(l)
		}
		backend.DecodeAttention(b, a, q, ks, vs, attn)
		for i, cache := range caches {
			if cache.TracksAttention() {
				backend.AttentionMass(b, cache.MassRows(l), b.View(q, i, 1), ks[i], attn)
			}
		}
	}
	b.MatMul(h, a, ly.Wo, nil)
	w.pending = h
	m.norm(w, h, x, ly.MLPNorm, eps)

	gu, fused := b.(backend.GateUpper)
	for r := 0; r < n; r += w.chunk {
		rc := min(w.chunk, n-r)
		hr, xr := b.View(h, r, rc), b.View(x, r, rc)
		g := w.rows(w.gate, rc)
		if fused {
			gu.GateUp(g, hr, ly.Gate, ly.Up)
		} else {
			u := w.rows(w.up, rc)
			b.MatMul(g, hr, ly.Gate, nil)
			b.MatMul(u, hr, ly.Up, nil)
			b.SiLUMul(g, g, u)
		}
		o := w.rows(w.q, rc) // free after attention; as wide as hidden only when QDim == Hidden
		if c.QDim() != c.Hidden {
			o = w.rows(w.o, rc)
		}
		b.MatMul(o, g, ly.Down, nil)
		if rc == n {
			w.pending = o // added to x by the next norm (or flush)
		} else {
			b.Add(xr, xr, o)
		}
	}
}

// norm sets dst = RMSNorm(x)·wt, first adding the pending residual delta
// into x (fused when the backend can).
func (m *Model) norm(w *workspace, dst, x backend.Tensor, wt backend.Weight, eps float32) {
	b := m.B
	if d := w.pending; d != nil {
		w.pending = nil
		if f, ok := b.(backend.AddRMSNormer); ok {
			f.AddRMSNorm(dst, x, d, wt, eps)
			return
		}
		b.Add(x, x, d)
	}
	b.RMSNorm(dst, x, wt, eps)
}

// flush adds the pending residual delta into the first n rows of w.x.
func (m *Model) flush(w *workspace, n int) {
	if d := w.pending; d != nil {
		w.pending = nil
		x := w.rows(w.x, n)
		m.B.Add(x, x, d)
	}
}

// logits applies the final norm and the classifier to the last row (or all
// rows) and copies the result to the host; with a row callback, blocks of
// rows go to it and only the last row is returned.
func (m *Model) logits(w *workspace, n int, all bool, each func(int, []float32) error) ([]float32, error) {
	b, c := m.B, &m.Config
	first := n - 1
	if all {
		first = 0
	}
	rows := n - first
	const chunk = 256
	var out, buf []float32
	if each == nil {
		out = make([]float32, rows*c.Vocab)
	} else {
		buf = make([]float32, min(chunk, rows)*c.Vocab)
	}
	if w.lg == nil || w.lg.Rows() < min(chunk, rows) {
		if w.lg != nil {
			b.Free(w.lg)
		}
		w.lg = b.New(min(chunk, rows), c.Vocab)
	}
	lg := w.lg
	for r := 0; r < rows; r += chunk {
		rc := min(chunk, rows-r)
		xr := b.View(w.x, first+r, rc)
		hr := b.View(w.h, 0, rc)
		b.RMSNorm(hr, xr, m.Norm, float32(c.NormEps))
		lr := b.View(lg, 0, rc)
		b.MatMul(lr, hr, m.LMHead, nil)
		if each == nil {
			b.ToHost(out[r*c.Vocab:(r+rc)*c.Vocab], lr)
			continue
		}
		dst := buf[:rc*c.Vocab]
		b.ToHost(dst, lr)
		if err := b.Sync(); err != nil {
			return nil, err
		}
		if err := each(first+r, dst); err != nil {
			return nil, err
		}
		if r+rc == rows {
			out = append([]float32(nil), dst[(rc-1)*c.Vocab:]...)
		}
	}
	if err := b.Sync(); err != nil {
		return nil, err
	}
	return out, nil
}

// workspace holds the activations of one forward pass, sized for its
// first (largest) row count.
type workspace struct {
	b           backend.Backend
	x, h, q, a  backend.Tensor
	gate, up, o backend.Tensor
	lg          backend.Tensor // logits rows, made when first needed
	kvb         backend.Tensor // a batched decode step's new keys, then values, made when first needed
	// pending is a residual delta not yet added to x: the last block's MLP
	// output, which the next norm adds (fused where the backend can).
	pending backend.Tensor
	chunk   int
	kvDim   int
}

func newWorkspace(b backend.Backend, c *Config, n, chunk int) *workspace {
	if chunk <= 0 {
		chunk = 4096
	}
	chunk = min(chunk, n)
	w := &workspace{b: b, chunk: chunk, kvDim: c.KVDim()}
	w.x = b.New(n, c.Hidden)
	w.h = b.New(max(n, 256), c.Hidden)
	w.q = b.New(n, c.QDim())
	w.a = b.New(n, c.QDim())
	w.gate = b.New(chunk, c.FFN)
	w.up = b.New(chunk, c.FFN)
	if c.QDim() != c.Hidden {
		w.o = b.New(chunk, c.Hidden)
	}
	return w
}

func (w *workspace) rows(t backend.Tensor, n int) backend.Tensor {
	if t.Rows() == n {
		return t
	}
	return w.b.View(t, 0, n)
}

// kv returns room for n batched keys and n values, rows [0, n) and
// [n, 2n) of w.kvb.
func (w *workspace) kv(n int) (k, v backend.Tensor) {
	if w.kvb == nil {
		w.kvb = w.b.New(2*w.x.Rows(), w.kvDim)
	}
	return w.b.View(w.kvb, 0, n), w.b.View(w.kvb, n, n)
}

func (w *workspace) free() {
	for _, t := range []backend.Tensor{w.x, w.h, w.q, w.a, w.gate, w.up, w.o, w.lg, w.kvb} {
		if t != nil {
			w.b.Free(t)
		}
	}
}
