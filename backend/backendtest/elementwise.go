package backendtest

import (
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// elementShapes are the shapes of the element-wise op tests.
var elementShapes = [][2]int{{1, 1}, {3, 17}, {17, 257}, {64, 1000}, {2, 4099}}

func (s *suite) testRMSNorm(t *testing.T) {
	for i, sh := range [][2]int{{1, 1}, {3, 17}, {17, 896}, {5, 1030}} {
		rows, cols := sh[0], sh[1]
		for _, dt := range dtypes {
			view := (i+int(dt))%2 == 1
			eps := []float32{1e-6, 1e-5}[i%2]
			what := name("RMSNorm %d×%d %s eps %v view %v", rows, cols, dt, eps, view)
			xv := s.normals(rows*cols, 2)
			xv[0] *= 1e-3 // a small row start: eps matters less than the sum
			x := s.upload(xv, rows, cols, view)
			w, hw := s.weight(t, dt, 1, cols, 1)
			d := s.poisoned(rows, cols, view)
			s.b.RMSNorm(d.t, x.t, w, eps)
			ref := make([]float64, rows*cols)
			for r := range rows {
				var ss float64
				for _, v := range xv[r*cols : (r+1)*cols] {
					ss += float64(v) * float64(v)
				}
				inv := 1 / math.Sqrt(ss/float64(cols)+float64(eps))
				for c := range cols {
					ref[r*cols+c] = float64(xv[r*cols+c]) * inv * hw.vals[c]
				}
			}
			expect(t, what, d.read(t, s.b, what), ref, s.weightTol(dt))
			d.free(s.b)
			x.free(s.b)
			s.b.FreeWeight(w)
		}
	}
}

// ropeFreqs returns theta^(-2j/headDim) for j < headDim/2, in float32.
func ropeFreqs(headDim int, theta float64) []float32 {
	f := make([]float32, headDim/2)
	for j := range f {
		f[j] = float32(math.Pow(theta, -float64(2*j)/float64(headDim)))
	}
	return f
}

// testRoPE checks both layouts at arbitrary, non-contiguous positions. The
// reference angle is the float32 product pos·invFreq[j] (as Hugging Face
// computes it), its cosine and sine taken in float64.
func (s *suite) testRoPE(t *testing.T) {
	cases := []struct {
		rows, heads, headDim int
		theta                float64
	}{
		{1, 1, 2, 10000},
		{3, 2, 8, 10000},
		{17, 4, 64, 1e6},
		{6, 3, 128, 500000},
		{33, 14, 64, 1e6},
	}
	for _, tc := range cases {
		for _, view := range []bool{false, true} {
			what := name("RoPE rows %d heads %d×%d theta %v view %v", tc.rows, tc.heads, tc.headDim, tc.theta, view)
			cols := tc.heads * tc.headDim
			xv := s.normals(tc.rows*cols, 1)
			pos := make([]int32, tc.rows)
			p := int32(s.rng.IntN(5))
			for r := range pos {
				pos[r] = p
				p += 1 + int32(s.rng.IntN(700)) // gaps, as after pruning
			}
			if tc.rows > 2 {
				pos[1] = pos[0] // a repeated position is legal too
			}
			freqs := ropeFreqs(tc.headDim, tc.theta)
			x := s.upload(xv, tc.rows, cols, view)
			pv := s.b.Ints(pos)
			s.b.RoPE(x.t, pv, tc.heads, tc.headDim, freqs)
			ref := make([]float64, len(xv))
			half := tc.headDim / 2
			for r := range tc.rows {
				for h := range tc.heads {
					base := r*cols + h*tc.headDim
					for j := range half {
						a, b := base+j, base+j+half
						sin, cos := math.Sincos(float64(float32(pos[r]) * freqs[j]))
						x0, x1 := float64(xv[a]), float64(xv[b])
						ref[a] = x0*cos - x1*sin
						ref[b] = x1*cos + x0*sin
					}
				}
			}
			expect(t, what, x.read(t, s.b, what), ref, s.tol())
			x.free(s.b)
			s.b.FreeInts(pv)
		}
	}
}

// elementCase runs op on random inputs of every element shape and compares
// with ref applied element-wise.
func (s *suite) elementCase(t *testing.T, op string, inputs int, sd float64, run func(dst backend.Tensor, in []backend.Tensor), ref func(in []float64) float64) {
	for i, sh := range elementShapes {
		rows, cols := sh[0], sh[1]
		view := i%2 == 1
		what := name("%s %d×%d view %v", op, rows, cols, view)
		vals := make([][]float32, inputs)
		ops := make([]*operand, inputs)
		ts := make([]backend.Tensor, inputs)
		for j := range inputs {
			vals[j] = s.normals(rows*cols, sd)
			ops[j] = s.upload(vals[j], rows, cols, view)
			ts[j] = ops[j].t
		}
		d := s.poisoned(rows, cols, view)
		run(d.t, ts)
		want := make([]float64, rows*cols)
		args := make([]float64, inputs)
		for e := range want {
			for j := range inputs {
				args[j] = float64(vals[j][e])
			}
			want[e] = ref(args)
		}
		expect(t, what, d.read(t, s.b, what), want, s.tol())
		d.free(s.b)
		for _, o := range ops {
			o.free(s.b)
		}
	}
}

func (s *suite) testSiLUMul(t *testing.T) {
	silu := func(in []float64) float64 { return in[0] / (1 + math.Exp(-in[0])) * in[1] }
	s.elementCase(t, "SiLUMul", 2, 3, func(d backend.Tensor, in []backend.Tensor) { s.b.SiLUMul(d, in[0], in[1]) }, silu)
	// Large magnitudes: exp over- and underflow must not leak.
	s.elementCase(t, "SiLUMul (large)", 2, 60, func(d backend.Tensor, in []backend.Tensor) { s.b.SiLUMul(d, in[0], in[1]) }, silu)
}

func (s *suite) testGELU(t *testing.T) {
	gelu := func(in []float64) float64 { return 0.5 * in[0] * (1 + math.Erf(in[0]/math.Sqrt2)) }
	s.elementCase(t, "GELU", 1, 2, func(d backend.Tensor, in []backend.Tensor) { s.b.GELU(d, in[0]) }, gelu)
	s.elementCase(t, "GELU (large)", 1, 40, func(d backend.Tensor, in []backend.Tensor) { s.b.GELU(d, in[0]) }, gelu)
}

func (s *suite) testAdd(t *testing.T) {
	add := func(in []float64) float64 { return in[0] + in[1] }
	s.elementCase(t, "Add", 2, 1, func(d backend.Tensor, in []backend.Tensor) { s.b.Add(d, in[0], in[1]) }, add)
	// dst may be either input.
	for _, into := range []int{0, 1} {
		const rows, cols = 5, 77
		a, b := s.normals(rows*cols, 1), s.normals(rows*cols, 1)
		oa, ob := s.upload(a, rows, cols, false), s.upload(b, rows, cols, false)
		ta, tb := oa.t, ob.t
		dst := []backend.Tensor{ta, tb}[into]
		s.b.Add(dst, ta, tb)
		got := make([]float32, rows*cols)
		s.b.ToHost(got, dst)
		want := make([]float64, rows*cols)
		for i := range want {
			want[i] = float64(a[i]) + float64(b[i])
		}
		expect(t, name("Add into input %d", into), got, want, s.tol())
		s.b.Free(ta)
		s.b.Free(tb)
	}
}

func (s *suite) testCopy(t *testing.T) {
	s.elementCase(t, "Copy", 1, 5, func(d backend.Tensor, in []backend.Tensor) { s.b.Copy(d, in[0]) },
		func(in []float64) float64 { return in[0] })
}

func (s *suite) testGather(t *testing.T) {
	cases := []struct {
		rows, cols int
		idx        []int32
	}{
		{1, 1, []int32{0}},
		{5, 17, []int32{4, 0, 0, 2, 4, 4}},
		{300, 896, []int32{299, 3, 150, 3, 0}},
		{40, 64, []int32{}},
	}
	for i, tc := range cases {
		view := i%2 == 0
		what := name("Gather %v of %d×%d view %v", tc.idx, tc.rows, tc.cols, view)
		xv := s.normals(tc.rows*tc.cols, 1)
		x := s.upload(xv, tc.rows, tc.cols, view)
		iv := s.b.Ints(tc.idx)
		d := s.poisoned(len(tc.idx), tc.cols, view)
		s.b.Gather(d.t, x.t, iv)
		ref := make([]float64, 0, len(tc.idx)*tc.cols)
		for _, r := range tc.idx {
			ref = append(ref, widen(xv[int(r)*tc.cols:(int(r)+1)*tc.cols])...)
		}
		expect(t, what, d.read(t, s.b, what), ref, s.exactTol())
		d.free(s.b)
		x.free(s.b)
		s.b.FreeInts(iv)
	}
}
