package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/parallel"
	"github.com/sdtp/sdtp/internal/progress"
	"github.com/sdtp/sdtp/ruler"
)

// exportedSample is one line of 'ruler export': a sample with its
// references, for reading or for training a model on the task format.
type exportedSample struct {
	ID           string   `json:"id"`
	Task         string   `json:"task"`
	Length       int      `json:"length"`
	Index        int      `json:"index"`
	Prompt       string   `json:"prompt"`
	AnswerPrefix string   `json:"answer_prefix"`
	Outputs      []string `json:"outputs"`
	Tokens       int      `json:"tokens"`
	NewTokens    int      `json:"new_tokens"`
}

func rulerExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ruler export", "ruler export --tokenizer TOK --out FILE.jsonl [--tasks T,...] [--lengths 4K,...] [--samples N] [--first I] [--seed S] [--chat-template NAME]")
	tokPath := fs.String("tokenizer", "", "the model's tokenizer (tokenizer.json, tokenizer.bin or a folder) (required)")
	out := fs.String("out", "", "JSONL file of samples: id, task, length, index, prompt, answer_prefix, outputs, tokens, new_tokens (required; written whole or not at all)")
	taskList := fs.String("tasks", "all", "comma-separated tasks, or all, or niah (the eight needle tasks)")
	lengthList := fs.String("lengths", "4K", "target lengths in the tokenizer's tokens, e.g. 2K,4K,8K")
	samples := fs.Int("samples", 10, "samples per task and length")
	first := fs.Int("first", 0, "index of the first sample (samples first … first+samples-1, as 'ruler run' numbers them)")
	seed := fs.Uint64("seed", 42, "seed of the samples (RULER's default random_seed is 42; use another for training data that evaluation at 42 never shows)")
	tmplName := fs.String("chat-template", "", rulerTemplateHelp())
	if err := parseFlags(fs, args, "tokenizer", "out"); err != nil {
		return err
	}
	if *samples < 1 {
		return fmt.Errorf("--samples %d: want at least 1", *samples)
	}
	if *first < 0 {
		return fmt.Errorf("--first %d must not be negative", *first)
	}
	tasks, lengths, err := rulerTasksAndLengths(*taskList, *lengthList)
	if err != nil {
		return err
	}
	if err := atomicfile.CheckTarget(*out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	g, err := rulerTokenizerSamples(*tokPath, *tmplName, *seed)
	if err != nil {
		return err
	}
	type job struct {
		task          ruler.Task
		length, index int
	}
	var jobs []job
	for _, t := range tasks {
		for _, l := range lengths {
			for i := range *samples {
				jobs = append(jobs, job{t, l, *first + i})
			}
		}
	}
	made := make([]ruler.Sample, len(jobs))
	pr := progress.New(e.stderr)
	err = parallel.ForEach(ctx, len(jobs), 0, "sample", func(_, k int) error {
		j := jobs[k]
		var err error
		made[k], err = g.Generate(ctx, j.task, j.length, j.index)
		return err
	}, func(done, total int) { pr.Update("samples", done, total) })
	pr.End()
	if err != nil {
		return err
	}
	return atomicfile.Write(*out, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, s := range made {
			line := exportedSample{ID: s.ID, Task: s.Task, Length: s.Length, Index: s.Index, Prompt: s.Prompt,
				AnswerPrefix: s.AnswerPrefix, Outputs: s.Outputs, Tokens: s.Tokens, NewTokens: s.NewTokens}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	})
}
