// Package count wraps a backend.Backend to count the arithmetic and weight
// traffic of the ops it runs, for FLOP and bandwidth reports.
//
// Counting rule (the analytic FLOP model elsewhere must match it exactly):
//
//   - MatMul(dst, x, w, bias), x n×k, w m×k: 2·n·m·k FLOPs, plus n·m when
//     bias is not nil.
//   - Attention(dst, q, k, v, s), nq queries over nk keys: query i attends
//     the nk−nq+i+1 keys 0..nk−nq+i, and every (query head, attended key)
//     pair counts 2·HeadDim FLOPs for q·k and 2·HeadDim for p·v:
//     Heads·4·HeadDim·(nq·(nk−nq+1) + nq·(nq−1)/2). Scaling and softmax are
//     not counted.
//   - Weight bytes read: MatMul reads all of w and bias (rows·cols·dtype
//     size each); Embed reads one table row per id (repeated ids count
//     again); RMSNorm reads its weight.
//   - Every other op counts nothing.
//
// The wrapper implements only backend.Backend: optional interfaces of the
// inner backend (fused ops) are hidden, so a model takes its composed
// fallbacks and every op it runs is counted.
package count

import (
	"sync/atomic"

	"github.com/sdtp/sdtp/backend"
)

// Counts are the totals since the last Reset.
type Counts struct {
	// MatMulFLOPs and AttentionFLOPs follow the package's counting rule.
	MatMulFLOPs, AttentionFLOPs int64
	// MatMuls and Attentions are the numbers of calls.
	MatMuls, Attentions int64
	// WeightBytes is the weight data the ops read.
	WeightBytes int64
}

// FLOPs returns MatMulFLOPs + AttentionFLOPs.
func (c Counts) FLOPs() int64 { return c.MatMulFLOPs + c.AttentionFLOPs }

// Backend forwards every op to an inner backend and counts them. It is
// safe for concurrent use when the inner backend is.
type Backend struct {
	inner                       backend.Backend
	matmulFLOPs, attentionFLOPs atomic.Int64
	matmuls, attentions, wbytes atomic.Int64
}

// New wraps inner.
func New(inner backend.Backend) *Backend { return &Backend{inner: inner} }

// Inner returns the wrapped backend.
func (b *Backend) Inner() backend.Backend { return b.inner }

// Counts returns the totals since the last Reset.
func (b *Backend) Counts() Counts {
	return Counts{
		MatMulFLOPs:    b.matmulFLOPs.Load(),
		AttentionFLOPs: b.attentionFLOPs.Load(),
		MatMuls:        b.matmuls.Load(),
		Attentions:     b.attentions.Load(),
		WeightBytes:    b.wbytes.Load(),
	}
}

// Reset sets every count to zero.
func (b *Backend) Reset() {
	b.matmulFLOPs.Store(0)
	b.attentionFLOPs.Store(0)
	b.matmuls.Store(0)
	b.attentions.Store(0)
	b.wbytes.Store(0)
}

// MatMulFLOPs is the count of one MatMul of n×k by (m×k)ᵀ.
func MatMulFLOPs(n, k, m int, bias bool) int64 {
	f := 2 * int64(n) * int64(m) * int64(k)
	if bias {
		f += int64(n) * int64(m)
	}
	return f
}

// AttentionFLOPs is the count of one causal Attention of nq queries over
// nk keys (nk >= nq).
func AttentionFLOPs(nq, nk int, s backend.AttentionShape) int64 {
	q, k := int64(nq), int64(nk)
	pairs := q*(k-q+1) + q*(q-1)/2
	return int64(s.Heads) * 4 * int64(s.HeadDim) * pairs
}

func weightBytes(w backend.Weight) int64 {
	return int64(w.Rows()) * int64(w.Cols()) * int64(w.DType().Size())
}

// MatMul counts and forwards.
func (b *Backend) MatMul(dst, x backend.Tensor, w, bias backend.Weight) {
	b.matmuls.Add(1)
	b.matmulFLOPs.Add(MatMulFLOPs(x.Rows(), x.Cols(), w.Rows(), bias != nil))
	wb := weightBytes(w)
	if bias != nil {
		wb += weightBytes(bias)
	}
	b.wbytes.Add(wb)
	b.inner.MatMul(dst, x, w, bias)
}

