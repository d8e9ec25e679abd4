package llama2c

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/safetensors"
)

func openStories(t *testing.T) *Checkpoint {
	t.Helper()
	c, err := Open(testdata.Path(t, "llama2c/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func floats(t *testing.T, x safetensors.Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestStories260K(t *testing.T) {
	c := openStories(t)
	// The shape testdata/README.md gives for stories260K.
	want := Header{Dim: 64, HiddenDim: 172, NLayers: 5, NHeads: 8, NKVHeads: 4, VocabSize: 512, SeqLen: 512, SharedClassifier: true}
	if c.Header != want {
		t.Fatalf("Header = %+v, want %+v", c.Header, want)
	}
	if err := c.Config().Validate(); err != nil {
		t.Errorf("Config().Validate: %v", err)
	}
	if n := len(c.Names()); n != 1+9*5+1+1 {
		t.Errorf("%d tensors, want %d", n, 1+9*5+1+1)
	}
	shapes := map[string][]int{
		"model.embed_tokens.weight":                      {512, 64},
		"model.layers.0.input_layernorm.weight":          {64},
		"model.layers.4.self_attn.q_proj.weight":         {64, 64},
		"model.layers.4.self_attn.k_proj.weight":         {32, 64},
		"model.layers.4.self_attn.v_proj.weight":         {32, 64},
		"model.layers.2.self_attn.o_proj.weight":         {64, 64},
		"model.layers.3.post_attention_layernorm.weight": {64},
		"model.layers.1.mlp.gate_proj.weight":            {172, 64},
		"model.layers.1.mlp.down_proj.weight":            {64, 172},
		"model.layers.1.mlp.up_proj.weight":              {172, 64},
		"model.norm.weight":                              {64},
		"lm_head.weight":                                 {512, 64},
	}
	for name, shape := range shapes {
		x, err := c.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if x.DType != safetensors.F32 || len(x.Shape) != len(shape) || x.NumElements()*4 != len(x.Data) {
			t.Errorf("%s: %s %v with %d bytes", name, x.DType, x.Shape, len(x.Data))
		}
		for i := range shape {
			if x.Shape[i] != shape[i] {
				t.Errorf("%s: shape %v, want %v", name, x.Shape, shape)
			}
		}
	}
	emb, _ := c.Tensor("model.embed_tokens.weight")
	head, _ := c.Tensor("lm_head.weight")
	if !bytes.Equal(emb.Data, head.Data) {
		t.Error("shared classifier: lm_head.weight differs from the embedding")
	}
	if _, err := c.Tensor("model.layers.5.mlp.up_proj.weight"); err == nil || !strings.Contains(err.Error(), `tensor "model.layers.5.mlp.up_proj.weight" not found`) {
		t.Errorf("missing tensor error = %v", err)
	}
}

// TestStories260KLayout checks the offsets end to end: right after
// model.norm.weight the file must hold llama2.c's RoPE tables,
// cos/sin(pos * 10000^(-2i/head_size)), which a wrong offset would miss.
func TestStories260KLayout(t *testing.T) {
	c := openStories(t)
	norm, err := c.Tensor("model.norm.weight")
	if err != nil {
		t.Fatal(err)
	}
	end := headerBytes + 4*c.slots["model.norm.weight"].off + len(norm.Data)
	hd, seq := c.Header.HeadDim(), c.Header.SeqLen
	table := func(k, pos, i int) float64 {
		at := end + 4*(k*seq*hd/2+pos*hd/2+i)
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(c.data[at:])))
	}
	if got := end + 4*seq*hd; got != len(c.data) {
		t.Fatalf("RoPE tables end at %d, file is %d bytes", got, len(c.data))
	}
	for _, pos := range []int{0, 1, 7, 100, seq - 1} {
		for i := 0; i < hd/2; i++ {
			angle := float64(pos) * math.Pow(10000, -float64(2*i)/float64(hd))
			if re, im := table(0, pos, i), table(1, pos, i); math.Abs(re-math.Cos(angle)) > 1e-5 || math.Abs(im-math.Sin(angle)) > 1e-5 {
				t.Fatalf("pos %d pair %d: table (%g, %g), want (%g, %g)", pos, i, re, im, math.Cos(angle), math.Sin(angle))
			}
		}
	}
}

