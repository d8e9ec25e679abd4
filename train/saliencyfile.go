package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/sdtp/sdtp/internal/parallel"
)

// SaliencyRecord is one text's line in a saliency file (JSONL): after a
// first line {"meta": {...}}, each line holds one text, in input order.
type SaliencyRecord struct {
	// Line is the text's line in the data file.
	Line int `json:"line"`
	// IDs are the text's token ids (after truncation).
	IDs []int `json:"ids"`
	// Loss is T, the mean next-token cross-entropy the saliency derives from.
	Loss float64 `json:"loss"`
	// Saliency[ℓ][i] is π̂ of token i at the input of block ℓ, for every
	// block of the model.
	Saliency [][]float64 `json:"saliency"`
}

// Saliencies computes every text's saliency at every block (T over its
// last cont predictions; cont = 0: the whole sequence) on up to workers
// goroutines (0: as many as the model likes), for Run.Saliency.
func Saliencies(ctx context.Context, m Frozen, texts [][]int, cont, workers int, progress func(done, total int)) ([][][]float64, error) {
	out := make([][][]float64, len(texts))
	err := parallel.ForEach(ctx, len(texts), m.Workers(workers), "text", func(_, i int) error {
		sal, _, _, err := m.saliency(ctx, texts[i], cont, nil)
		out[i] = sal
		return err
	}, progress)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteSaliency computes the saliency of each text (T over its last cont
// predictions; cont = 0: the whole sequence) and writes one JSON line per
// text to w, in input order, using up to workers goroutines (0:
// GOMAXPROCS). The lines do not depend on the worker count.
func WriteSaliency(ctx context.Context, w io.Writer, m Frozen, texts [][]int, lines []int, cont, workers int, progress func(done, total int)) error {
	if len(lines) != len(texts) {
		return fmt.Errorf("saliency: %d texts but %d line numbers", len(texts), len(lines))
	}
	workers = m.Workers(workers)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type result struct {
		i   int
		rec *SaliencyRecord
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sal, _, loss, err := m.saliency(ctx, texts[i], cont, nil)
				r := result{i: i, err: err}
				if err == nil {
					r.rec = &SaliencyRecord{Line: lines[i], IDs: texts[i], Loss: loss, Saliency: sal}
				}
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range texts {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	pending := map[int]*SaliencyRecord{}
	written := 0
	enc := json.NewEncoder(w)
	for r := range results {
		if r.err != nil {
			cancel()
			return fmt.Errorf("text on line %d: %w", lines[r.i], r.err)
		}
		pending[r.i] = r.rec
		for pending[written] != nil {
			if err := enc.Encode(pending[written]); err != nil {
				cancel()
				return fmt.Errorf("saliency: %w", err)
			}
			delete(pending, written)
			written++
			if progress != nil {
				progress(written, len(texts))
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}
