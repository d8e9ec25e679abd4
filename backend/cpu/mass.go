package cpu

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

var _ backend.AttentionMasser = (*Backend)(nil)

// AttentionMass sets mass[j] to the attention weight key j receives,
// summed over the queries and the query heads (see
// backend.AttentionMasser). It runs Attention's tasks up to the softmax
// (the same scores and weights, from the same kernels), each adding its
// rows' weights into its worker's float64 sums, which are added up at the
// end; the values are never read.
func (b *Backend) AttentionMass(mass, q, k backend.Tensor, s backend.AttentionShape) {
	mt, qt, kt := asTensor(mass), asTensor(q), asTensor(k)
	h, g, hd := s.Heads, s.KVHeads, s.HeadDim
	if h <= 0 || g <= 0 || hd <= 0 || h%g != 0 || qt.cols != h*hd || kt.cols != g*hd || kt.rows < qt.rows ||
		mt.rows != kt.rows || mt.cols != 1 {
		panic(fmt.Sprintf("cpu backend: AttentionMass into %d×%d of q %d×%d over k %d×%d for shape %+v", mt.rows, mt.cols, qt.rows, qt.cols, kt.rows, kt.cols, s))
	}
	defer b.lock()()
	if qt.rows == 0 {
		clear(mt.data)
		return
	}
	m := &massSums{b: b, nk: kt.rows, used: make([]bool, b.threads)}
	b.attend(&attention{b: b, k: b.k, q: qt, kt: kt, s: s, mass: m}, nil)
	total := make([]float64, m.nk)
	for w, ok := range m.used {
		if ok {
			for j, v := range b.scratch64[w][:m.nk] {
				total[j] += v
			}
		}
	}
	for j, v := range total {
		mt.data[j] = float32(v)
	}
}

// massSums are AttentionMass's per-worker sums, in the workers' float64
// scratch.
type massSums struct {
	b    *Backend
	nk   int
	used []bool // workers whose scratch holds sums of this call
}

// add adds the attention weights of a task's score rows (exp values,
// each row to be scaled by inv[r]) to worker's sums; rowKeys(r, 1) is the
// number of keys row r sees.
func (m *massSums) add(worker int, sc []float32, ldS int, inv []float32, rowKeys func(r, n int) int) {
	sums := m.b.workerScratch64(worker, m.nk)
	if !m.used[worker] {
		m.used[worker] = true
		clear(sums)
	}
	for r, w := range inv {
		for j, p := range sc[r*ldS : r*ldS+rowKeys(r, 1)] {
			sums[j] += float64(p * w)
		}
	}
}
