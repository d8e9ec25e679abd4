package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/progress"
	"github.com/sdtp/sdtp/train"
)

func runSaliency(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "saliency", "saliency --model M [--tokenizer T] --data FILE --out FILE [flags]")
	var df dataFlags
	df.register(fs, 2)
	cont := fs.Int("continuation", 0, "take T over the predictions of the last C tokens' continuation only (rows n−C−1…n−2), as training does; 0: over the whole sequence")
	out := fs.String("out", "", "JSONL file to write: a meta line, then one line per text with its ids, loss and saliency[block][token]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	if err := atomicfile.CheckTarget(*out); err != nil {
		return fmt.Errorf("--out %w", err)
	}
	if *cont < 0 {
		return fmt.Errorf("--continuation %d must not be negative", *cont)
	}
	df.requireTokens(*cont+2, fmt.Sprintf("--continuation %d (with a prompt of 2 or more before it)", *cont))
	tx, err := df.load(e)
	if err != nil {
		return err
	}
	defer tx.Close()
	m, texts, lines := tx.Model, tx.IDs, tx.Lines
	hdr := train.SaliencyHeader{Meta: newMeta(e, &df), Format: train.SaliencyFormat, Layers: m.Config().Layers, Hidden: m.Config().Hidden, Texts: len(texts), Continuation: *cont}
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	pr := progress.New(e.stderr)
	var salErr error // the computation's own error, reported without the --out prefix
	err = atomicfile.Write(*out, func(w io.Writer) error {
		if _, err := w.Write(append(js, '\n')); err != nil {
			return err
		}
		salErr = train.WriteSaliency(ctx, w, m, texts, lines, *cont, df.workers, func(done, total int) { pr.Update("saliency", done, total) })
		return salErr
	})
	pr.End()
	if salErr != nil {
		return salErr
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s: saliency of %d texts at the input of each of %d blocks\n", *out, len(texts), m.Config().Layers)
	return nil
}