// Attention counts and forwards.
func (b *Backend) Attention(dst, q, k, v backend.Tensor, s backend.AttentionShape) {
	b.attentions.Add(1)
	b.attentionFLOPs.Add(AttentionFLOPs(q.Rows(), k.Rows(), s))
	b.inner.Attention(dst, q, k, v, s)
}

// Embed counts the table rows read and forwards.
func (b *Backend) Embed(dst backend.Tensor, table backend.Weight, ids backend.Ints) {
	b.wbytes.Add(int64(ids.Len()) * int64(table.Cols()) * int64(table.DType().Size()))
	b.inner.Embed(dst, table, ids)
}

// RMSNorm counts its weight and forwards.
func (b *Backend) RMSNorm(dst, x backend.Tensor, w backend.Weight, eps float32) {
	b.wbytes.Add(weightBytes(w))
	b.inner.RMSNorm(dst, x, w, eps)
}

// Name returns the inner backend's name.
func (b *Backend) Name() string { return b.inner.Name() }

// Device returns the inner backend's device.
func (b *Backend) Device() string { return b.inner.Device() }

// NewWeight forwards.
func (b *Backend) NewWeight(dt backend.DType, rows, cols int, data []byte) (backend.Weight, error) {
	return b.inner.NewWeight(dt, rows, cols, data)
}

// RandomWeight forwards.
func (b *Backend) RandomWeight(dt backend.DType, rows, cols int, seed uint64, scale float32) (backend.Weight, error) {
	return b.inner.RandomWeight(dt, rows, cols, seed, scale)
}

// ConstWeight forwards.
func (b *Backend) ConstWeight(dt backend.DType, rows, cols int, v float32) (backend.Weight, error) {
	return b.inner.ConstWeight(dt, rows, cols, v)
}

// FreeWeight forwards.
func (b *Backend) FreeWeight(w backend.Weight) { b.inner.FreeWeight(w) }

// New forwards.
func (b *Backend) New(rows, cols int) backend.Tensor { return b.inner.New(rows, cols) }

// Free forwards.
func (b *Backend) Free(t backend.Tensor) { b.inner.Free(t) }

// View forwards.
func (b *Backend) View(t backend.Tensor, row, n int) backend.Tensor { return b.inner.View(t, row, n) }

// FromHost forwards.
func (b *Backend) FromHost(data []float32, rows, cols int) backend.Tensor {
	return b.inner.FromHost(data, rows, cols)
}

// ToHost forwards.
func (b *Backend) ToHost(dst []float32, t backend.Tensor) { b.inner.ToHost(dst, t) }

// Ints forwards.
func (b *Backend) Ints(v []int32) backend.Ints { return b.inner.Ints(v) }

// FreeInts forwards.
func (b *Backend) FreeInts(v backend.Ints) { b.inner.FreeInts(v) }

// RoPE forwards.
func (b *Backend) RoPE(x backend.Tensor, pos backend.Ints, heads, headDim int, invFreq []float32) {
	b.inner.RoPE(x, pos, heads, headDim, invFreq)
}

// SiLUMul forwards.
func (b *Backend) SiLUMul(dst, x, y backend.Tensor) { b.inner.SiLUMul(dst, x, y) }

// GELU forwards.
func (b *Backend) GELU(dst, x backend.Tensor) { b.inner.GELU(dst, x) }

// Add forwards.
func (b *Backend) Add(dst, x, y backend.Tensor) { b.inner.Add(dst, x, y) }

// Copy forwards.
func (b *Backend) Copy(dst, src backend.Tensor) { b.inner.Copy(dst, src) }

// Gather forwards.
func (b *Backend) Gather(dst, x backend.Tensor, idx backend.Ints) { b.inner.Gather(dst, x, idx) }

// Sync forwards.
func (b *Backend) Sync() error { return b.inner.Sync() }

// Memory forwards.
func (b *Backend) Memory() (used, peak int64) { return b.inner.Memory() }

// Close closes the inner backend.
func (b *Backend) Close() error { return b.inner.Close() }

var _ backend.Backend = (*Backend)(nil)
