package model

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/hfconfig"
)

// SyntheticPrefix marks a model spec that names a synthetic shape.
const SyntheticPrefix = "synthetic:"

// syntheticShapes are the shapes a synthetic model can take: the published
// configurations of the real models (random weights), and small ones for
// tests and CPU demos.
var syntheticShapes = map[string]Config{
	"qwen2-7b":    {Arch: "qwen2", Hidden: 3584, FFN: 18944, Layers: 28, Heads: 28, KVHeads: 4, HeadDim: 128, Vocab: 152064, MaxPos: 131072, RopeTheta: 1e6, NormEps: 1e-6, QKVBias: true, BOS: -1, EOS: []int{151643, 151645}},
	"qwen2-1.5b":  {Arch: "qwen2", Hidden: 1536, FFN: 8960, Layers: 28, Heads: 12, KVHeads: 2, HeadDim: 128, Vocab: 151936, MaxPos: 131072, RopeTheta: 1e6, NormEps: 1e-6, QKVBias: true, TiedEmbeddings: true, BOS: -1, EOS: []int{151643, 151645}},
	"qwen2-0.5b":  {Arch: "qwen2", Hidden: 896, FFN: 4864, Layers: 24, Heads: 14, KVHeads: 2, HeadDim: 64, Vocab: 151936, MaxPos: 131072, RopeTheta: 1e6, NormEps: 1e-6, QKVBias: true, TiedEmbeddings: true, BOS: -1, EOS: []int{151643, 151645}},
	"qwen2-small": {Arch: "qwen2", Hidden: 384, FFN: 2048, Layers: 16, Heads: 6, KVHeads: 2, HeadDim: 64, Vocab: 151936, MaxPos: 32768, RopeTheta: 1e6, NormEps: 1e-6, QKVBias: true, TiedEmbeddings: true, BOS: -1, EOS: []int{151643, 151645}},
	"llama2-7b":   {Arch: "llama", Hidden: 4096, FFN: 11008, Layers: 32, Heads: 32, KVHeads: 32, HeadDim: 128, Vocab: 32000, MaxPos: 4096, RopeTheta: 1e4, NormEps: 1e-5, BOS: 1, EOS: []int{2}},
	"mistral-7b":  {Arch: "mistral", Hidden: 4096, FFN: 14336, Layers: 32, Heads: 32, KVHeads: 8, HeadDim: 128, Vocab: 32000, MaxPos: 32768, RopeTheta: 1e6, NormEps: 1e-5, BOS: 1, EOS: []int{2}},
	"tiny":        {Arch: "llama", Hidden: 64, FFN: 172, Layers: 8, Heads: 4, KVHeads: 2, HeadDim: 16, Vocab: 512, MaxPos: 4096, RopeTheta: 1e4, NormEps: 1e-5, BOS: 1, EOS: []int{2}},
	// qwen2-tiny has Qwen2's vocabulary (for its tokenizer) and a short
	// context: LongBench tests of truncation with a byte-level BPE.
	"qwen2-tiny": {Arch: "qwen2", Hidden: 64, FFN: 172, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16, Vocab: 151936, MaxPos: 1024, RopeTheta: 1e6, NormEps: 1e-6, QKVBias: true, TiedEmbeddings: true, BOS: -1, EOS: []int{151643, 151645}},
}

// SyntheticNames lists the synthetic shapes.
func SyntheticNames() []string {
	var names []string
	for n := range syntheticShapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SyntheticConfig returns the configuration of a named synthetic shape:
// NAME, or NAME@POSITIONS for the shape with that many positions (a count
// such as 131200, or with a K suffix, ×1024: 128K) instead of its
// published ones. Only the limit changes: RoPE and every weight are those
// of the shape, so a synthetic model measures speed at any length.
func SyntheticConfig(name string) (Config, error) {
	base, positions, extended := strings.Cut(strings.TrimPrefix(name, SyntheticPrefix), "@")
	c, ok := syntheticShapes[base]
	if !ok {
		return Config{}, fmt.Errorf("unknown synthetic model %q (have %s; NAME@POSITIONS extends a shape's positions)", name, strings.Join(SyntheticNames(), ", "))
	}
	if extended {
		n, err := parsePositions(positions)
		if err != nil {
			return Config{}, fmt.Errorf("synthetic model %q: positions after @: %w", name, err)
		}
		c.MaxPos = n
	}
	c.Name = SyntheticPrefix + strings.TrimPrefix(name, SyntheticPrefix)
	c.EOS = append([]int(nil), c.EOS...)
	return c, nil
}

// maxSyntheticPositions bounds NAME@POSITIONS (position ids are int32).
const maxSyntheticPositions = 1 << 30

// parsePositions reads a position count: digits, optionally with a K
// suffix (×1024).
func parsePositions(s string) (int, error) {
	mul, t := 1, s
	if v, ok := strings.CutSuffix(t, "K"); ok {
		mul, t = 1024, v
	} else if v, ok := strings.CutSuffix(t, "k"); ok {
		mul, t = 1024, v
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || n > maxSyntheticPositions/mul {
		return 0, fmt.Errorf("%q is not a position count (e.g. 131072 or 128K, at most %d)", s, maxSyntheticPositions)
	}
	return n * mul, nil
}

// WithPositions returns the synthetic spec with at least positions
// positions: spec itself when its shape has them, else NAME@POSITIONS
// (rounded up to a multiple of 1024, written with K). A spec that is not
// synthetic, or already names its positions, is returned as it is.
func WithPositions(spec string, positions int) string {
	name, ok := strings.CutPrefix(spec, SyntheticPrefix)
	if !ok || strings.Contains(name, "@") {
		return spec
	}
	c, ok := syntheticShapes[name]
	if !ok || c.MaxPos >= positions {
		return spec
	}
	return fmt.Sprintf("%s%s@%dK", SyntheticPrefix, name, (positions+1023)/1024)
}

// SyntheticOptions choose the weights of a synthetic model.
type SyntheticOptions struct {
	// Seed makes different models of one shape; the same seed gives the same weights on every backend.
	Seed uint64
	// DType is the weight type (Open uses BF16).
	DType backend.DType
}

// NewSynthetic builds a model of the given shape with deterministic random
// weights, generated by the backend itself (on a GPU, nothing is copied
// from the host). Values are uniform with variance 1/fan_in, so activations
// keep a sane scale through the layers; norm weights are 1.
func NewSynthetic(b backend.Backend, c Config, o SyntheticOptions) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c, B: b, invFreq: c.InvFreq()}
	m.Layers = make([]Layer, c.Layers)
	for _, t := range c.Tensors() {
		var w backend.Weight
		var err error
		if t.Role.IsNorm() {
			w, err = b.ConstWeight(o.DType, 1, t.Cols, 1)
		} else {
			h := fnv.New64a()
			h.Write([]byte(t.Name()))
			w, err = b.RandomWeight(o.DType, t.Rows, t.Cols, o.Seed^h.Sum64(), float32(syntheticScale(t)))
		}
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("synthetic weight %s: %w", t.Name(), err)
		}
		m.weights = append(m.weights, w)
		*m.Slot(t) = w
	}
	if c.TiedEmbeddings {
		m.LMHead = m.Embed
	}
	return m, nil
}

// syntheticScale is the half-width of a synthetic tensor's uniform values:
// variance 1/fan_in for projections and the classifier, 1 for the
// embedding, small for biases.
func syntheticScale(t Tensor) float64 {
	switch {
	case t.Role == hfconfig.Embed:
		return 1
	case t.Role.IsBias():
		return 0.02
	}
	return math.Sqrt(3 / float64(t.Cols))
}
