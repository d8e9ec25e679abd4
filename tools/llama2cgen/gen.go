package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/llama2c"
	"github.com/sdtp/sdtp/safetensors"
)

// Shape is the llama2.c header of the model to write.
type Shape struct {
	Dim, FFN, Layers, Heads, KVHeads, Vocab, SeqLen int
}

func (s Shape) validate() error {
	switch {
	case s.Dim <= 0 || s.FFN <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.SeqLen <= 0:
		return fmt.Errorf("-dim, -ffn, -layers, -heads, -kv-heads and -seq-len must be positive")
	case s.Dim%s.Heads != 0 || (s.Dim/s.Heads)%2 != 0:
		return fmt.Errorf("-heads %d must divide -dim %d into heads of even width", s.Heads, s.Dim)
	case s.Heads%s.KVHeads != 0:
		return fmt.Errorf("-kv-heads %d must divide -heads %d", s.KVHeads, s.Heads)
	case s.Vocab < 3+256:
		return fmt.Errorf("-vocab %d must be at least 259 (3 special and 256 byte tokens)", s.Vocab)
	}
	return nil
}

func (s Shape) headDim() int { return s.Dim / s.Heads }
func (s Shape) kvDim() int   { return s.headDim() * s.KVHeads }

// generate writes model.bin and tokenizer.bin into dir, then one Hugging
// Face folder per dtype; progress goes to log.
func generate(ctx context.Context, dir string, s Shape, seed uint64, dtypes []string, log io.Writer) error {
	bin := filepath.Join(dir, "model.bin")
	fmt.Fprintf(log, "writing %s\n", bin)
	if err := atomicfile.Write(bin, func(w io.Writer) error { return writeCheckpoint(ctx, w, s, seed) }); err != nil {
		return err
	}
	vocab := filepath.Join(dir, "tokenizer.bin")
	fmt.Fprintf(log, "writing %s\n", vocab)
	if err := atomicfile.Write(vocab, func(w io.Writer) error { return writeVocab(w, s.Vocab) }); err != nil {
		return err
	}
	for _, dt := range dtypes {
		hf := filepath.Join(dir, "hf-"+dt)
		fmt.Fprintf(log, "writing %s\n", hf)
		if err := writeHF(ctx, bin, hf, dt); err != nil {
			return err
		}
	}
	return nil
}

// writeCheckpoint writes the legacy llama2.c format: seven int32 (a positive
// vocabulary size: shared classifier), then the float32 arrays in llama2.c's
// order, RoPE tables included.
func writeCheckpoint(ctx context.Context, out io.Writer, s Shape, seed uint64) error {
	w := bufio.NewWriterSize(out, 1<<20)
	for _, v := range []int{s.Dim, s.FFN, s.Layers, s.Heads, s.KVHeads, s.Vocab, s.SeqLen} {
		if err := binary.Write(w, binary.LittleEndian, int32(v)); err != nil {
			return err
		}
	}
	fan := func(n int) float32 { return float32(math.Sqrt(3 / float64(n))) }
	d, kv, l := s.Dim, s.kvDim(), s.Layers
	arrays := []struct {
		name  string
		n     int
		scale float32 // 0: every value is 1 (norm weights)
	}{
		{"token_embedding_table", s.Vocab * d, 1},
		{"rms_att_weight", l * d, 0},
		{"wq", l * d * d, fan(d)},
		{"wk", l * kv * d, fan(d)},
		{"wv", l * kv * d, fan(d)},
		{"wo", l * d * d, fan(d)},
		{"rms_ffn_weight", l * d, 0},
		{"w1", l * s.FFN * d, fan(d)},
		{"w2", l * d * s.FFN, fan(s.FFN)},
		{"w3", l * s.FFN * d, fan(d)},
		{"rms_final_weight", d, 0},
	}
	var buf [4]byte
	put := func(v float32) error {
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
		_, err := w.Write(buf[:])
		return err
	}
	for _, a := range arrays {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := fnv.New64a()
		h.Write([]byte(a.name))
		as := seed ^ h.Sum64()
		for i := range a.n {
			v := float32(1)
			if a.scale != 0 {
				v = backend.RandomValue(as, uint64(i)) * a.scale
			}
			if err := put(v); err != nil {
				return err
			}
		}
	}
	// freq_cis_real and freq_cis_imag: cos and sin of pos·10000^(-2i/hd).
	hd := s.headDim()
	for _, f := range []func(float64) float64{math.Cos, math.Sin} {
		for p := range s.SeqLen {
			for i := range hd / 2 {
				theta := float64(p) * math.Pow(10000, -float64(2*i)/float64(hd))
				if err := put(float32(f(theta))); err != nil {
					return err
				}
			}
		}
	}
	return w.Flush()
}

