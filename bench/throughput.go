package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/runmeta"
	"github.com/sdtp/sdtp/internal/sysinfo"
	"github.com/sdtp/sdtp/model"
)

// Work is one request of a throughput workload: a synthetic prompt of
// Prompt tokens and exactly NewTokens greedy tokens (no early stop).
type Work struct {
	Prompt    int `json:"prompt_tokens"`
	NewTokens int `json:"new_tokens"`
}

// ThroughputOptions choose what Throughput measures.
type ThroughputOptions struct {
	// Configs are the configurations (baseline, prune presets).
	Configs []string
	// Batches are the batch sizes compared; 1 is added first when absent,
	// since every figure is set against batch 1 of the same run.
	Batches []int
	// Work is the workload: every request is sent at once, and the batch
	// size bounds how many decode together.
	Work []Work
	// Workload describes Work in the result ("fixed 16 × 2048+128").
	Workload string
	// KVBudget bounds the KV cache of a batch (generate.BatchOptions).
	KVBudget    int64
	Seed        uint64
	ModuleWidth int
	CommandLine []string
	// Progress hears of each finished (configuration, batch) pair.
	Progress func(ThroughputRow)
}

// ThroughputRow is one configuration at one batch size.
type ThroughputRow struct {
	Config  string  `json:"config"`
	Batch   int     `json:"batch"`
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"`
	// PromptTokens and GeneratedTokens total the workload's requests.
	PromptTokens    int64   `json:"prompt_tokens"`
	GeneratedTokens int64   `json:"generated_tokens"`
	RowsPerSecond   float64 `json:"rows_per_second"`
	TokensPerSecond float64 `json:"generated_tokens_per_second"`
	// Speedup is RowsPerSecond over that of batch 1 of the same
	// configuration in the same run.
	Speedup float64 `json:"speedup"`
	// PeakBatch is the most requests one decode step ran; Steps counts
	// the decode steps.
	PeakBatch  int    `json:"peak_batch"`
	Steps      int64  `json:"decode_steps"`
	DevicePeak int64  `json:"device_peak_bytes"`
	Error      string `json:"error,omitempty"`
}

// ThroughputResult is what `sdtp bench throughput` writes.
type ThroughputResult struct {
	Meta ThroughputMeta  `json:"meta"`
	Rows []ThroughputRow `json:"rows"`
}

// ThroughputMeta records the program, machine, model and workload.
type ThroughputMeta struct {
	runmeta.Meta
	Cores    int    `json:"cores"`
	CPU      string `json:"cpu"`
	Backend  string `json:"backend"`
	Device   string `json:"device"`
	Model    Shape  `json:"model"`
	Workload string `json:"workload"`
	Requests int    `json:"requests"`
	Batches  []int  `json:"batches"`
	KVBudget int64  `json:"kv_budget_bytes"`
}

// Throughput runs the workload on m through a generate.Batcher at every
// batch size, for every configuration, and reports rows and generated
// tokens per second against batch 1. Each pair is preceded by an untimed
// warm-up request. A pair that fails is recorded with its error.
func Throughput(ctx context.Context, m *model.Model, o ThroughputOptions) (*ThroughputResult, error) {
	if len(o.Work) == 0 {
		return nil, fmt.Errorf("bench throughput: no requests")
	}
	for i, w := range o.Work {
		if w.Prompt < 1 || w.NewTokens < 1 {
			return nil, fmt.Errorf("bench throughput: request %d has %d prompt and %d new tokens, want at least 1 each", i, w.Prompt, w.NewTokens)
		}
	}
	batches := slices.Clone(o.Batches)
	if !slices.Contains(batches, 1) {
		batches = append([]int{1}, batches...)
	}
	for _, b := range batches {
		if b < 1 {
			return nil, fmt.Errorf("bench throughput: batch size %d", b)
		}
	}
	c := &m.Config
	cfgs, width, err := configsFor(m, o.Configs, o.ModuleWidth)
	if err != nil {
		return nil, err
	}
	meta := runmeta.New(o.CommandLine)
	meta.Program = "sdtp bench throughput"
	res := &ThroughputResult{Meta: ThroughputMeta{Meta: meta, Cores: runtime.NumCPU(), CPU: sysinfo.CPUModel(), Backend: m.B.Name(), Device: m.B.Device(),
		Model: shapeOf(m), Workload: o.Workload, Requests: len(o.Work), Batches: batches, KVBudget: o.KVBudget}}
	prompts := make([][]int, len(o.Work))
	for i, w := range o.Work {
		prompts[i] = Prompt(w.Prompt, c.Vocab, c.BOS, o.Seed+uint64(i))
	}
	for _, cfg := range cfgs {
		pr, closeFn, err := newPruner(m, cfg, width, o.Seed)
		if err != nil {
			return res, fmt.Errorf("configuration %s: %w", cfg.Name, err)
		}
		var base float64
		for _, b := range batches {
			row, err := throughputPair(ctx, m, o, prompts, pr, cfg.H2O, b)
			if err != nil && ctx.Err() != nil {
				closeFn()
				return res, ctx.Err()
			}
			row.Config = cfg.Name
			if err != nil {
				row.Error = err.Error()
			}
			if b == 1 {
				base = row.RowsPerSecond
			}
			row.Speedup = ratio(row.RowsPerSecond, base)
			res.Rows = append(res.Rows, row)
			if o.Progress != nil {
				o.Progress(row)
			}
		}
		closeFn()
	}
	return res, nil
}

