package safetensors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open through a file: it must never panic,
// errors must be one line naming the file, and a file that opens must hand
// out tensors whose data lie inside it.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "seed.safetensors")
	if err := Write(p, sampleTensors(f), map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)-3])
	f.Add(rawFile(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}`, make([]byte, 12)))
	f.Add(rawFile(`{"ids":{"dtype":"I32","shape":[1,2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"x":{"dtype":"F16","shape":[0],"data_offsets":[3,3]},"__metadata__":{"a":"b"}}`, make([]byte, 3)))
	f.Add(rawFile(`{"x":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add([]byte{})
	path := filepath.Join(dir, "input.safetensors")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Open(path)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, path+": ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line naming the file", msg)
			}
			return
		}
		defer file.Close()
		for _, n := range file.Names() {
			if ids, shape, err := file.Int32s(n); err == nil {
				numel := 1
				for _, d := range shape {
					numel *= d
				}
				if len(ids) != numel {
					t.Fatalf("I32 tensor %q: %d values for shape %v", n, len(ids), shape)
				}
			}
			x, err := file.Tensor(n)
			if err != nil {
				continue
			}
			if len(x.Data) > len(b) {
				t.Fatalf("tensor %q has %d bytes in a %d-byte file", n, len(x.Data), len(b))
			}
			if _, err := x.Float32s(); err != nil {
				t.Fatalf("tensor %q opened but does not decode: %v", n, err)
			}
		}
	})
}

// FuzzParseHeader runs the header parser on in-memory bytes, many times
// faster than FuzzOpen, with the same rules.
func FuzzParseHeader(f *testing.F) {
	f.Add(rawFile(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}`, make([]byte, 12)))
	f.Add(rawFile(`{"__metadata__":{"format":"pt"},"x":{"dtype":"I64","shape":[1,1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"x":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader("f", b)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "f: ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line naming the file", msg)
			}
			return
		}
		for _, n := range h.names {
			e := h.entries[n]
			if e.begin < 0 || e.end < e.begin || h.dataStart+e.end > len(b) {
				t.Fatalf("tensor %q: range [%d,%d) escapes the %d-byte input", n, e.begin, e.end, len(b))
			}
			if size, ok := DTypeSize(e.dtype); ok {
				x := Tensor{Name: n, DType: e.dtype, Shape: e.shape}
				if x.NumElements()*size != e.end-e.begin {
					t.Fatalf("tensor %q: shape %v of %s does not fill [%d,%d)", n, e.shape, e.dtype, e.begin, e.end)
				}
			}
		}
	})
}