// writeVocab writes a llama2.c tokenizer.bin of n tokens: <unk>, <s>, </s>,
// the 256 byte tokens <0xXX>, then "tok<i>" pieces, all of score 0 but the
// pieces' (-i, so earlier pieces merge first).
func writeVocab(out io.Writer, n int) error {
	w := bufio.NewWriter(out)
	pieces := make([]string, n)
	pieces[0], pieces[1], pieces[2] = "<unk>", "<s>", "</s>"
	for b := range 256 {
		pieces[3+b] = fmt.Sprintf("<0x%02X>", b)
	}
	for i := 3 + 256; i < n; i++ {
		pieces[i] = fmt.Sprintf("tok%d", i)
	}
	longest := 0
	for _, p := range pieces {
		longest = max(longest, len(p))
	}
	if err := binary.Write(w, binary.LittleEndian, uint32(longest)); err != nil {
		return err
	}
	for i, p := range pieces {
		score := float32(0)
		if i >= 3+256 {
			score = -float32(i)
		}
		for _, v := range []any{score, uint32(len(p))} {
			if err := binary.Write(w, binary.LittleEndian, v); err != nil {
				return err
			}
		}
		if _, err := w.WriteString(p); err != nil {
			return err
		}
	}
	return w.Flush()
}

// writeHF writes the checkpoint at bin as a Hugging Face Llama folder with
// weights of dtype dt (bf16, f16 or f32), under the names and in the RoPE
// layout the llama2c package presents.
func writeHF(ctx context.Context, bin, dir, dt string) error {
	ck, err := llama2c.Open(bin)
	if err != nil {
		return err
	}
	defer ck.Close()
	c := ck.Config()
	stDType, round := map[string]string{"bf16": "BF16", "f16": "F16", "f32": "F32"}[dt], map[string]func(float32) uint16{
		"bf16": backend.F32ToBF16, "f16": backend.F32ToF16}[dt]
	var tensors []safetensors.Tensor
	for _, name := range ck.Names() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "lm_head.weight" && c.TieWordEmbeddings {
			continue
		}
		t, err := ck.Tensor(name)
		if err != nil {
			return err
		}
		data := t.Data
		if round != nil {
			n := len(t.Data) / 4
			data = make([]byte, 2*n)
			for i := range n {
				v := math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
				binary.LittleEndian.PutUint16(data[2*i:], round(v))
			}
		}
		tensors = append(tensors, safetensors.Tensor{Name: name, DType: stDType, Shape: t.Shape, Data: data})
	}
	cfg := map[string]any{
		"architectures":           c.Architectures,
		"model_type":              c.ModelType,
		"hidden_size":             c.HiddenSize,
		"intermediate_size":       c.IntermediateSize,
		"num_hidden_layers":       c.NumHiddenLayers,
		"num_attention_heads":     c.NumAttentionHeads,
		"num_key_value_heads":     c.NumKeyValueHeads,
		"head_dim":                c.HeadDim,
		"vocab_size":              c.VocabSize,
		"max_position_embeddings": c.MaxPositionEmbeddings,
		"rope_theta":              c.RopeTheta,
		"rms_norm_eps":            c.RMSNormEps,
		"tie_word_embeddings":     c.TieWordEmbeddings,
		"hidden_act":              c.HiddenAct,
		"bos_token_id":            1,
		"eos_token_id":            2,
		"torch_dtype":             map[string]string{"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[dt],
	}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "config.json"), append(js, '\n')); err != nil {
		return err
	}
	return safetensors.Write(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"})
}
