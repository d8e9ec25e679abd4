// Command llama2cgen writes a random-weight llama2.c model of a given shape,
// for speed comparisons between engines on the very same model
// (scripts/cpu_vs_llamacpp.sh): a legacy llama2.c checkpoint (float32), a
// llama2.c vocabulary file that llama.cpp's llama2c converter accepts, and,
// on request, the same weights as Hugging Face folders in bf16 or f16
// (config.json and model.safetensors), rounded to nearest even as
// llama.cpp's own f32→bf16/f16 conversion rounds them.
//
//	go run ./tools/llama2cgen -out DIR [-dim 896 -ffn 4864 -layers 24 -heads 14 -kv-heads 2 -vocab 32000] [-hf bf16,f16]
//
// Weights are uniform with variance 1/fan_in (the synthetic models' rule),
// norm weights are 1; the classifier is the token embedding (shared).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "llama2cgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("llama2cgen", flag.ContinueOnError)
	var s Shape
	fs.IntVar(&s.Dim, "dim", 896, "model width")
	fs.IntVar(&s.FFN, "ffn", 4864, "feed-forward width")
	fs.IntVar(&s.Layers, "layers", 24, "decoder blocks")
	fs.IntVar(&s.Heads, "heads", 14, "query heads")
	fs.IntVar(&s.KVHeads, "kv-heads", 2, "key/value heads")
	fs.IntVar(&s.Vocab, "vocab", 32000, "vocabulary size (at least 259: 3 special and 256 byte tokens)")
	fs.IntVar(&s.SeqLen, "seq-len", 4096, "maximum sequence length written in the header")
	seed := fs.Uint64("seed", 1, "random seed of the weights")
	out := fs.String("out", "", "output folder (created): model.bin, tokenizer.bin, hf-DTYPE/")
	hf := fs.String("hf", "", "comma-separated Hugging Face copies to write too: bf16, f16, f32")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	if err := s.validate(); err != nil {
		return err
	}
	var dtypes []string
	for _, d := range strings.Split(*hf, ",") {
		switch d = strings.TrimSpace(d); d {
		case "":
		case "bf16", "f16", "f32":
			dtypes = append(dtypes, d)
		default:
			return fmt.Errorf("-hf %q: want bf16, f16 or f32", d)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	return generate(ctx, *out, s, *seed, dtypes, os.Stderr)
}
