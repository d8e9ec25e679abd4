package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawFile builds safetensors bytes from a literal header and data section.
func rawFile(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// writeTemp writes b to a fresh file and returns its path.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleTensors returns tensors of every supported dtype plus one I64.
func sampleTensors(t testing.TB) []Tensor {
	t.Helper()
	a, err := NewF32("a.weight", []int{2, 3}, []float32{1, -2, 3.5, 0, 1e-3, -7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBF16("b.weight", []int{3}, []float32{1, 0.1, -65504})
	if err != nil {
		t.Fatal(err)
	}
	h := Tensor{Name: "c.half", DType: F16, Shape: []int{2}, Data: []byte{0x00, 0x3c, 0x00, 0xc0}} // 1, -2
	ids := Tensor{Name: "d.ids", DType: "I64", Shape: []int{1}, Data: make([]byte, 8)}
	scalar, err := NewF32("e.scalar", []int{}, []float32{42})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := NewF32("f.empty", []int{0, 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return []Tensor{a, b, h, ids, scalar, empty}
}

func TestWriteOpenRoundTrip(t *testing.T) {
	in := sampleTensors(t)
	p := filepath.Join(t.TempDir(), "m.safetensors")
	meta := map[string]string{"format": "pt", "note": "a<b&c"}
	if err := Write(p, in, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := strings.Join(f.Names(), ","), "a.weight,b.weight,c.half,d.ids,e.scalar,f.empty"; got != want {
		t.Errorf("Names = %s, want %s", got, want)
	}
	if m := f.Metadata(); m["format"] != "pt" || m["note"] != "a<b&c" || len(m) != 2 {
		t.Errorf("Metadata = %v", m)
	}
	for _, w := range in {
		got, err := f.Tensor(w.Name)
		if !Supported(w.DType) {
			if err == nil || !strings.Contains(err.Error(), "dtype "+w.DType+" is not supported") {
				t.Errorf("Tensor(%s) error = %v, want unsupported dtype", w.Name, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != w.DType || !slices.Equal(got.Shape, w.Shape) || !bytes.Equal(got.Data, w.Data) {
			t.Errorf("Tensor(%s) = %s %v %x, want %s %v %x", w.Name, got.DType, got.Shape, got.Data, w.DType, w.Shape, w.Data)
		}
		size, _ := DTypeSize(got.DType)
		if off := f.hdr.entries[w.Name].begin + f.hdr.dataStart; off%size != 0 {
			t.Errorf("tensor %s starts at byte %d, not aligned to %d", w.Name, off, size)
		}
	}
	h, err := f.Tensor("c.half")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := h.Float32s(); err != nil || v[0] != 1 || v[1] != -2 {
		t.Errorf("F16 Float32s = %v, %v", v, err)
	}
	if f.hdr.dataStart%8 != 0 {
		t.Errorf("data section starts at %d, want a multiple of 8", f.hdr.dataStart)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Tensor("a.weight"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Tensor after Close: %v", err)
	}
}

func TestWriteDeterministic(t *testing.T) {
	in := sampleTensors(t)
	rev := make([]Tensor, len(in))
	for i := range in {
		rev[len(in)-1-i] = in[i]
	}
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "1.safetensors"), filepath.Join(dir, "2.safetensors")
	if err := Write(p1, in, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := Write(p2, rev, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if !bytes.Equal(b1, b2) {
		t.Error("Write output depends on the input order")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("folder holds %d entries, want 2 (temporary files left behind?)", len(ents))
	}
}

func TestWriteRejects(t *testing.T) {
	good, _ := NewF32("x", []int{2}, []float32{1, 2})
	cases := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate", []Tensor{good, good}, `tensor "x": duplicate name`},
		{"reserved", []Tensor{{Name: "__metadata__", DType: F32, Shape: []int{}, Data: make([]byte, 4)}}, "reserved"},
		{"size", []Tensor{{Name: "y", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}}, `tensor "y": 8 data bytes, shape [3] of F32 needs 12`},
		{"dtype", []Tensor{{Name: "z", DType: "Q4", Shape: []int{1}, Data: make([]byte, 1)}}, `tensor "z": unknown dtype "Q4"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "w.safetensors")
			err := Write(p, c.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Write error = %v, want one naming %s and containing %q", err, p, c.want)
			}
			if _, err := os.Stat(p); err == nil {
				t.Error("a failed Write left a file behind")
			}
		})
	}
	if _, err := NewF32("v", []int{2, 2}, []float32{1}); err == nil {
		t.Error("NewF32 accepted 1 value for shape [2 2]")
	}
}

func TestOpenRejects(t *testing.T) {
	f32x2 := `"dtype":"F32","shape":[2]`
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "file is 0 bytes, too short"},
		{"short file", []byte{1, 2, 3}, "file is 3 bytes, too short"},
		{"header beyond file", rawFile(`{}`, nil)[:9], "header length 2 beyond file size 9"},
		{"huge header length", append(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), '{', '}'), "exceeds the limit"},
		{"not an object", rawFile(`[1,2]`, nil), "not a safetensors file (it has no JSON header after the 8-byte header length)"},
		{"text", []byte("# sdtp\n\nsdtp makes long-context LLM inference cheaper\n"), "not a safetensors file (it holds text)"},
		{"GGUF", []byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00"), "not a safetensors file (it is a GGUF file)"},
		{"bad json", rawFile(`{"a":`, nil), "header JSON"},
		{"trailing garbage", rawFile(`{} x`, nil), "header JSON"},
		{"missing dtype", rawFile(`{"x":{"shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "x": missing dtype`},
		{"missing shape", rawFile(`{"x":{"dtype":"F32","data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "x": missing shape`},
		{"missing offsets", rawFile(`{"x":{`+f32x2+`}}`, make([]byte, 8)), `tensor "x": missing data_offsets`},
		{"three offsets", rawFile(`{"x":{`+f32x2+`,"data_offsets":[0,8,9]}}`, make([]byte, 8)), "data_offsets has 3 values"},
		{"offsets beyond file", rawFile(`{"x":{`+f32x2+`,"data_offsets":[0,8]}}`, make([]byte, 4)), `tensor "x": data offsets [0,8) beyond file size`},
		{"begin after end", rawFile(`{"x":{`+f32x2+`,"data_offsets":[8,0]}}`, make([]byte, 8)), "bad data offsets [8,0)"},
		{"negative offset", rawFile(`{"x":{`+f32x2+`,"data_offsets":[-4,4]}}`, make([]byte, 8)), "bad data offsets"},
		{"float offset", rawFile(`{"x":{`+f32x2+`,"data_offsets":[0.5,8]}}`, make([]byte, 8)), `tensor "x": bad record`},
		{"shape mismatch", rawFile(`{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "x": shape [3] of F32 needs 12 bytes, data offsets [0,8) hold 8 bytes`},
		{"huge shape", rawFile(`{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)), "needs more than the 8-byte data section"},
		{"zero after huge", rawFile(`{"x":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,8]}}`, make([]byte, 8)), "needs 0 bytes, data offsets [0,8) hold 8"},
		{"negative dim", rawFile(`{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, make([]byte, 8)), "negative dimension"},
		{"overlap", rawFile(`{"x":{`+f32x2+`,"data_offsets":[0,8]},"y":{`+f32x2+`,"data_offsets":[4,12]}}`, make([]byte, 12)), `tensor "y": data offsets [4,12) overlap tensor "x"`},
		{"metadata not strings", rawFile(`{"__metadata__":{"n":1}}`, nil), "__metadata__ must map strings to strings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, "bad.safetensors", c.file)
			f, err := Open(p)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want error containing %q", c.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, p+": ") || strings.Contains(msg, "\n") {
				t.Errorf("error = %q, want one line starting with the path and containing %q", msg, c.want)
			}
		})
	}
}

func TestOpenTruncated(t *testing.T) {
	p := filepath.Join(t.TempDir(), "full.safetensors")
	if err := Write(p, sampleTensors(t), nil); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(p)
	for _, cut := range []int{1, 4, 9, len(full) / 2, len(full) - 1} {
		q := writeTemp(t, "cut.safetensors", full[:cut])
		if f, err := Open(q); err == nil {
			f.Close()
			t.Errorf("Open of the first %d of %d bytes succeeded", cut, len(full))
		} else if !strings.HasPrefix(err.Error(), q+": ") {
			t.Errorf("cut %d: error %q does not name the file", cut, err)
		}
	}
}

func TestTensorMissingAndUnknownDType(t *testing.T) {
	p := writeTemp(t, "u.safetensors", rawFile(`{"q":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, make([]byte, 2)))
	f, err := Open(p)
	if err != nil {
		t.Fatalf("Open with an unknown dtype of unknown size: %v", err)
	}
	defer f.Close()
	if _, err := f.Tensor("q"); err == nil || !strings.Contains(err.Error(), `tensor "q": dtype F4 is not supported`) {
		t.Errorf("Tensor(q) error = %v", err)
	}
	if _, err := f.Tensor("model.norm.weight"); err == nil || err.Error() != p+`: tensor "model.norm.weight" not found` {
		t.Errorf("missing tensor error = %v", err)
	}
}

// refBF16 rounds f to bfloat16 by picking the nearer of the two neighbouring
// bfloat16 values in float64 arithmetic (ties: even mantissa).
func refBF16(f float32) uint16 {
	lo := uint16(math.Float32bits(f) >> 16)
	hi := lo + 1
	a, b := float64(BF16ToFloat32(lo)), float64(BF16ToFloat32(hi))
	x := float64(f)
	da, db := math.Abs(x-a), math.Abs(b-x)
	if math.IsInf(b, 0) && !math.IsInf(x, 0) {
		// The step past the largest finite value rounds as if to 2^128.
		db = math.Abs(math.Ldexp(1, 128)*math.Copysign(1, x) - x)
	}
	switch {
	case da < db:
		return lo
	case db < da:
		return hi
	case lo&1 == 0:
		return lo
	}
	return hi
}

func TestFloat32ToBF16(t *testing.T) {
	vals := []float32{0, 1, -1, 0.1, 1.00390625, 1.01171875, 3.0e38, math.MaxFloat32, -math.MaxFloat32, 1e-40, -1e-45, 65504}
	for i := uint32(0); i < 1<<20; i++ {
		vals = append(vals, math.Float32frombits(i*4099+i>>7))
	}
	for _, v := range vals {
		if v != v {
			continue // NaN: checked below
		}
		if got, want := Float32ToBF16(v), refBF16(v); got != want {
			t.Fatalf("Float32ToBF16(%g) = %#04x, want %#04x", v, got, want)
		}
	}
	nan := Float32ToBF16(float32(math.NaN()))
	if !math.IsNaN(float64(BF16ToFloat32(nan))) {
		t.Errorf("NaN rounds to %#04x, not a NaN", nan)
	}
}

func TestF16ToFloat32(t *testing.T) {
	// Compare with the definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024.
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		got := float64(F16ToFloat32(uint16(h)))
		var want float64
		switch {
		case e == 0x1f && m != 0:
			if !math.IsNaN(got) {
				t.Fatalf("F16ToFloat32(%#04x) = %g, want NaN", h, got)
			}
			continue
		case e == 0x1f:
			want = math.Inf(1)
		case e == 0:
			want = math.Ldexp(float64(m)/1024, -14)
		default:
			want = math.Ldexp(1+float64(m)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		if got != want || math.Signbit(got) != (s == 1) {
			t.Fatalf("F16ToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestInt32s(t *testing.T) {
	ids := []byte{7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0} // 7, -1, 256
	p := filepath.Join(t.TempDir(), "ids.safetensors")
	in := []Tensor{{Name: "ids", DType: "I32", Shape: []int{1, 3}, Data: ids}, {Name: "x", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}}
	if err := Write(p, in, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	got, shape, err := f.Int32s("ids")
	if err != nil || !slices.Equal(got, []int32{7, -1, 256}) || !slices.Equal(shape, []int{1, 3}) {
		t.Errorf("Int32s(ids) = %v %v, %v", got, shape, err)
	}
	for name, want := range map[string]string{"x": `tensor "x": dtype F32, want I32`, "y": `tensor "y" not found`} {
		if _, _, err := f.Int32s(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Int32s(%s) error = %v, want %q", name, err, want)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Int32s("ids"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Int32s after Close: %v", err)
	}
}