// throughputPair sends every request of the workload at once to a
// batcher of batch size b and times them all.
func throughputPair(ctx context.Context, m *model.Model, o ThroughputOptions, prompts [][]int, pr model.Pruner, kv *h2o.Budget, b int) (ThroughputRow, error) {
	row := ThroughputRow{Batch: b, Rows: len(prompts)}
	bt, err := generate.NewBatcher(m, generate.BatchOptions{MaxBatch: b, KVBudget: o.KVBudget})
	if err != nil {
		return row, err
	}
	defer bt.Close()
	warm := generate.Request{Prompt: prompts[0], MaxTokens: min(2, o.Work[0].NewTokens), Pruner: pr, H2O: kv}
	if _, err := bt.Generate(ctx, nil, warm); err != nil {
		return row, fmt.Errorf("warm-up: %w", err)
	}
	if err := m.B.Sync(); err != nil {
		return row, err
	}
	before := bt.Stats()
	results := make([]*generate.Result, len(prompts))
	errs := make([]error, len(prompts))
	start := time.Now()
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			results[i], errs[i] = bt.Generate(ctx, nil, generate.Request{Prompt: p, MaxTokens: o.Work[i].NewTokens, Pruner: pr, H2O: kv})
		})
	}
	wg.Wait()
	row.Seconds = time.Since(start).Seconds()
	for i, r := range results {
		if errs[i] != nil {
			return row, fmt.Errorf("request %d: %w", i, errs[i])
		}
		row.PromptTokens += int64(r.PromptTokens)
		row.GeneratedTokens += int64(len(r.Tokens))
	}
	st := bt.Stats()
	row.PeakBatch, row.Steps = st.PeakBatch, st.Steps-before.Steps
	_, row.DevicePeak = m.B.Memory()
	row.RowsPerSecond = ratio(float64(row.Rows), row.Seconds)
	row.TokensPerSecond = ratio(float64(row.GeneratedTokens), row.Seconds)
	return row, nil
}

// Save writes the result as indented JSON to path, whole or not at all.
func (r *ThroughputResult) Save(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode throughput result: %w", err)
	}
	return atomicfile.WriteFile(path, append(data, '\n'))
}

// WriteThroughput prints the result as a markdown table.
func WriteThroughput(w io.Writer, r *ThroughputResult) error {
	m := r.Meta
	if _, err := fmt.Fprintf(w, "# Batched decoding throughput: %s on %s (%s)\n\nWorkload: %s (%d requests, all sent at once); KV budget %s.\n\n| config | batch | rows | seconds | rows/s | generated tok/s | × batch 1 | peak batch | decode steps |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
		m.Model.Name, m.Backend, m.Device, m.Workload, m.Requests, budgetText(m.KVBudget)); err != nil {
		return err
	}
	for _, row := range r.Rows {
		if row.Error != "" {
			if _, err := fmt.Fprintf(w, "| %s | %d | failed: %s |  |  |  |  |  |  |\n", row.Config, row.Batch, row.Error); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(w, "| %s | %d | %d | %.2f | %.3g | %.4g | %.2f | %d | %d |\n", row.Config, row.Batch, row.Rows, row.Seconds,
			row.RowsPerSecond, row.TokensPerSecond, row.Speedup, row.PeakBatch, row.Steps); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\n%s, revision %s, %s; command: %s\n", m.Program, m.Revision, m.Start.Format("2006-01-02"), strings.Join(m.Command, " "))
	return err
}

func budgetText(b int64) string {
	switch {
	case b <= 0:
		return "none"
	case b < 1<<30:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", gib(b))
}
