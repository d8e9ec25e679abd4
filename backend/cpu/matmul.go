package cpu

import (
	"fmt"

	"github.com/sdtp/sdtp/backend"
)

// Blocking of the matrix product. A panel of panelRows weight rows stays in
// L2 while every x row passes by it; k is cut into chunks of at most
// maxChunk elements so that a block of x rows stays in L1.
const (
	panelRows = 128
	maxChunk  = 1024
	// gemvRows is the largest n handled as n dot products per weight row
	// (no widening of bf16/f16 weights into a buffer, one pass over w).
	// Each row of such a product is computed on its own, bit for bit as
	// in a one-row product, so a batched decode step of up to gemvRows
	// sequences gives each sequence exactly its batch-1 logits; the
	// blocked GEMM would be faster from about 8 rows on (BenchmarkGemvRows)
	// but sums in another order.
	gemvRows = 16
)

// MatMul sets dst = x·wᵀ (+ bias).
func (b *Backend) MatMul(dst, x backend.Tensor, w, bias backend.Weight) {
	d, xt, wt := asTensor(dst), asTensor(x), asWeight(w)
	checkMatMul(d, xt, wt)
	var bt *weight
	if bias != nil {
		bt = asWeight(bias)
		checkBias(bt, wt)
	}
	defer b.lock()()
	n, m := xt.rows, wt.rows
	if n == 0 || m == 0 {
		return
	}
	b.matMul(d, xt, wt, b.biasRow(b.sharedScratch(m), bt))
}

// matMul sets d = x·wᵀ + bias (bias widened, m floats) with the kernels
// that suit the number of rows.
func (b *Backend) matMul(d, x *tensor, w *weight, bias []float32) {
	if x.rows <= gemvRows {
		b.gemv(x, []gemvOut{{d, w, bias}})
	} else {
		b.gemm(d, x, w, bias)
	}
}

func checkMatMul(d, x *tensor, w *weight) {
	if x.cols != w.cols || d.rows != x.rows || d.cols != w.rows {
		panic(fmt.Sprintf("cpu backend: MatMul %d×%d · (%d×%d)ᵀ into %d×%d", x.rows, x.cols, w.rows, w.cols, d.rows, d.cols))
	}
}

func checkBias(bias, w *weight) {
	if bias.rows*bias.cols != w.rows {
		panic(fmt.Sprintf("cpu backend: MatMul bias %d×%d for %d outputs", bias.rows, bias.cols, w.rows))
	}
}

// biasRow fills dst with bias widened to float32, or zeros when bias is nil,
// and returns it.
func (b *Backend) biasRow(dst []float32, bias *weight) []float32 {
	if bias != nil {
		b.k.widenRow(dst, bias, 0, 0)
	} else {
		clear(dst)
	}
	return dst
}

// gemm computes dst = x·wᵀ + bias with the register-blocked nt kernel.
// Tasks are (weight panel, x row range) pairs and own disjoint parts of
// dst. A bf16/f16 panel is widened chunk by chunk into worker scratch.
func (b *Backend) gemm(d, x *tensor, w *weight, bias []float32) {
	n, k, m := x.rows, x.cols, w.rows
	kr := b.k.ntRows
	vec := b.k.vec
	// k chunks: equal sizes, multiples of vec, the last one shorter.
	chunks := (k + maxChunk - 1) / maxChunk
	kc := max(vec, (k+chunks-1)/chunks)
	kc = (kc + vec - 1) / vec * vec
	panels := (m + panelRows - 1) / panelRows
	// Split x rows too when there are few panels, so every worker has work.
	groups := max(1, min((b.threads*4+panels-1)/panels, n/(kr*4)))
	groupRows := ((n+groups-1)/groups + kr - 1) / kr * kr
	groups = (n + groupRows - 1) / groupRows

	b.parallel(panels*groups, func(worker, t int) {
		p, g := t/groups, t%groups
		c0, c1 := p*panelRows, min(m, (p+1)*panelRows)
		r0, r1 := g*groupRows, min(n, (g+1)*groupRows)
		for r := r0; r < r1; r++ {
			copy(d.row(r)[c0:c1], bias[c0:c1])
		}
		for k0 := 0; k0 < k; k0 += kc {
			k1 := min(k, k0+kc)
			var wp []float32 // panel rows c0..c1, columns k0..k1
			ldw := k
			if w.dt == backend.F32 {
				wp = w.f32[c0*k+k0 : (c1-1)*k+k1]
			} else {
				ldw = k1 - k0
				wp = b.workerScratch(worker, (c1-c0)*ldw)
				for c := c0; c < c1; c++ {
					b.k.widenRow(wp[(c-c0)*ldw:(c-c0+1)*ldw], w, c, k0)
				}
			}
			b.gemmBlock(d, x, wp, ldw, r0, r1, c0, c1, k0, k1)
		}
	})
}

// gemmBlock adds x[r0:r1, k0:k1]·wp[:, 0:k1-k0]ᵀ to dst[r0:r1, c0:c1], where
// wp row c-c0 (stride ldw) holds weight row c from column k0.
func (b *Backend) gemmBlock(d, x *tensor, wp []float32, ldw, r0, r1, c0, c1, k0, k1 int) {
	k, m := x.cols, d.cols
	kr := b.k.ntRows
	kl := k1 - k0
	kv := kl / b.k.vec * b.k.vec
	r := r0
	for ; r+kr <= r1; r += kr {
		c := c0
		for ; c+4 <= c1; c += 4 {
			wc := (c - c0) * ldw
			if kv > 0 {
				b.k.nt(&x.data[r*k+k0], k, &wp[wc], ldw, kv, &d.data[r*m+c], m)
			}
			if kv < kl {
				for rr := r; rr < r+kr; rr++ {
					xr := x.data[rr*k+k0+kv : rr*k+k1]
					for q := range 4 {
						d.data[rr*m+c+q] += dotGo(xr, wp[wc+(q*ldw)+kv:])
					}
				}
			}
		}
		for ; c < c1; c++ {
			wr := wp[(c-c0)*ldw : (c-c0)*ldw+kl]
			for rr := r; rr < r+kr; rr++ {
				d.data[rr*m+c] += dotGo(x.data[rr*k+k0:rr*k+k1], wr)
			}
		}
	}
	// Rows left over: one x row against four weight rows at a time.
	var out [4]float32
	for ; r < r1; r++ {
		xr := x.data[r*k+k0 : r*k+k1]
		dr := d.data[r*m : (r+1)*m]
		c := c0
		for ; c+4 <= c1; c += 4 {
			wc := (c - c0) * ldw
			if kv > 0 {
				b.k.dot4F32(&xr[0], &wp[wc], ldw, kv, &out)
			} else {
				out = [4]float32{}
			}
			for q := range 4 {
				dr[c+q] += out[q] + dotGo(xr[kv:], wp[wc+q*ldw+kv:])
			}
		}
		for ; c < c1; c++ {
			dr[c] += dotGo(xr, wp[(c-c0)*ldw:])
		}
	}
}
