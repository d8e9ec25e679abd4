// Package model is the decoder of the Llama family (Llama, Mistral, Qwen2 and
// llama2.c checkpoints): one implementation configured by flags, running on
// any backend. It knows nothing of SDTP: between blocks it calls a Pruner
// hook, which the sdtp package and the evaluation baselines implement.
package model

import (
	"fmt"
	"math"
	"slices"
)

// Config is the shape and the numerical options of a decoder.
type Config struct {
	// Arch names the family: "llama", "mistral", "qwen2" or "llama2c".
	Arch string
	// Name is a label for reports (a folder name or a synthetic shape).
	Name string

	Hidden, FFN, Layers int
	Heads, KVHeads      int
	HeadDim             int
	Vocab               int
	MaxPos              int

	RopeTheta   float64
	RopeScaling *RopeScaling
	NormEps     float64

	// QKVBias adds biases to the q, k and v projections (Qwen2).
	QKVBias bool
	// TiedEmbeddings reuses the embedding matrix as the output classifier.
	TiedEmbeddings bool
	// SlidingWindow, when positive, limits attention to that many previous
	// tokens; sequences longer than it are refused (not implemented).
	SlidingWindow int

	// BOS is the beginning-of-sequence id (-1: none); EOS lists the ids that end generation.
	BOS int
	EOS []int
}

// RopeScaling holds the Llama-3 style frequency scaling ("llama3") or
// plain linear scaling ("linear").
type RopeScaling struct {
	Type                    string
	Factor                  float64
	LowFreqFactor           float64
	HighFreqFactor          float64
	OriginalMaxPositionEmbs int
}

// Validate checks that the shape is consistent.
func (c *Config) Validate() error {
	switch {
	case c.Hidden <= 0 || c.FFN <= 0 || c.Layers <= 0 || c.Vocab <= 0:
		return fmt.Errorf("model config: hidden %d, ffn %d, layers %d, vocab %d must all be positive", c.Hidden, c.FFN, c.Layers, c.Vocab)
	case c.Heads <= 0 || c.KVHeads <= 0 || c.HeadDim <= 0:
		return fmt.Errorf("model config: heads %d, kv heads %d, head dim %d must be positive", c.Heads, c.KVHeads, c.HeadDim)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("model config: %d kv heads do not divide %d heads", c.KVHeads, c.Heads)
	case c.HeadDim%2 != 0:
		return fmt.Errorf("model config: head dim %d is odd (RoPE needs pairs)", c.HeadDim)
	case c.RopeTheta <= 0:
		return fmt.Errorf("model config: rope theta %v must be positive", c.RopeTheta)
	case c.NormEps <= 0:
		return fmt.Errorf("model config: rms norm eps %v must be positive", c.NormEps)
	}
	if s := c.RopeScaling; s != nil {
		switch s.Type {
		case "linear":
			if s.Factor <= 0 {
				return fmt.Errorf("model config: rope_scaling factor %v must be positive", s.Factor)
			}
		case "llama3":
			if s.Factor <= 0 || s.LowFreqFactor <= 0 || s.HighFreqFactor <= s.LowFreqFactor || s.OriginalMaxPositionEmbs <= 0 {
				return fmt.Errorf("model config: llama3 rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor, original_max_position_embeddings > 0")
			}
		default:
			return fmt.Errorf("model config: rope_scaling type %q is not supported (have linear, llama3)", s.Type)
		}
	}
	return nil
}

// QDim is the width of the query projection (heads × head dim).
func (c *Config) QDim() int { return c.Heads * c.HeadDim }

// KVDim is the width of the key and value projections.
func (c *Config) KVDim() int { return c.KVHeads * c.HeadDim }

// InvFreq returns RoPE's inverse frequencies, one per rotated pair, with
// the configured scaling applied (as transformers computes them).
func (c *Config) InvFreq() []float32 {
	half := c.HeadDim / 2
	inv := make([]float64, half)
	for j := range inv {
		inv[j] = 1 / math.Pow(c.RopeTheta, float64(2*j)/float64(c.HeadDim))
	}
	if s := c.RopeScaling; s != nil {
		switch s.Type {
		case "linear":
			for j := range inv {
				inv[j] /= s.Factor
			}
		case "llama3":
			lowWave := float64(s.OriginalMaxPositionEmbs) / s.LowFreqFactor
			highWave := float64(s.OriginalMaxPositionEmbs) / s.HighFreqFactor
			for j, f := range inv {
				wave := 2 * math.Pi / f
				switch {
				case wave < highWave:
				case wave > lowWave:
					inv[j] = f / s.Factor
				default:
					smooth := (float64(s.OriginalMaxPositionEmbs)/wave - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
					inv[j] = (1-smooth)*f/s.Factor + smooth*f
				}
			}
		}
	}
	out := make([]float32, half)
	for j, f := range inv {
		out[j] = float32(f)
	}
	return out
}

// ParamCount returns the number of parameters (embedding and classifier
// counted once when tied).
func (c *Config) ParamCount() int64 {
	d, f, l := int64(c.Hidden), int64(c.FFN), int64(c.Layers)
	q, kv := int64(c.QDim()), int64(c.KVDim())
	perLayer := d*q + 2*d*kv + q*d + 3*d*f + 2*d
	if c.QKVBias {
		perLayer += q + 2*kv
	}
	n := l*perLayer + d + int64(c.Vocab)*d
	if !c.TiedEmbeddings {
		n += int64(c.Vocab) * d
	}
	return n
}

// StopIDs returns the ids that end generation on this model, given the
// tokenizer's end-of-sequence ids (nil without a tokenizer): llama2.c
// checkpoints stop when BOS is sampled, as llama2.c's run does; other
// models at their own and the tokenizer's EOS ids. Negative and repeated
// ids are left out.
func (c *Config) StopIDs(tokenizerEOS []int) []int {
	ids := []int{c.BOS}
	if c.Arch != "llama2c" {
		ids = append(append([]int(nil), c.EOS...), tokenizerEOS...)
	}
	var out []int
	for _, id := range ids {
		if id >= 0 && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
