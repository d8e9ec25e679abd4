package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/sdtp/sdtp/tokenizer"
)

func runTokenize(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "tokenize", "tokenize --tokenizer PATH [--special] [--show] < text\n       sdtp tokenize --tokenizer PATH --decode [--skip-special] < ids")
	path := fs.String("tokenizer", "", "tokenizer.json, a llama2.c tokenizer.bin, or a folder holding one (required)")
	decode := fs.Bool("decode", false, "read token ids (space-, comma- or newline-separated) and print the text")
	special := fs.Bool("special", false, "when encoding, apply the tokenizer's post-processing (e.g. BOS for Llama-2 and llama2.c)")
	skip := fs.Bool("skip-special", false, "when decoding, leave special tokens out (default: render them as text, as Hugging Face does)")
	show := fs.Bool("show", false, "when encoding, print one line per token: id, tab, token text (Go-quoted)")
	if err := parseFlags(fs, args, "tokenizer"); err != nil {
		return err
	}
	tok, err := tokenizer.Load(*path)
	if err != nil {
		return fmt.Errorf("--tokenizer: %w", err)
	}
	in, err := io.ReadAll(e.stdin)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	if *decode {
		ids, err := parseIDs(string(in), tok.VocabSize())
		if err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		text := tok.Decode(ids)
		if *skip {
			text = tok.DecodeSkipSpecial(ids)
		}
		_, err = out.WriteString(text)
		return err
	}
	var ids []int
	if *special {
		ids = tok.EncodeWithSpecial(string(in))
	} else {
		ids = tok.Encode(string(in))
	}
	if *show {
		for _, id := range ids {
			fmt.Fprintf(out, "%d\t%s\n", id, strconv.Quote(tok.TokenText(id)))
		}
		return nil
	}
	for i, id := range ids {
		if i > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(strconv.Itoa(id))
	}
	out.WriteByte('\n')
	return nil
}
