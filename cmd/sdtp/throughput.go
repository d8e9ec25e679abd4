package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/internal/progress"
	"github.com/sdtp/sdtp/longbench"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/session"
)

// runBenchThroughput is 'sdtp bench throughput': requests sent at once
// through the batching engine at several batch sizes, rows and generated
// tokens per second against batch 1 in the same run.
func runBenchThroughput(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench throughput", "bench throughput [--model M] [--batch 1,8,16] [--configs baseline,paper] [--workload fixed --requests 16 --prompt 2048 --new-tokens 128 | --workload longbench --lengths-from DIR --requests 64] [--out FILE]")
	var so session.Options
	fs.StringVar(&so.Model, "model", "", "model: synthetic:NAME (random weights; "+strings.Join(model.SyntheticNames(), ", ")+"), a Hugging Face folder or a llama2.c .bin (default: synthetic:qwen2-small on cpu, synthetic:qwen2-7b on cuda)")
	registerBackend(fs, &so, "cpu, cuda, or auto (cuda when a GPU is usable, else cpu)")
	batchList := fs.String("batch", "1,8,16", "batch sizes to compare, comma-separated (1 is always measured: the figures are against it)")
	configs := fs.String("configs", "baseline", "configurations, comma-separated: "+bench.ConfigHelp)
	workload := fs.String("workload", "fixed", "fixed: --requests prompts of --prompt tokens, --new-tokens each; longbench: --requests rows drawn (by --seed) from the LongBench predictions in --lengths-from, their prompt and generated lengths")
	requests := fs.Int("requests", 16, "requests in the workload, all sent at once")
	promptLen := fs.Int("prompt", 2048, "prompt tokens of each request (--workload fixed)")
	newTokens := fs.Int("new-tokens", 128, "new tokens of each request, greedy with no early stop (--workload fixed)")
	lengthsFrom := fs.String("lengths-from", "", "folder of LongBench prediction files (an sdtp run, or an official results log such as shared/testdata/longbench/pred/llama2-7b-chat) whose rows give the lengths (--workload longbench)")
	maxLen := fs.Int("max-length", 0, "cut the drawn prompts to this many tokens, as 'longbench run --max-length' does (--workload longbench; 0: the model's positions)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic prompts, the rows drawn and the random pruning modules")
	kv := registerKVBudget(fs)
	out := fs.String("out", "", "also write the result as JSON to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := kv.check(); err != nil {
		return err
	}
	var batches []int
	for _, f := range splitList(*batchList) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("--batch %q: %q is not a batch size", *batchList, f)
		}
		batches = append(batches, n)
	}
	if len(batches) == 0 {
		return fmt.Errorf("--batch: no batch sizes")
	}
	if *requests < 1 {
		return fmt.Errorf("--requests %d must be at least 1", *requests)
	}
	b, err := session.OpenBackend(so)
	if err != nil {
		return err
	}
	defer b.Close()
	if !flagSet(fs, "model") {
		so.Model = bench.DefaultModel(b.Name())
	}
	m, err := session.OpenModel(b, so.Model)
	if err != nil {
		return err
	}
	defer m.Close()

	var work []bench.Work
	var desc string
	switch *workload {
	case "fixed":
		if *promptLen < 1 || *newTokens < 1 {
			return fmt.Errorf("--prompt %d and --new-tokens %d must be at least 1", *promptLen, *newTokens)
		}
		for range *requests {
			work = append(work, bench.Work{Prompt: *promptLen, NewTokens: *newTokens})
		}
		desc = fmt.Sprintf("fixed: %d prompt + %d new tokens each", *promptLen, *newTokens)
	case "longbench":
		if *lengthsFrom == "" {
			return missingFlag(fs, "lengths-from")
		}
		if *maxLen < 0 {
			return fmt.Errorf("--max-length %d must not be negative", *maxLen)
		}
		shapes, err := longbench.RequestShapes(*lengthsFrom, m.Config.MaxPos)
		if err != nil {
			return fmt.Errorf("--lengths-from: %w", err)
		}
		cut := m.Config.MaxPos
		if *maxLen > 0 {
			cut = *maxLen
			for i := range shapes {
				shapes[i].PromptTokens = min(shapes[i].PromptTokens, *maxLen)
			}
		}
		r := rand.New(rand.NewPCG(*seed, 0x6c62))
		r.Shuffle(len(shapes), func(i, j int) { shapes[i], shapes[j] = shapes[j], shapes[i] })
		var pt, nt int
		for _, s := range shapes[:min(*requests, len(shapes))] {
			work = append(work, bench.Work{Prompt: s.PromptTokens, NewTokens: s.NewTokens})
			pt += s.PromptTokens
			nt += s.NewTokens
		}
		desc = fmt.Sprintf("LongBench-shaped: %d of the %d rows of %s (seed %d), prompts cut to %d tokens, mean %d prompt + %.1f new tokens",
			len(work), len(shapes), *lengthsFrom, *seed, cut, pt/len(work), float64(nt)/float64(len(work)))
	default:
		return fmt.Errorf("--workload %q: want fixed or longbench", *workload)
	}
	budget, err := kv.budget(b)
	if err != nil {
		return err
	}
	cfgs := splitList(*configs)
	pairs := len(cfgs) * len(batches)
	if !slices.Contains(batches, 1) {
		pairs += len(cfgs)
	}
	fmt.Fprintf(e.stderr, "sdtp bench throughput: %s on %s (%s); %d requests, %s; batch sizes %v\n", m.Config.Name, b.Name(), b.Device(), len(work), desc, batches)
	pr := progress.New(e.stderr)
	done := 0
	res, err := bench.Throughput(ctx, m, bench.ThroughputOptions{
		Configs: cfgs, Batches: batches, Work: work, Workload: desc, KVBudget: budget, Seed: *seed, CommandLine: e.argv,
		Progress: func(r bench.ThroughputRow) {
			done++
			if r.Error != "" {
				pr.Warn("sdtp bench throughput: failed", "config", r.Config, "batch", r.Batch, "error", r.Error)
			}
			pr.Update("throughput", done, pairs, "config", r.Config, "batch", r.Batch, "seconds", fmt.Sprintf("%.2f", r.Seconds), "rows_per_s", fmt.Sprintf("%.3g", r.RowsPerSecond))
		},
	})
	pr.End()
	if res != nil {
		if werr := bench.WriteThroughput(e.stdout, res); werr != nil {
			return werr
		}
		if *out != "" {
			if werr := res.Save(*out); werr != nil {
				return fmt.Errorf("--out: %w", werr)
			}
		}
	}
	return err
}
