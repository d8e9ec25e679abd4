// Package llama2c reads llama2.c legacy checkpoints (a 7-int32 header, then
// float32 arrays) and presents their weights under the Hugging Face Llama
// tensor names, so a model loader needs one path for both formats.
//
// llama2.c applies RoPE to adjacent pairs (2i, 2i+1) of each head, while
// Hugging Face rotates pairs (i, i+d/2). Tensor returns q_proj and k_proj with
// their rows permuted into the Hugging Face order (as transformers' own
// conversion script does), so the checkpoint runs with the Hugging Face RoPE
// and gives the same attention scores. All other tensors alias the mapping.
package llama2c

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/sdtp/sdtp/hfconfig"
	"github.com/sdtp/sdtp/internal/filekind"
	"github.com/sdtp/sdtp/internal/mmap"
)

// headerBytes is the size of the legacy header: seven little-endian int32.
const headerBytes = 7 * 4

// versionMagic starts the newer llama2.c export formats ("ak42").
const versionMagic = 0x616b3432

// Limits far above any llama2.c model keep size arithmetic in int64 range.
const (
	maxDim    = 1 << 20
	maxLayers = 1 << 12
	maxVocab  = 1 << 22
	maxSeq    = 1 << 22
)

// Header is the legacy checkpoint header.
type Header struct {
	Dim       int // transformer width
	HiddenDim int // feed-forward width
	NLayers   int
	NHeads    int
	NKVHeads  int
	VocabSize int // always positive here; the file's sign is in SharedClassifier
	SeqLen    int // maximum sequence length
	// SharedClassifier is true when the output classifier is the token
	// embedding (a positive vocab_size in the file).
	SharedClassifier bool
}

// HeadDim returns Dim / NHeads.
func (h Header) HeadDim() int { return h.Dim / h.NHeads }

// KVDim returns the width of the key and value projections.
func (h Header) KVDim() int { return h.HeadDim() * h.NKVHeads }

// Checkpoint is an open, memory-mapped llama2.c checkpoint. Its read methods
// are safe for concurrent use; Close must not race with them.
type Checkpoint struct {
	Header Header
	path   string
	data   []byte // the mapping; nil once closed
	slots  map[string]slot
	names  []string
}

// slot locates one tensor: a float32 offset into the file's weights and a shape.
type slot struct {
	off   int // in float32 elements after the header
	shape []int
	// ropeHeads > 0 marks q_proj/k_proj, whose rows are permuted per head.
	ropeHeads int
}

// Open maps path and validates its header and size. The size must match the
// header exactly (embedding, per-layer weights, final norm, the two RoPE
// tables, and the classifier when it is not shared).
func Open(path string) (*Checkpoint, error) {
	return mmap.MapWith(path, func(data []byte) (*Checkpoint, error) { return parse(path, data) })
}

// parse validates the checkpoint held in data and builds its tensor table.
func parse(path string, data []byte) (*Checkpoint, error) {
	if len(data) < headerBytes {
		if what := filekind.Describe(data); what != "" && len(data) > 0 {
			return nil, notCheckpoint(path, what)
		}
		return nil, fmt.Errorf("%s: file is %d bytes, shorter than the %d-byte llama2.c header (truncated?)", path, len(data), headerBytes)
	}
	var v [7]int
	for i := range v {
		v[i] = int(int32(binary.LittleEndian.Uint32(data[4*i:])))
	}
	if uint32(v[0]) == versionMagic {
		return nil, fmt.Errorf("%s: llama2.c versioned export (magic \"ak42\", version %d) is not supported; export with the legacy format", path, v[1])
	}
	h := Header{Dim: v[0], HiddenDim: v[1], NLayers: v[2], NHeads: v[3], NKVHeads: v[4], VocabSize: v[5], SeqLen: v[6]}
	h.SharedClassifier = h.VocabSize > 0
	if h.VocabSize < 0 {
		h.VocabSize = -h.VocabSize
	}
	if err := h.validate(); err != nil {
		// The legacy format has no magic number: a header out of range is
		// how another kind of file shows. Name the kind when it is known,
		// rather than quoting its bytes as sizes.
		if what := filekind.Describe(data); what != "" {
			return nil, notCheckpoint(path, what)
		}
		return nil, fmt.Errorf("%s: not a llama2.c checkpoint: %w", path, err)
	}
	c := &Checkpoint{Header: h, path: path, data: data, slots: map[string]slot{}}
	end := c.layout()
	want := int64(headerBytes) + 4*int64(end)
	if got := int64(len(data)); got != want {
		if got < want {
			return nil, fmt.Errorf("%s: file is %d bytes, the header (dim %d, %d layers, vocab %d) needs %d (truncated?)", path, got, h.Dim, h.NLayers, h.VocabSize, want)
		}
		return nil, fmt.Errorf("%s: file is %d bytes, %d more than the header (dim %d, %d layers, vocab %d) describes", path, got, got-want, h.Dim, h.NLayers, h.VocabSize)
	}
	return c, nil
}