// TestRoPEPermutation checks that the permuted q/k rows under the Hugging
// Face RoPE reproduce llama2.c's RoPE on the raw rows, and so the same
// attention scores.
func TestRoPEPermutation(t *testing.T) {
	c := openStories(t)
	h := c.Header
	hd := h.HeadDim()
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, h.Dim)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	raw := func(name string) []float32 {
		s := c.slots[name]
		n := s.shape[0] * s.shape[1]
		return floats(t, safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: s.shape, Data: c.data[headerBytes+4*s.off : headerBytes+4*(s.off+n)]})
	}
	matvec := func(w []float32, rows int) []float64 {
		y := make([]float64, rows)
		for r := range y {
			for k, xv := range x {
				y[r] += float64(w[r*h.Dim+k]) * xv
			}
		}
		return y
	}
	const pos = 37
	freq := func(i int) (float64, float64) {
		a := pos * math.Pow(10000, -float64(2*i)/float64(hd))
		return math.Cos(a), math.Sin(a)
	}
	// llama2.c: rotate (2i, 2i+1) of each head.
	ropeInterleaved := func(v []float64) {
		for base := 0; base < len(v); base += hd {
			for i := 0; i < hd/2; i++ {
				cs, sn := freq(i)
				a, b := v[base+2*i], v[base+2*i+1]
				v[base+2*i], v[base+2*i+1] = a*cs-b*sn, a*sn+b*cs
			}
		}
	}
	// Hugging Face: rotate (i, i+hd/2) of each head.
	ropeHalves := func(v []float64) {
		for base := 0; base < len(v); base += hd {
			for i := 0; i < hd/2; i++ {
				cs, sn := freq(i)
				a, b := v[base+i], v[base+i+hd/2]
				v[base+i], v[base+i+hd/2] = a*cs-b*sn, a*sn+b*cs
			}
		}
	}
	for _, layer := range []string{"0", "3"} {
		var raws, perms [2][]float64 // q, k after RoPE
		for k, proj := range []string{"q_proj", "k_proj"} {
			name := "model.layers." + layer + ".self_attn." + proj + ".weight"
			perm, err := c.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			rows := perm.Shape[0]
			a := matvec(raw(name), rows)
			b := matvec(floats(t, perm), rows)
			ropeInterleaved(a)
			ropeHalves(b)
			for base := 0; base < rows; base += hd {
				for i := 0; i < hd/2; i++ {
					for j := 0; j < 2; j++ {
						if d := math.Abs(a[base+2*i+j] - b[base+j*hd/2+i]); d > 1e-12 {
							t.Fatalf("%s: head row %d: llama2.c %g, permuted %g", name, base+2*i+j, a[base+2*i+j], b[base+j*hd/2+i])
						}
					}
				}
			}
			raws[k], perms[k] = a, b
		}
		// Query head 2 attends with KV head 1 (group size 2): same score either way.
		sRaw := dot(raws[0][2*hd:3*hd], raws[1][hd:2*hd])
		sPerm := dot(perms[0][2*hd:3*hd], perms[1][hd:2*hd])
		if math.Abs(sRaw-sPerm) > 1e-9*math.Max(1, math.Abs(sRaw)) {
			t.Errorf("layer %s: attention score %g with llama2.c RoPE, %g permuted", layer, sRaw, sPerm)
		}
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// synthetic builds a tiny legacy checkpoint with values 0, 1, 2, ... so that
// every tensor's position in the file can be read off its contents.
func synthetic(h Header) []byte {
	vocab := int32(h.VocabSize)
	if !h.SharedClassifier {
		vocab = -vocab
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(h.Dim))
	for _, v := range []int32{int32(h.HiddenDim), int32(h.NLayers), int32(h.NHeads), int32(h.NKVHeads), vocab, int32(h.SeqLen)} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	kv := h.Dim / h.NHeads * h.NKVHeads
	n := h.VocabSize*h.Dim + h.NLayers*(2*h.Dim+2*h.Dim*h.Dim+2*kv*h.Dim+3*h.HiddenDim*h.Dim) + h.Dim + h.SeqLen*(h.Dim/h.NHeads)
	if !h.SharedClassifier {
		n += h.VocabSize * h.Dim
	}
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)))
	}
	return b
}

