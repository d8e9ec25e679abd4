package backendtest

import (
	"reflect"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// The optional fused ops (backend/fused.go) are checked against the
// composition of the basic ops on the same backend, each of which the
// rest of the suite checks against float64 references. A backend without
// an op skips its test.

// fusedNormShapes are the AddRMSNorm shapes: one row (decode) and several,
// rows whose length is and is not a multiple of 8.
var fusedNormShapes = [][2]int{{1, 1}, {1, 896}, {3, 17}, {4, 1030}, {2, 3584}}

// implements returns b as the optional interface I, or skips t when b does
// not implement it.
func implements[I any](t *testing.T, b backend.Backend) I {
	t.Helper()
	f, ok := b.(I)
	if !ok {
		t.Skipf("%s does not implement %v", b.Name(), reflect.TypeFor[I]())
	}
	return f
}

func (s *suite) testAddRMSNorm(t *testing.T) {
	f := implements[backend.AddRMSNormer](t, s.b)
	for i, sh := range fusedNormShapes {
		rows, cols := sh[0], sh[1]
		for _, dt := range dtypes {
			view := (i+int(dt))%2 == 1
			alias := (i+int(dt))%3 != 0 // dst is d, as the model calls it
			eps := []float32{1e-6, 1e-5}[i%2]
			what := name("AddRMSNorm %d×%d %s eps %v view %v dst=d %v", rows, cols, dt, eps, view, alias)
			xv, dv := s.normals(rows*cols, 2), s.normals(rows*cols, 1)
			w, _ := s.weight(t, dt, 1, cols, 1)

			// The composition: Add, then RMSNorm.
			x2, d2 := s.upload(append([]float32(nil), xv...), rows, cols, view), s.upload(append([]float32(nil), dv...), rows, cols, view)
			out2 := s.poisoned(rows, cols, view)
			s.b.Add(x2.t, x2.t, d2.t)
			s.b.RMSNorm(out2.t, x2.t, w, eps)
			wantX := widen(x2.read(t, s.b, what+" (composed x)"))
			wantOut := widen(out2.read(t, s.b, what+" (composed)"))

			x1, d1 := s.upload(xv, rows, cols, view), s.upload(dv, rows, cols, view)
			out1 := d1
			if !alias {
				out1 = s.poisoned(rows, cols, view)
			}
			f.AddRMSNorm(out1.t, x1.t, d1.t, w, eps)
			expect(t, what+" x", x1.read(t, s.b, what+" x"), wantX, s.exactTol())
			expect(t, what, out1.read(t, s.b, what), wantOut, s.weightTol(dt))

			for _, o := range []*operand{x1, d1, x2, d2, out2} {
				o.free(s.b)
			}
			if !alias {
				out1.free(s.b)
			}
			s.b.FreeWeight(w)
		}
	}
}

// fusedProjShapes are the QKV and GateUp shapes: n rows of k, projected to
// m (q, gate, up) and mkv (k and v) columns; n = 1 is the decode path.
var fusedProjShapes = []struct{ n, k, m, mkv int }{
	{1, 8, 8, 8},
	{1, 64, 64, 16},
	{1, 896, 896, 128},
	{1, 200, 200, 40},
	{1, 1030, 300, 17},
	{3, 64, 64, 32},
	{17, 257, 96, 32},
	{2, 2061, 40, 8},
}

func (s *suite) testQKV(t *testing.T) {
	f := implements[backend.QKVer](t, s.b)
	for i, sh := range fusedProjShapes {
		for _, dt := range dtypes {
			withBias := (i+int(dt))%2 == 0
			view := (i+int(dt))%3 == 0
			what := name("QKV n=%d k=%d m=%d/%d %s bias %v view %v", sh.n, sh.k, sh.m, sh.mkv, dt, withBias, view)
			xv := s.normals(sh.n*sh.k, 1)
			x := s.upload(xv, sh.n, sh.k, view)
			outs := []int{sh.m, sh.mkv, sh.mkv}
			ws := make([]backend.Weight, 3)
			bs := make([]backend.Weight, 3)
			for j, m := range outs {
				ws[j], _ = s.weight(t, dt, m, sh.k, 0.5)
				if withBias {
					bs[j], _ = s.weight(t, dtypes[(int(dt)+j)%len(dtypes)], 1, m, 1)
				}
			}
			want := make([][]float64, 3)
			for j, m := range outs {
				o := s.poisoned(sh.n, m, view)
				s.b.MatMul(o.t, x.t, ws[j], bs[j])
				want[j] = widen(o.read(t, s.b, what+" (composed)"))
				o.free(s.b)
			}
			got := make([]*operand, 3)
			for j, m := range outs {
				got[j] = s.poisoned(sh.n, m, view)
			}
			f.QKV(got[0].t, got[1].t, got[2].t, x.t, ws[0], ws[1], ws[2], bs[0], bs[1], bs[2])
			for j, label := range []string{"q", "k", "v"} {
				expect(t, what+" "+label, got[j].read(t, s.b, what+" "+label), want[j], s.weightTol(dt))
				got[j].free(s.b)
				s.b.FreeWeight(ws[j])
				if bs[j] != nil {
					s.b.FreeWeight(bs[j])
				}
			}
			x.read(t, s.b, what+" (input x)")
			x.free(s.b)
		}
	}
}

func (s *suite) testGateUp(t *testing.T) {
	f := implements[backend.GateUpper](t, s.b)
	for i, sh := range fusedProjShapes {
		for _, dt := range dtypes {
			view := (i+int(dt))%2 == 1
			what := name("GateUp n=%d k=%d m=%d %s view %v", sh.n, sh.k, sh.m, dt, view)
			x := s.upload(s.normals(sh.n*sh.k, 1), sh.n, sh.k, view)
			gate, _ := s.weight(t, dt, sh.m, sh.k, 0.5)
			up, _ := s.weight(t, dt, sh.m, sh.k, 0.5)

			g, u := s.poisoned(sh.n, sh.m, view), s.poisoned(sh.n, sh.m, view)
			s.b.MatMul(g.t, x.t, gate, nil)
			s.b.MatMul(u.t, x.t, up, nil)
			s.b.SiLUMul(g.t, g.t, u.t)
			want := widen(g.read(t, s.b, what+" (composed)"))

			d := s.poisoned(sh.n, sh.m, view)
			f.GateUp(d.t, x.t, gate, up)
			expect(t, what, d.read(t, s.b, what), want, s.weightTol(dt))
			x.read(t, s.b, what+" (input x)")
			for _, o := range []*operand{x, g, u, d} {
				o.free(s.b)
			}
			s.b.FreeWeight(gate)
			s.b.FreeWeight(up)
		}
	}
}
