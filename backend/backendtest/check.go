package backendtest

import (
	"fmt"
	"math"
	"testing"

	"github.com/sdtp/sdtp/backend"
)

// guardValue fills the rows around a view; it is exact in bf16 and f16.
const guardValue = -3.5

// operand is a tensor under test: either a whole tensor, or a view of rows
// [pad, pad+rows) of a larger tensor whose other rows hold guardValue.
type operand struct {
	t          backend.Tensor // what the op sees
	whole      backend.Tensor // what was allocated
	rows, cols int
	pad, total int
}

// upload makes an operand holding data (rows×cols); as a view when view is
// set, with guard rows on both sides. It then overwrites data with the
// values the backend actually holds, so references computed from data
// afterwards see what the op sees: a backend that keeps activations in
// bf16 is judged on its arithmetic, not on the rounding of its inputs
// (FromHost/ToHost exactness has its own test).
func (s *suite) upload(data []float32, rows, cols int, view bool) *operand {
	if !view {
		t := s.b.FromHost(data, rows, cols)
		s.b.ToHost(data, t)
		return &operand{t: t, whole: t, rows: rows, cols: cols, total: rows}
	}
	pad := 1 + s.rng.IntN(3)
	total := rows + pad + 1 + s.rng.IntN(3)
	all := make([]float32, total*cols)
	for i := range all {
		all[i] = guardValue
	}
	copy(all[pad*cols:], data)
	whole := s.b.FromHost(all, total, cols)
	s.b.ToHost(all, whole)
	copy(data, all[pad*cols:(pad+rows)*cols])
	return &operand{t: s.b.View(whole, pad, rows), whole: whole, rows: rows, cols: cols, pad: pad, total: total}
}

// poisoned makes an output operand filled with NaN.
func (s *suite) poisoned(rows, cols int, view bool) *operand {
	data := make([]float32, rows*cols)
	nan := float32(math.NaN())
	for i := range data {
		data[i] = nan
	}
	return s.upload(data, rows, cols, view)
}

// read returns the operand's rows, and reports an error for every guard
// row that changed.
func (o *operand) read(t *testing.T, b backend.Backend, what string) []float32 {
	t.Helper()
	all := make([]float32, o.total*o.cols)
	b.ToHost(all, o.whole)
	for r := range o.total {
		if r >= o.pad && r < o.pad+o.rows {
			continue
		}
		for c, v := range all[r*o.cols : (r+1)*o.cols] {
			if v != guardValue {
				t.Errorf("%s: row %d outside the view [%d, %d) changed at column %d: %v", what, r, o.pad, o.pad+o.rows, c, v)
				return all[o.pad*o.cols : (o.pad+o.rows)*o.cols]
			}
		}
	}
	return all[o.pad*o.cols : (o.pad+o.rows)*o.cols]
}

func (o *operand) free(b backend.Backend) { b.Free(o.whole) }

// normFloor is the smallest ‖ref‖ relErr divides by: a reference below it
// is zero for all practical purposes (silu(−100) is −4e-42; an exp
// clamped at float32 range gives −4e-37).
const normFloor = 1e-20

// relErr returns ‖got−ref‖/max(‖ref‖, normFloor), and the
// index of the first element that is NaN or infinite where ref is finite
// (-1 when none).
func relErr(got []float32, ref []float64) (float64, int) {
	var num, den float64
	bad := -1
	for i, r := range ref {
		g := float64(got[i])
		if (math.IsNaN(g) || math.IsInf(g, 0)) && !math.IsNaN(r) && !math.IsInf(r, 0) && bad < 0 {
			bad = i
		}
		num += (g - r) * (g - r)
		den += r * r
	}
	return math.Sqrt(num) / max(math.Sqrt(den), normFloor), bad
}

// expect fails t unless got matches ref within the relative bound tol.
func expect(t *testing.T, what string, got []float32, ref []float64, tol float64) {
	t.Helper()
	if len(got) != len(ref) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(ref))
	}
	e, bad := relErr(got, ref)
	if bad >= 0 {
		t.Errorf("%s: element %d is %v, want %v (unwritten or overflowed)", what, bad, got[bad], ref[bad])
		return
	}
	if !(e <= tol) {
		i := worst(got, ref)
		t.Errorf("%s: relative error %.3g exceeds %.3g (worst element %d: %v, want %v)", what, e, tol, i, got[i], ref[i])
	}
}

// expectTerms is expect for results that are sums of terms terms each
// (dot products): the error is measured against the larger of ‖ref‖ and
// ‖mag‖/√terms, where mag holds each result's sum of absolute terms, so
// that a chance cancellation in a tiny case (x·w ≈ −bias) is judged by
// the rounding its terms allow rather than as a large relative error.
func expectTerms(t *testing.T, what string, got []float32, ref, mag []float64, terms int, tol float64) {
	t.Helper()
	var r2, m2 float64
	for i := range ref {
		r2 += ref[i] * ref[i]
		m2 += mag[i] * mag[i]
	}
	scale := math.Sqrt(m2/float64(max(terms, 1))) / math.Max(math.Sqrt(r2), normFloor)
	expect(t, what, got, ref, tol*math.Max(scale, 1))
}

func worst(got []float32, ref []float64) int {
	w, wi := -1.0, 0
	for i, r := range ref {
		if d := math.Abs(float64(got[i]) - r); d > w || math.IsNaN(d) {
			w, wi = d, i
			if math.IsNaN(d) {
				break
			}
		}
	}
	return wi
}

// hostWeight is a weight's values as the reference sees them: rounded to
// the dtype, then widened exactly.
type hostWeight struct {
	dt         backend.DType
	rows, cols int
	bytes      []byte
	vals       []float64
}

// roundTo rounds v to dt and returns the stored bits and the exact value.
func roundTo(dt backend.DType, v float32) (uint32, float64) {
	switch dt {
	case backend.BF16:
		u := backend.F32ToBF16(v)
		return uint32(u), float64(backend.BF16ToF32(u))
	case backend.F16:
		u := backend.F32ToF16(v)
		return uint32(u), float64(backend.F16ToF32(u))
	}
	return math.Float32bits(v), float64(v)
}

// makeHostWeight encodes vals (rows×cols) as little-endian dt.
func makeHostWeight(dt backend.DType, rows, cols int, vals []float32) *hostWeight {
	hw := &hostWeight{dt: dt, rows: rows, cols: cols, bytes: make([]byte, len(vals)*dt.Size()), vals: make([]float64, len(vals))}
	for i, v := range vals {
		bits, exact := roundTo(dt, v)
		hw.vals[i] = exact
		if dt == backend.F32 {
			hw.bytes[4*i], hw.bytes[4*i+1], hw.bytes[4*i+2], hw.bytes[4*i+3] = byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24)
		} else {
			hw.bytes[2*i], hw.bytes[2*i+1] = byte(bits), byte(bits>>8)
		}
	}
	return hw
}

// weight uploads a random rows×cols weight of dt with values N(0, sd²).
func (s *suite) weight(t *testing.T, dt backend.DType, rows, cols int, sd float64) (backend.Weight, *hostWeight) {
	t.Helper()
	hw := makeHostWeight(dt, rows, cols, s.normals(rows*cols, sd))
	w, err := s.b.NewWeight(dt, rows, cols, hw.bytes)
	if err != nil {
		t.Fatalf("NewWeight(%s, %d, %d): %v", dt, rows, cols, err)
	}
	return w, hw
}

func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func name(format string, args ...any) string { return fmt.Sprintf(format, args...) }