// notCheckpoint is the error for a file that filekind recognises as
// something else: what completes "it ...".
func notCheckpoint(path, what string) error {
	hint := ""
	if what == filekind.Safetensors {
		hint = "; a Hugging Face model is opened from its folder (config.json and the safetensors weights)"
	}
	return fmt.Errorf("%s: not a llama2.c checkpoint (it %s)%s", path, what, hint)
}

// validate checks the header fields against each other and sane limits.
func (h Header) validate() error {
	fields := []struct {
		name  string
		v, hi int
	}{
		{"dim", h.Dim, maxDim}, {"hidden_dim", h.HiddenDim, maxDim}, {"n_layers", h.NLayers, maxLayers},
		{"n_heads", h.NHeads, maxDim}, {"n_kv_heads", h.NKVHeads, maxDim}, {"vocab_size", h.VocabSize, maxVocab},
		{"seq_len", h.SeqLen, maxSeq},
	}
	for _, f := range fields {
		if f.v <= 0 || f.v > f.hi {
			return fmt.Errorf("header %s %d is out of range (1 to %d)", f.name, f.v, f.hi)
		}
	}
	switch {
	case h.Dim%h.NHeads != 0:
		return fmt.Errorf("header n_heads %d does not divide dim %d", h.NHeads, h.Dim)
	case h.NHeads%h.NKVHeads != 0:
		return fmt.Errorf("header n_kv_heads %d does not divide n_heads %d", h.NKVHeads, h.NHeads)
	case h.HeadDim()%2 != 0:
		return fmt.Errorf("header head size %d (dim/n_heads) must be even for rotary embeddings", h.HeadDim())
	}
	return nil
}

// layout records every tensor's slot in file order and returns the total
// number of float32 values after the header.
func (c *Checkpoint) layout() int {
	h := c.Header
	off := 0
	add := func(name string, ropeHeads int, shape ...int) {
		c.slots[name] = slot{off: off, shape: shape, ropeHeads: ropeHeads}
		c.names = append(c.names, name)
		n := 1
		for _, d := range shape {
			n *= d
		}
		off += n
	}
	// stacked adds one tensor per layer from an array of nLayers blocks.
	stacked := func(r hfconfig.Role, ropeHeads int, shape ...int) {
		for l := 0; l < h.NLayers; l++ {
			add(hfconfig.TensorName(r, l), ropeHeads, shape...)
		}
	}
	embed := hfconfig.TensorName(hfconfig.Embed, 0)
	add(embed, 0, h.VocabSize, h.Dim)
	stacked(hfconfig.AttnNorm, 0, h.Dim)
	stacked(hfconfig.Q, h.NHeads, h.Dim, h.Dim)
	stacked(hfconfig.K, h.NKVHeads, h.KVDim(), h.Dim)
	stacked(hfconfig.V, 0, h.KVDim(), h.Dim)
	stacked(hfconfig.O, 0, h.Dim, h.Dim)
	stacked(hfconfig.MLPNorm, 0, h.Dim)
	stacked(hfconfig.Gate, 0, h.HiddenDim, h.Dim) // w1
	stacked(hfconfig.Down, 0, h.Dim, h.HiddenDim) // w2
	stacked(hfconfig.Up, 0, h.HiddenDim, h.Dim)   // w3
	add(hfconfig.TensorName(hfconfig.FinalNorm, 0), 0, h.Dim)
	off += 2 * h.SeqLen * h.HeadDim() / 2 // freq_cis_real, freq_cis_imag: unused
	head := hfconfig.TensorName(hfconfig.LMHead, 0)
	if h.SharedClassifier {
		c.slots[head] = c.slots[embed]
		c.names = append(c.names, head)
	} else {
		add(head, 0, h.VocabSize, h.Dim)
	}
	sort.Strings(c.names)
	return off
}
