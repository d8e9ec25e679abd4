package filekind

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	st := func(header string) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
		return append(b, header...)
	}
	llama2c := binary.LittleEndian.AppendUint32(nil, 64) // dim 64: small ints hold zero bytes
	for _, v := range []uint32{172, 5, 8, 4, 512, 512} {
		llama2c = binary.LittleEndian.AppendUint32(llama2c, v)
	}
	long := strings.Repeat("ü", 300) // after "a", the 512-byte cut splits a two-byte rune
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "is empty"},
		{"markdown", []byte("# sdtp\n\nsdtp makes long-context LLM inference cheaper\n"), "holds text"},
		{"JSON", []byte(`{"architectures": ["Qwen2ForCausalLM"]}`), "holds text"},
		{"UTF-8 cut at 512 bytes", []byte("a" + long), "holds text"},
		{"safetensors", st(`{"__metadata__":{"format":"pt"}}`), "is a safetensors file"},
		{"GGUF", []byte("GGUF\x03\x00\x00\x00"), "is a GGUF file"},
		{"zip", []byte("PK\x03\x04\x14\x00"), "is a zip archive, as PyTorch saves its checkpoints"},
		{"pickle", []byte("\x80\x02}q\x00"), "is a Python pickle, as old PyTorch checkpoints are"},
		{"llama2.c header", llama2c, ""},
		{"binary with control bytes", []byte("ab\x01\x02cd"), ""},
		{"invalid UTF-8 inside", []byte("ab\xffcd"), ""},
	} {
		if got := Describe(tc.in); got != tc.want {
			t.Errorf("%s: Describe = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func FuzzDescribe(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte("\x05\x00\x00\x00\x00\x00\x00\x00{}   "))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Describe(b)
		if d == "holds text" && strings.ContainsRune(string(b[:min(len(b), sniffLen)]), 0) {
			t.Errorf("NUL bytes described as text")
		}
	})
}
