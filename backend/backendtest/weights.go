package backendtest

import (
	"testing"

	"github.com/sdtp/sdtp/backend"
)

func (s *suite) testNewWeight(t *testing.T) {
	for _, dt := range dtypes {
		w, err := s.b.NewWeight(dt, 3, 5, make([]byte, 15*dt.Size()))
		if err != nil {
			t.Fatalf("NewWeight(%s, 3, 5): %v", dt, err)
		}
		if w.Rows() != 3 || w.Cols() != 5 || w.DType() != dt {
			t.Errorf("NewWeight(%s, 3, 5) is %s %d×%d", dt, w.DType(), w.Rows(), w.Cols())
		}
		s.b.FreeWeight(w)
		if _, err := s.b.NewWeight(dt, 3, 5, make([]byte, 15*dt.Size()-1)); err == nil {
			t.Errorf("NewWeight(%s, 3, 5) with one byte short: no error", dt)
		}
	}
	if _, err := s.b.NewWeight(backend.DType(200), 1, 1, make([]byte, 4)); err == nil {
		t.Errorf("NewWeight with an unknown dtype: no error")
	}
}

// readWeight returns every row of w, read through Embed.
func (s *suite) readWeight(w backend.Weight) []float32 {
	ids := make([]int32, w.Rows())
	for i := range ids {
		ids[i] = int32(i)
	}
	iv := s.b.Ints(ids)
	defer s.b.FreeInts(iv)
	d := s.b.New(w.Rows(), w.Cols())
	defer s.b.Free(d)
	s.b.Embed(d, w, iv)
	out := make([]float32, w.Rows()*w.Cols())
	s.b.ToHost(out, d)
	return out
}

// testGenerated checks a generated weight against the same values uploaded
// with NewWeight: bit for bit through Embed, and against the values.
func (s *suite) testGenerated(t *testing.T, what string, dt backend.DType, rows, cols int, w backend.Weight, want []float32) {
	t.Helper()
	if w.Rows() != rows || w.Cols() != cols || w.DType() != dt {
		t.Fatalf("%s is %s %d×%d, want %s %d×%d", what, w.DType(), w.Rows(), w.Cols(), dt, rows, cols)
	}
	hw := makeHostWeight(dt, rows, cols, want)
	ref, err := s.b.NewWeight(dt, rows, cols, hw.bytes)
	if err != nil {
		t.Fatal(err)
	}
	defer s.b.FreeWeight(ref)
	got, exp := s.readWeight(w), s.readWeight(ref)
	for i := range got {
		if got[i] != exp[i] && !(got[i] != got[i] && exp[i] != exp[i]) {
			t.Fatalf("%s element %d (row %d, column %d) reads %v, the same value uploaded reads %v", what, i, i/cols, i%cols, got[i], exp[i])
		}
	}
	expect(t, what, got, hw.vals, s.exactTol())
}

func (s *suite) testRandomWeight(t *testing.T) {
	for _, dt := range dtypes {
		for _, sh := range [][2]int{{1, 1}, {3, 17}, {70, 1000}} {
			rows, cols := sh[0], sh[1]
			seed := s.rng.Uint64()
			scale := float32(0.02 + s.rng.Float64())
			w, err := s.b.RandomWeight(dt, rows, cols, seed, scale)
			if err != nil {
				t.Fatalf("RandomWeight(%s, %d, %d): %v", dt, rows, cols, err)
			}
			want := make([]float32, rows*cols)
			for i := range want {
				want[i] = backend.RandomValue(seed, uint64(i)) * scale
			}
			s.testGenerated(t, name("RandomWeight(%s, %d×%d, seed %d, scale %v)", dt, rows, cols, seed, scale), dt, rows, cols, w, want)
			s.b.FreeWeight(w)
		}
	}
}

func (s *suite) testConstWeight(t *testing.T) {
	for _, dt := range dtypes {
		for _, v := range []float32{1, 0, -0.1, 3.3} {
			w, err := s.b.ConstWeight(dt, 2, 37, v)
			if err != nil {
				t.Fatalf("ConstWeight(%s): %v", dt, err)
			}
			want := make([]float32, 2*37)
			for i := range want {
				want[i] = v
			}
			s.testGenerated(t, name("ConstWeight(%s, %v)", dt, v), dt, 2, 37, w, want)
			s.b.FreeWeight(w)
		}
	}
}

func (s *suite) testEmbed(t *testing.T) {
	cases := []struct {
		vocab, cols int
		ids         []int32
	}{
		{1, 1, []int32{0}},
		{10, 17, []int32{3, 3, 0, 9, 3}},
		{300, 64, []int32{299, 0, 150, 150, 7, 299, 1}},
		{5, 1030, []int32{4, 4, 4}},
	}
	for _, tc := range cases {
		for _, dt := range dtypes {
			for _, view := range []bool{false, true} {
				what := name("Embed %s %d×%d ids %v view %v", dt, tc.vocab, tc.cols, tc.ids, view)
				w, hw := s.weight(t, dt, tc.vocab, tc.cols, 1)
				iv := s.b.Ints(tc.ids)
				d := s.poisoned(len(tc.ids), tc.cols, view)
				s.b.Embed(d.t, w, iv)
				ref := make([]float64, 0, len(tc.ids)*tc.cols)
				for _, id := range tc.ids {
					ref = append(ref, hw.vals[int(id)*tc.cols:(int(id)+1)*tc.cols]...)
				}
				expect(t, what, d.read(t, s.b, what), ref, s.exactTol())
				d.free(s.b)
				s.b.FreeInts(iv)
				s.b.FreeWeight(w)
			}
		}
	}
}
