package cpu

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

var _ backend.AttentionMasser = (*Backend)(nil)

// massQueries is the number of queries one AttentionMass task takes.
const massQueries = 16

// AttentionMass sets mass[j] to the attention weight key j receives,
// summed over the queries and the query heads (see
// backend.AttentionMasser). A task is one key/value head and a block of
// queries: each (query, head) row gets its scores (the attention kernels'
// dot products), a max-subtracted softmax, and adds its weights into the
// worker's float64 sums, which are added up at the end.
func (b *Backend) AttentionMass(mass, q, k backend.Tensor, s backend.AttentionShape) {
	mt, qt, kt := asTensor(mass), asTensor(q), asTensor(k)
	h, g, hd := s.Heads, s.KVHeads, s.HeadDim
	if h <= 0 || g <= 0 || hd <= 0 || h%g != 0 || qt.cols != h*hd || kt.cols != g*hd || kt.rows < qt.rows ||
		mt.rows != kt.rows || mt.cols != 1 {
		panic(fmt.Sprintf("cpu backend: AttentionMass into %d×%d of q %d×%d over k %d×%d for shape %+v", mt.rows, mt.cols, qt.rows, qt.cols, kt.rows, kt.cols, s))
	}
	defer b.lock()()
	nq, nk := qt.rows, kt.rows
	if nq == 0 {
		clear(mt.data)
		return
	}
	group, off := h/g, nk-nq
	blocks := (nq + massQueries - 1) / massQueries
	used := make([]bool, b.threads)
	b.parallel(g*blocks, func(worker, t int) {
		gi, qb := t%g, blocks-1-t/g // latest queries (most keys) first
		sums := b.workerScratch64(worker, nk)
		if !used[worker] {
			used[worker] = true
			clear(sums)
		}
		sc := b.workerScratch(worker, nk)
		for i := qb * massQueries; i < min(nq, (qb+1)*massQueries); i++ {
			lim := off + i + 1 // keys seen
			for hh := range group {
				qi := qt.row(i)[(gi*group+hh)*hd:][:hd]
				b.scores(sc[:lim], qi, kt, gi*hd)
				row := sc[:lim]
				var top float32
				if s.Scale >= 0 {
					top = b.k.maxOf(row) * s.Scale
				} else {
					top = minOf(row) * s.Scale
				}
				inv := 1 / float64(b.k.expScaleSum(row, s.Scale, top))
				for j, p := range row {
					sums[j] += float64(p) * inv
				}
			}
		}
	})
	total := make([]float64, nk)
	for w, ok := range used {
		if ok {
			for j, v := range b.scratch64[w][:nk] {
				total[j] += v
			}
		}
	}
	for j, v := range total {
		mt.data[j] = float32(v)
	}
}

// scores sets dst[j] to q·k_j over the head of k starting at column col,
// for the first len(dst) keys.
func (b *Backend) scores(dst, q []float32, k *tensor, col int) {
	hd := len(q)
	j := 0
	if hd%b.k.vec == 0 {
		var out [4]float32
		for ; j+4 <= len(dst); j += 4 {
			b.k.dot4F32(&q[0], &k.data[j*k.cols+col], k.cols, hd, &out)
			copy(dst[j:j+4], out[:])
		}
	}
	for ; j < len(dst); j++ {
		dst[j] = dotGo(q, k.row(j)[col:col+hd])
	}
}
