package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/internal/parallel"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/session"
	"github.com/sdtp/sdtp/tokenizer"
)

// CorpusConfig says how to sample a training corpus from a model.
type CorpusConfig struct {
	// Texts is the number of texts; text i is sampled with seed Seed+i.
	Texts int
	Seed  uint64
	// MaxTokens bounds each text's generated tokens.
	MaxTokens   int
	Temperature float64
	TopP        float64
}

// GenerateCorpus samples texts from the models, starting each from the
// tokenizer's BOS (or an empty prompt's special tokens) and stopping at
// EOS, at BOS (llama2.c stories end by starting a new one) or after
// MaxTokens. models holds one loaded model per worker (each on its own
// backend); text i depends only on its seed, not on which worker made it.
func GenerateCorpus(ctx context.Context, models []*model.Model, tok tokenizer.Tokenizer, cfg CorpusConfig, progress func(done, total int)) ([]string, error) {
	if cfg.Texts < 1 || cfg.MaxTokens < 1 {
		return nil, fmt.Errorf("corpus: texts %d and max tokens %d must be positive", cfg.Texts, cfg.MaxTokens)
	}
	if len(models) == 0 {
		return nil, fmt.Errorf("corpus: no model")
	}
	prompt := tok.EncodeWithSpecial("")
	if len(prompt) == 0 {
		if tok.BOS() < 0 {
			return nil, fmt.Errorf("corpus: the tokenizer has no BOS token to start texts from")
		}
		prompt = []int{tok.BOS()}
	}
	stops := append([]int(nil), tok.EOS()...)
	if b := tok.BOS(); b >= 0 {
		stops = append(stops, b)
	}
	out := make([]string, cfg.Texts)
	err := parallel.ForEach(ctx, cfg.Texts, len(models), "corpus text", func(w, i int) error {
		seed := cfg.Seed + uint64(i)
		res, err := generate.Run(ctx, models[w], tok, generate.Request{
			Prompt: prompt, MaxTokens: cfg.MaxTokens, StopIDs: stops,
			Sampling: generate.Sampling{Temperature: cfg.Temperature, TopP: cfg.TopP, Seed: seed},
		})
		if err != nil {
			return fmt.Errorf("seed %d: %w", seed, err)
		}
		out[i] = res.Text
		return nil
	}, progress)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CorpusJSONL encodes texts as JSONL {"text": ...} rows, in order,
// leaving out empty ones (the data readers refuse them); written counts
// the rows.
func CorpusJSONL(texts []string) (jsonl []byte, written int, err error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, t := range texts {
		if strings.TrimSpace(t) == "" {
			continue
		}
		if err := enc.Encode(map[string]string{"text": t}); err != nil {
			return nil, 0, err
		}
		written++
	}
	return buf.Bytes(), written, nil
}

// SampleCorpus samples cfg.Texts texts from the model spec names
// (GenerateCorpus), each worker on its own single-thread CPU copy of it
// (workers 0: one per core), and returns them as JSONL (CorpusJSONL): the
// bytes, the rows written and the texts sampled.
func SampleCorpus(ctx context.Context, spec string, tok tokenizer.Tokenizer, workers int, cfg CorpusConfig, progress func(done, total int)) (jsonl []byte, written, sampled int, err error) {
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	models, closeModels, err := session.OpenCPUModels(spec, min(workers, cfg.Texts))
	if err != nil {
		return nil, 0, 0, err
	}
	defer closeModels()
	texts, err := GenerateCorpus(ctx, models, tok, cfg, progress)
	if err != nil {
		return nil, 0, 0, err
	}
	jsonl, written, err = CorpusJSONL(texts)
	return jsonl, written, len(texts), err
}
