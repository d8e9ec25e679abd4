package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sdtp/sdtp/train/internal/gradcheck"
)

func randVec(rng *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (2*rng.Float64() - 1) * scale
	}
	return v
}

// weighted returns Σ r_i·y_i, the scalar the checks differentiate (so the
// upstream gradient is r).
func weighted(r, y []float64) float64 { return dot(r, y) }

func TestLinearGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, k, m := 3, 5, 4
	x, w, b := randVec(rng, n*k, 1), randVec(rng, m*k, 1), randVec(rng, m, 1)
	r := randVec(rng, n*m, 1)
	y := make([]float64, n*m)
	f := func() float64 { Linear(y, x, w, b, n, k, m); return weighted(r, y) }
	dx, dw, db := make([]float64, n*k), make([]float64, m*k), make([]float64, m)
	LinearBackInput(dx, r, w, n, k, m)
	LinearBackParams(dw, db, r, x, n, k, m)
	gradcheck.Check(t, "dx", x, dx, f)
	gradcheck.Check(t, "dw", w, dw, f)
	gradcheck.Check(t, "db", b, db, f)
}

func TestLinearReference(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6}        // 2×3
	w := []float64{1, 0, -1, 0.5, 0.5, 0.5} // 2×3
	y := make([]float64, 4)
	Linear(y, x, w, []float64{10, 20}, 2, 3, 2)
	// Each output recomputed by hand from the definition y_ij = Σ_k x_ik·w_jk + b_j.
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			want := []float64{10, 20}[j]
			for k := 0; k < 3; k++ {
				want += x[i*3+k] * w[j*3+k]
			}
			if y[i*2+j] != want {
				t.Errorf("y[%d,%d] = %v, want %v", i, j, y[i*2+j], want)
			}
		}
	}
}

func TestRMSNormGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, d := 3, 6
	x, w, r := randVec(rng, n*d, 2), randVec(rng, d, 1), randVec(rng, n*d, 1)
	y := make([]float64, n*d)
	f := func() float64 { RMSNorm(y, x, w, n, d, 1e-5); return weighted(r, y) }
	dx := make([]float64, n*d)
	RMSNormBack(dx, r, x, w, n, d, 1e-5)
	gradcheck.Check(t, "dx", x, dx, f)
}

func TestRoPEGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 0))
	heads, hd := 2, 6
	pos := []int{0, 3, 7}
	inv := []float64{1, 0.1, 0.01}
	x, r := randVec(rng, len(pos)*heads*hd, 1), randVec(rng, len(pos)*heads*hd, 1)
	y := make([]float64, len(x))
	f := func() float64 { copy(y, x); RoPE(y, pos, heads, hd, inv); return weighted(r, y) }
	dx := append([]float64(nil), r...)
	RoPEBack(dx, pos, heads, hd, inv)
	gradcheck.Check(t, "dx", x, dx, f)
}

// TestRoPERotation checks RoPE against the rotation written out: pair j
// of each head, element j with j+d/2, turns by pos·invFreq[j].
func TestRoPERotation(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	heads, hd := 2, 4
	pos := []int{5}
	inv := []float64{0.3, 0.02}
	x := randVec(rng, heads*hd, 1)
	y := append([]float64(nil), x...)
	RoPE(y, pos, heads, hd, inv)
	for h := 0; h < heads; h++ {
		for j := 0; j < hd/2; j++ {
			a, b := j+h*hd, j+hd/2+h*hd
			th := float64(pos[0]) * inv[j]
			wa := x[a]*math.Cos(th) - x[b]*math.Sin(th)
			wb := x[a]*math.Sin(th) + x[b]*math.Cos(th)
			if math.Abs(y[a]-wa) > 1e-15 || math.Abs(y[b]-wb) > 1e-15 {
				t.Errorf("head %d pair %d: got (%v,%v), want (%v,%v)", h, j, y[a], y[b], wa, wb)
			}
		}
	}
}

func TestSiLUMulGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	n := 12
	a, b, r := randVec(rng, n, 4), randVec(rng, n, 2), randVec(rng, n, 1)
	y := make([]float64, n)
	f := func() float64 { SiLUMul(y, a, b); return weighted(r, y) }
	da, db := make([]float64, n), make([]float64, n)
	SiLUMulBack(da, db, r, a, b)
	gradcheck.Check(t, "da", a, da, f)
	gradcheck.Check(t, "db", b, db, f)
}

func TestGELUGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	x, r := randVec(rng, 12, 4), randVec(rng, 12, 1)
	y := make([]float64, 12)
	f := func() float64 { GELU(y, x); return weighted(r, y) }
	dx := make([]float64, 12)
	GELUBack(dx, r, x)
	gradcheck.Check(t, "dx", x, dx, f)
}

// attentionRef is causal masked attention written as directly as the
// definition reads (gated softmax per query and head), for checking
// Attention's values.
func attentionRef(q, k, v, keep []float64, n int, s AttnShape) []float64 {
	qw, kw := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	out := make([]float64, n*qw)
	for i := 0; i < n; i++ {
		for h := 0; h < s.Heads; h++ {
			kvh := h / (s.Heads / s.KVHeads)
			num := make([]float64, i+1)
			var den float64
			for j := 0; j <= i; j++ {
				var sc float64
				for d := 0; d < s.HeadDim; d++ {
					sc += q[i*qw+h*s.HeadDim+d] * k[j*kw+kvh*s.HeadDim+d]
				}
				g := 1.0
				if keep != nil && j != i {
					g = keep[j]
				}
				num[j] = g * math.Exp(s.Scale*sc)
				den += num[j]
			}
			for j := 0; j <= i; j++ {
				for d := 0; d < s.HeadDim; d++ {
					out[i*qw+h*s.HeadDim+d] += num[j] / den * v[j*kw+kvh*s.HeadDim+d]
				}
			}
		}
	}
	return out
}

func TestAttentionReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	s := AttnShape{Heads: 4, KVHeads: 2, HeadDim: 3, Scale: 1 / math.Sqrt(3)}
	n := 6
	q, k, v := randVec(rng, n*12, 1), randVec(rng, n*6, 1), randVec(rng, n*6, 1)
	for _, keep := range [][]float64{nil, {1, 0, 1, 0, 0, 1}, randVec(rng, n, 1)} {
		out := make([]float64, n*12)
		Attention(out, q, k, v, keep, n, s)
		want := attentionRef(q, k, v, keep, n, s)
		for i := range out {
			if math.Abs(out[i]-want[i]) > 1e-12 {
				t.Fatalf("keep %v: out[%d] = %v, want %v", keep, i, out[i], want[i])
			}
		}
	}
}

// TestAttentionDroppedKeyInvisible checks the pruning semantics: with a
// hard mask, every kept query's output equals attention over the kept
// tokens alone.
func TestAttentionDroppedKeyInvisible(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	s := AttnShape{Heads: 2, KVHeads: 1, HeadDim: 4, Scale: 0.5}
	n := 7
	keep := []float64{1, 0, 1, 1, 0, 0, 1}
	q, k, v := randVec(rng, n*8, 1), randVec(rng, n*4, 1), randVec(rng, n*4, 1)
	out := make([]float64, n*8)
	Attention(out, q, k, v, keep, n, s)
	var kq, kk, kv []float64
	var rows []int
	for j, g := range keep {
		if g == 1 {
			rows = append(rows, j)
			kq = append(kq, q[j*8:(j+1)*8]...)
			kk = append(kk, k[j*4:(j+1)*4]...)
			kv = append(kv, v[j*4:(j+1)*4]...)
		}
	}
	small := make([]float64, len(rows)*8)
	Attention(small, kq, kk, kv, nil, len(rows), s)
	for r, j := range rows {
		for d := 0; d < 8; d++ {
			if math.Abs(small[r*8+d]-out[j*8+d]) > 1e-13 {
				t.Fatalf("kept token %d: masked %v, pruned %v", j, out[j*8+d], small[r*8+d])
			}
		}
	}
}

func TestAttentionGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	s := AttnShape{Heads: 4, KVHeads: 2, HeadDim: 3, Scale: 1 / math.Sqrt(3)}
	n := 5
	for _, tc := range []struct {
		name string
		keep []float64
	}{{"nomask", nil}, {"hard", []float64{1, 0, 0, 1, 1}}, {"soft", []float64{0.9, 0.2, 0.5, 0.7, 0.4}}} {
		q, k, v := randVec(rng, n*12, 1), randVec(rng, n*6, 1), randVec(rng, n*6, 1)
		r := randVec(rng, n*12, 1)
		out := make([]float64, n*12)
		f := func() float64 { Attention(out, q, k, v, tc.keep, n, s); return weighted(r, out) }
		dq, dk, dv := make([]float64, n*12), make([]float64, n*6), make([]float64, n*6)
		var dkeep []float64
		if tc.keep != nil {
			dkeep = make([]float64, n)
		}
		AttentionBack(dq, dk, dv, dkeep, r, q, k, v, tc.keep, n, s)
		gradcheck.Check(t, tc.name+"/dq", q, dq, f)
		gradcheck.Check(t, tc.name+"/dk", k, dk, f)
		gradcheck.Check(t, tc.name+"/dv", v, dv, f)
		if tc.keep != nil {
			gradcheck.Check(t, tc.name+"/dkeep", tc.keep, dkeep, f)
		}
	}
}

func TestCrossEntropyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	x := randVec(rng, 7, 3)
	f := func() float64 { return 0.5 * CrossEntropy(nil, x, 4, 0) }
	d := make([]float64, 7)
	loss := CrossEntropy(d, x, 4, 0.5)
	gradcheck.Check(t, "dlogits", x, d, f)
	var z float64
	for _, v := range x {
		z += math.Exp(v)
	}
	if want := math.Log(z) - x[4]; math.Abs(loss-want) > 1e-12 {
		t.Errorf("loss %v, want %v", loss, want)
	}
}

func TestKeepDecisionGrad(t *testing.T) {
	for _, tc := range []struct{ keep, drop, gk, gd, tau float64 }{
		{0.3, -0.2, 0.1, 0.5, 1}, {2, 1, -0.3, 0.2, 0.5}, {-1, 1, 1.5, -0.5, 2},
	} {
		x := []float64{tc.keep, tc.drop}
		hard, soft := KeepDecision(x[0], x[1], tc.gk, tc.gd, tc.tau)
		if want := tc.keep+tc.gk > tc.drop+tc.gd; (hard == 1) != want || (soft > 0.5) != want {
			t.Errorf("%+v: hard %v soft %v", tc, hard, soft)
		}
		f := func() float64 { _, s := KeepDecision(x[0], x[1], tc.gk, tc.gd, tc.tau); return 1.7 * s }
		dk, dd := KeepDecisionBack(1.7, soft, tc.tau)
		gradcheck.Check(t, "dlogits", x, []float64{dk, dd}, f)
	}
}