func writeFile(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnsharedClassifier(t *testing.T) {
	h := Header{Dim: 8, HiddenDim: 12, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 5, SeqLen: 3}
	c, err := Open(writeFile(t, synthetic(h)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Header != h || c.Config().TieWordEmbeddings {
		t.Fatalf("Header = %+v", c.Header)
	}
	head, err := c.Tensor("lm_head.weight")
	if err != nil {
		t.Fatal(err)
	}
	v := floats(t, head)
	// The classifier is the last array of the file, after the RoPE tables.
	total := len(synthetic(h))/4 - 7
	if int(v[len(v)-1]) != total-1 || int(v[0]) != total-h.VocabSize*h.Dim {
		t.Errorf("lm_head spans values %g..%g, want %d..%d", v[0], v[len(v)-1], total-h.VocabSize*h.Dim, total-1)
	}
	// The embedding comes first, then layer 0's attention norm.
	emb := floats(t, mustTensor(t, c, "model.embed_tokens.weight"))
	norm := floats(t, mustTensor(t, c, "model.layers.0.input_layernorm.weight"))
	if emb[0] != 0 || int(norm[0]) != h.VocabSize*h.Dim {
		t.Errorf("embedding starts at %g, layer 0 norm at %g", emb[0], norm[0])
	}
	// w2 (down_proj) of layer 1 follows w1 of every layer.
	down := floats(t, mustTensor(t, c, "model.layers.1.mlp.down_proj.weight"))
	gate0 := floats(t, mustTensor(t, c, "model.layers.0.mlp.gate_proj.weight"))
	if int(down[0]) != int(gate0[0])+2*h.HiddenDim*h.Dim+h.Dim*h.HiddenDim {
		t.Errorf("down_proj[1] starts at %g, gate_proj[0] at %g", down[0], gate0[0])
	}
}

func mustTensor(t *testing.T, c *Checkpoint, name string) safetensors.Tensor {
	t.Helper()
	x, err := c.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestOpenErrors(t *testing.T) {
	good := Header{Dim: 8, HiddenDim: 12, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 5, SeqLen: 3, SharedClassifier: true}
	full := synthetic(good)
	with := func(f func(h *Header)) []byte {
		h := good
		f(&h)
		return synthetic(h)
	}
	magic := append(binary.LittleEndian.AppendUint32(nil, versionMagic), make([]byte, 60)...)
	binary.LittleEndian.PutUint32(magic[4:], 2)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "file is 0 bytes, shorter than the 28-byte llama2.c header"},
		{"short header", full[:20], "file is 20 bytes, shorter than the 28-byte"},
		{"header only", full[:28], "file is 28 bytes, the header (dim 8, 2 layers, vocab 5) needs"},
		{"truncated weights", full[:len(full)/2], "(truncated?)"},
		{"one byte short", full[:len(full)-1], "(truncated?)"},
		{"trailing bytes", append(append([]byte{}, full...), 0, 0, 0, 0), "4 more than the header"},
		{"zero dim", with(func(h *Header) { h.Dim = 0 }), "header dim 0 is out of range"},
		{"heads do not divide dim", with(func(h *Header) { h.NHeads = 3 }), "header n_heads 3 does not divide dim 8"},
		{"kv heads do not divide", with(func(h *Header) { h.NHeads, h.NKVHeads = 4, 3 }), "header n_kv_heads 3 does not divide n_heads 4"},
		{"odd head size", with(func(h *Header) { h.NHeads, h.NKVHeads = 8, 8 }), "head size 1 (dim/n_heads) must be even"},
		{"zero layers", with(func(h *Header) { h.NLayers = 0 }), "header n_layers 0 is out of range"},
		{"versioned export", magic, `versioned export (magic "ak42", version 2) is not supported`},
		{"zero dim says what it is not", with(func(h *Header) { h.Dim = 0 }), "not a llama2.c checkpoint: header dim 0"},
		{"markdown", []byte("# sdtp\n\nsdtp makes long-context LLM inference cheaper with Saliency-driven pruning\n"), "not a llama2.c checkpoint (it holds text)"},
		{"short text", []byte("hello\n"), "not a llama2.c checkpoint (it holds text)"},
		{"config.json", []byte(`{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}`), "not a llama2.c checkpoint (it holds text)"},
		{"safetensors", append(binary.LittleEndian.AppendUint64(nil, 30), `{"__metadata__":{"f":"pt"}}   `...), "not a llama2.c checkpoint (it is a safetensors file); a Hugging Face model is opened from its folder"},
		{"PyTorch zip", append([]byte("PK\x03\x04"), make([]byte, 40)...), "not a llama2.c checkpoint (it is a zip archive, as PyTorch saves its checkpoints)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.data)
			c, err := Open(p)
			if err == nil {
				c.Close()
				t.Fatalf("Open succeeded, want %q", tc.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, p+": ") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line naming the file and containing %q", msg, tc.want)
			}
		})
	}
}

func TestStories260KTruncated(t *testing.T) {
	full, err := os.ReadFile(testdata.Path(t, "llama2c/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{27, 28, 4096, len(full) - 4} {
		p := writeFile(t, full[:cut])
		if c, err := Open(p); err == nil {
			c.Close()
			t.Errorf("Open of the first %d bytes succeeded", cut)
		} else if !strings.HasPrefix(err.Error(), p+": ") || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("cut %d: error %q", cut, err)
		}
	}
}

func TestClose(t *testing.T) {
	h := Header{Dim: 4, HiddenDim: 4, NLayers: 1, NHeads: 2, NKVHeads: 2, VocabSize: 3, SeqLen: 2, SharedClassifier: true}
	c, err := Open(writeFile(t, synthetic(h)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Tensor("model.norm.weight"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Tensor after Close: %v", err)
	}
}

// FuzzParse runs the checkpoint parser on arbitrary bytes: no panic, one-line
// errors naming the file, and every tensor of an accepted file inside it.
func FuzzParse(f *testing.F) {
	f.Add(synthetic(Header{Dim: 4, HiddenDim: 4, NLayers: 1, NHeads: 2, NKVHeads: 1, VocabSize: 3, SeqLen: 2, SharedClassifier: true}))
	f.Add(synthetic(Header{Dim: 4, HiddenDim: 2, NLayers: 2, NHeads: 1, NKVHeads: 1, VocabSize: 2, SeqLen: 1}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parse("m.bin", b)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "m.bin: ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q is not one line naming the file", msg)
			}
			return
		}
		if err := c.Config().Validate(); err != nil {
			t.Fatalf("accepted header gives an invalid config: %v", err)
		}
		for _, n := range c.Names() {
			x, err := c.Tensor(n)
			if err != nil {
				t.Fatal(err)
			}
			if x.NumElements()*4 != len(x.Data) {
				t.Fatalf("%s: shape %v with %d bytes", n, x.Shape, len(x.Data))
			}
		}
	})
}
