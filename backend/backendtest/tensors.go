package backendtest

import (
	"math"
	"testing"
)

func (s *suite) testHostRoundTrip(t *testing.T) {
	for _, sh := range [][2]int{{1, 1}, {3, 17}, {257, 64}, {2, 1000}} {
		rows, cols := sh[0], sh[1]
		in := s.normals(rows*cols, 3)
		x := s.b.FromHost(in, rows, cols)
		if x.Rows() != rows || x.Cols() != cols {
			t.Fatalf("FromHost %d×%d gave a %d×%d tensor", rows, cols, x.Rows(), x.Cols())
		}
		got := make([]float32, rows*cols)
		s.b.ToHost(got, x)
		expect(t, name("FromHost/ToHost %d×%d", rows, cols), got, widen(in), s.exactTol())
		s.b.Free(x)
		y := s.b.New(rows, cols)
		if y.Rows() != rows || y.Cols() != cols {
			t.Fatalf("New %d×%d gave a %d×%d tensor", rows, cols, y.Rows(), y.Cols())
		}
		s.b.Free(y)
	}
	ids := []int32{0, 5, -1, math.MaxInt32, 7}
	v := s.b.Ints(ids)
	if v.Len() != len(ids) {
		t.Errorf("Ints of %d values has Len %d", len(ids), v.Len())
	}
	s.b.FreeInts(v)
}

// testView checks that a view reads its rows and that writing through a
// view (Copy into it) leaves the other rows alone.
func (s *suite) testView(t *testing.T) {
	const rows, cols = 9, 13
	in := s.normals(rows*cols, 1)
	x := s.b.FromHost(in, rows, cols)
	defer s.b.Free(x)
	for _, r := range [][2]int{{0, 9}, {0, 1}, {3, 4}, {8, 1}, {4, 0}} {
		v := s.b.View(x, r[0], r[1])
		if v.Rows() != r[1] || v.Cols() != cols {
			t.Fatalf("View(%d, %d) is %d×%d", r[0], r[1], v.Rows(), v.Cols())
		}
		got := make([]float32, r[1]*cols)
		s.b.ToHost(got, v)
		expect(t, name("View(%d, %d)", r[0], r[1]), got, widen(in[r[0]*cols:(r[0]+r[1])*cols]), s.exactTol())
	}
	// A view of a view.
	inner := s.b.View(s.b.View(x, 2, 6), 1, 3)
	got := make([]float32, 3*cols)
	s.b.ToHost(got, inner)
	expect(t, "View(View(x, 2, 6), 1, 3)", got, widen(in[3*cols:6*cols]), s.exactTol())

	src := s.normals(2*cols, 1)
	st := s.b.FromHost(src, 2, cols)
	defer s.b.Free(st)
	s.b.Copy(s.b.View(x, 5, 2), st)
	all := make([]float32, rows*cols)
	s.b.ToHost(all, x)
	want := append([]float32(nil), in...)
	copy(want[5*cols:], src)
	expect(t, "Copy into View(x, 5, 2)", all, widen(want), s.exactTol())
}

func (s *suite) testMemory(t *testing.T) {
	used0, _ := s.b.Memory()
	const rows, cols = 1000, 250
	x := s.b.New(rows, cols)
	used1, peak1 := s.b.Memory()
	// At least two bytes per element, whatever the activation type.
	if used1-used0 < 2*rows*cols {
		t.Errorf("Memory: New(%d, %d) raised use by %d bytes, want at least %d", rows, cols, used1-used0, 2*rows*cols)
	}
	if peak1 < used1 {
		t.Errorf("Memory: peak %d below use %d", peak1, used1)
	}
	s.b.Free(x)
	used2, peak2 := s.b.Memory()
	if used2 >= used1 {
		t.Errorf("Memory: Free left use at %d bytes (was %d before it)", used2, used1)
	}
	if peak2 < peak1 {
		t.Errorf("Memory: peak fell from %d to %d", peak1, peak2)
	}
}
