package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sdtp/sdtp/backend"
	_ "github.com/sdtp/sdtp/backend/cpu"
	"github.com/sdtp/sdtp/model"
)

// TestGenerateLoads writes a small model and checks that the checkpoint,
// its f32 Hugging Face copy and its bf16 copy load, that the first two give
// the same logits and the bf16 copy nearly the same.
func TestGenerateLoads(t *testing.T) {
	dir := t.TempDir()
	s := Shape{Dim: 64, FFN: 96, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 300, SeqLen: 32}
	if err := generate(context.Background(), dir, s, 7, []string{"f32", "bf16"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := backend.Open("cpu", backend.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	logits := func(spec string) []float32 {
		m, err := model.Open(b, spec)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m.Config.Hidden != s.Dim || m.Config.FFN != s.FFN || m.Config.Layers != s.Layers || m.Config.KVHeads != s.KVHeads || m.Config.Vocab != s.Vocab {
			t.Fatalf("%s: config %+v, want the shape %+v", spec, m.Config, s)
		}
		out, err := m.Forward(context.Background(), []int{1, 50, 299}, []int32{0, 1, 2}, m.NewCache(0), model.ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	bin := logits(filepath.Join(dir, "model.bin"))
	f32 := logits(filepath.Join(dir, "hf-f32"))
	bf16 := logits(filepath.Join(dir, "hf-bf16"))
	var maxAbs, maxDiff float64
	for i := range bin {
		if bin[i] != f32[i] {
			t.Fatalf("logit %d: checkpoint %v, f32 folder %v", i, bin[i], f32[i])
		}
		maxAbs = max(maxAbs, abs(float64(bin[i])))
		maxDiff = max(maxDiff, abs(float64(bin[i]-bf16[i])))
	}
	if maxAbs == 0 || maxDiff > 0.05*maxAbs || maxDiff == 0 {
		t.Fatalf("bf16 logits differ from f32 by %g (largest logit %g): want a small nonzero rounding difference", maxDiff, maxAbs)
	}
}

// TestVocab checks the llama2.c vocabulary layout llama.cpp's converter reads.
func TestVocab(t *testing.T) {
	var buf bytes.Buffer
	if err := writeVocab(&buf, 300); err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(buf.Bytes())
	var longest uint32
	binary.Read(r, binary.LittleEndian, &longest)
	var got []string
	for range 300 {
		var score float32
		var n uint32
		binary.Read(r, binary.LittleEndian, &score)
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatal(err)
		}
		got = append(got, string(p))
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes after the last token", r.Len())
	}
	for i, want := range map[int]string{0: "<unk>", 1: "<s>", 2: "</s>", 3: "<0x00>", 258: "<0xFF>", 299: "tok299"} {
		if got[i] != want {
			t.Errorf("token %d = %q, want %q", i, got[i], want)
		}
	}
	if int(longest) != len("tok299") {
		t.Errorf("max token length %d, want %d", longest, len("tok299"))
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{
		{},                              // no -out
		{"-out", "x", "-heads", "5"},    // 896 % 5
		{"-out", "x", "-kv-heads", "3"}, // 14 % 3
		{"-out", "x", "-vocab", "100"},  // too few tokens
		{"-out", "x", "-hf", "q4"},      // unknown dtype
	} {
		if err := run(context.Background(), args); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
	if _, err := os.Stat("x"); err == nil {
		t.Errorf("a rejected run made the folder x")
	}
}
