package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/progress"
	"github.com/sdtp/sdtp/kvcache"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/plot"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/report"
	"github.com/sdtp/sdtp/session"
)

// benchFiles are the names of what `sdtp bench` writes into its folder.
const (
	benchJSON   = "bench.json"
	benchReport = "report.md"
)

func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "throughput" {
		return runBenchThroughput(ctx, e, args[1:])
	}
	fs := newFlags(e, "bench", "bench [--model M] [--lengths 1024,2048,...] [--configs baseline,paper,keep0.8,...] [--new-tokens 128] [--warmup W] [--repeats R] [--max-repeats M] [--out DIR]")
	var so session.Options
	fs.StringVar(&so.Model, "model", "", "model: synthetic:NAME (random weights; "+strings.Join(model.SyntheticNames(), ", ")+"; NAME@128K for more positions), a Hugging Face folder or a llama2.c .bin (default: synthetic:qwen2-small on cpu, synthetic:qwen2-7b on cuda)")
	registerBackend(fs, &so, "cpu, cuda, or auto (cuda when a GPU is usable, else cpu)")
	lengths := fs.String("lengths", "", "prompt lengths in tokens, comma-separated (default: 256,512,1024,2048 on cpu; 1024,2048,...,32768 on cuda, then 65536 and 131072 as far as the GPU's free memory allows, a synthetic model's positions extended to them)")
	configs := fs.String("configs", "", "configurations, comma-separated: "+bench.ConfigHelp+" (default: baseline,paper,keep0.8,keep0.7 on cpu, plus paper-low on cuda)")
	newTokens := fs.Int("new-tokens", 0, "tokens to generate after each prompt, greedy with no early stop (default: 32 on cpu, 128 on cuda)")
	warmup := fs.Int("warmup", 1, "untimed runs per row before the timed ones")
	repeats := fs.Int("repeats", 3, "timed runs per row (the tables show their median)")
	maxRepeats := fs.Int("max-repeats", bench.DefaultMaxRepeats, "timed runs per row at most: more rounds of every configuration run while a speedup's range is wider than --noise-limit (at or below --repeats: none)")
	noiseLimit := fs.Float64("noise-limit", bench.DefaultNoiseLimit, "a speedup whose range (from the medians' confidence intervals) is wider than ± this fraction of it is noisy: it gets more runs, then a † in the table, report and figures")
	seed := fs.Uint64("seed", 1, "seed of the synthetic prompts and of the random pruning-module weights")
	width := fs.Int("module-width", 0, "hidden width of the random pruning modules (0: hidden size / 4)")
	out := fs.String("out", "", "folder for "+benchJSON+", "+benchReport+" and the figures (default: a new bench-YYYYMMDD-HHMMSS in the current folder)")
	noPlots := fs.Bool("no-plots", false, "skip the figures")
	devList := fs.String("devices", "", "GPU indices, comma-separated (e.g. 0,1,2,3): the configurations are dealt over them and each device measures its share at the same time, with a copy of the model of its own (instead of --device)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	devices, err := parseDevices(*devList)
	if err != nil {
		return err
	}
	if devices != nil && flagSet(fs, "device") {
		return fmt.Errorf("give --device or --devices, not both")
	}
	if devices == nil {
		devices = []int{so.Device}
	}
	so.Device = devices[0]
	b, err := session.OpenBackend(so)
	if err != nil {
		return err
	}
	defer b.Close()
	o := bench.DefaultOptions(b.Name())
	if !flagSet(fs, "model") {
		so.Model = bench.DefaultModel(b.Name())
	}
	if flagSet(fs, "lengths") {
		if o.Lengths, err = bench.ParseLengths(*lengths); err != nil {
			return fmt.Errorf("--lengths: %w", err)
		}
	}
	if flagSet(fs, "configs") {
		o.Configs = splitList(*configs)
	}
	if flagSet(fs, "new-tokens") {
		o.NewTokens = *newTokens
	}
	o.Warmup, o.Repeats, o.MaxRepeats, o.NoiseLimit, o.Seed, o.ModuleWidth, o.CommandLine = *warmup, *repeats, *maxRepeats, *noiseLimit, *seed, *width, e.argv
	if err := o.Check(); err != nil {
		return err
	}
	if o.NoiseLimit == 0 { // the library's "default"; the flag's default is explicit
		return fmt.Errorf("--noise-limit %v: must be positive and finite", o.NoiseLimit)
	}
	if !flagSet(fs, "lengths") {
		o.Lengths = longDefaults(b, so.Model, o)
		// A synthetic shape gets the positions its longest default needs.
		so.Model = model.WithPositions(so.Model, slices.Max(o.Lengths)+o.NewTokens)
	}

	m, err := session.OpenModel(b, so.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	devs := []bench.Device{{Name: fmt.Sprintf("%s:%d", b.Name(), devices[0]), Model: m}}
	for _, d := range devices[1:] {
		sd := so
		sd.Device = d
		bd, err := session.OpenBackend(sd)
		if err != nil {
			return fmt.Errorf("--devices %d: %w", d, err)
		}
		defer bd.Close()
		md, err := session.OpenModel(bd, so.Model)
		if err != nil {
			return fmt.Errorf("--devices %d: %w", d, err)
		}
		defer md.Close()
		devs = append(devs, bench.Device{Name: fmt.Sprintf("%s:%d", bd.Name(), d), Model: md})
	}
	if _, err := bench.ParseConfigs(o.Configs, m.Config.Layers); err != nil {
		return fmt.Errorf("--configs: %w", err)
	}
	if o.ModuleWidth > 0 {
		if err := prune.CheckWidth(o.ModuleWidth, m.Config.Hidden); err != nil {
			return fmt.Errorf("--module-width: %w", err)
		}
	}

	dir := *out
	if dir == "" {
		dir = "bench-" + time.Now().Format("20060102-150405")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	jsonPath := filepath.Join(dir, benchJSON)
	o.Checkpoint = func(r *bench.Result) error { return r.Save(jsonPath) }
	prog := progress.New(e.stderr)
	o.Progress = func(ev bench.Progress) {
		if ev.Err != nil {
			prog.Warn("sdtp bench: row failed", "length", ev.Length, "config", ev.Config, "err", ev.Err)
			return
		}
		run := "warmup"
		if !ev.Warmup {
			run = fmt.Sprintf("run %d", ev.Repeat)
		}
		prog.Show(progress.Status{Phase: "bench", Done: ev.Run, Total: ev.Runs, ETA: ev.ETA, Fields: []any{"length", ev.Length, "config", ev.Config,
			"run", run, "prefill_s", fmt.Sprintf("%.3f", ev.Prefill), "decode_s", fmt.Sprintf("%.3f", ev.Decode)}})
	}
	runs := fmt.Sprint(o.Repeats)
	if o.MaxRepeats > o.Repeats {
		runs = fmt.Sprintf("%d (up to %d while a speedup's range is wider than ±%g%%)", o.Repeats, o.MaxRepeats, 100*o.NoiseLimit)
	}
	fmt.Fprintf(e.stderr, "sdtp bench: %s on %s (%s); lengths %s; configs %s; %d new tokens; %d warmup + %s timed runs per row; writing %s\n",
		m.Config.Name, b.Name(), b.Device(), bench.FormatLengths(o.Lengths), strings.Join(o.Configs, ","), o.NewTokens, o.Warmup, runs, dir)

	var res *bench.Result
	var runErr error
	if len(devs) > 1 {
		fmt.Fprintf(e.stderr, "sdtp bench: configurations dealt over %d devices, measured at the same time\n", len(devs))
		res, runErr = bench.RunDevices(ctx, devs, o)
	} else {
		res, runErr = bench.Run(ctx, m, o)
	}
	prog.End()
	if res == nil {
		return runErr
	}
	if err := writeBenchOutputs(e, dir, res, !*noPlots); err != nil {
		return err
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return fmt.Errorf("interrupted; the rows finished so far are in %s", dir)
		}
		return runErr
	}
	if n := len(res.Rows); n > 0 && res.Failed() == n {
		return fmt.Errorf("every one of the %d rows failed (first: %s); see %s", n, res.Rows[0].Error, filepath.Join(dir, benchReport))
	}
	return nil
}

// longDefaults returns the default lengths with bench.LongLengths added
// as far as the device's free memory (less the weights of the model spec
// names) allows: on a backend that reports its free memory (a GPU).
func longDefaults(b backend.Backend, spec string, o bench.Options) []int {
	fm, ok := b.(backend.FreeMemoryer)
	if !ok {
		return o.Lengths
	}
	c, err := model.ReadConfig(spec)
	if err != nil {
		return o.Lengths // opening the model will say why
	}
	free, _, err := fm.FreeMemory()
	if err != nil {
		return o.Lengths
	}
	elem := kvcache.ElemBytes(b)
	return bench.ExtendLengths(o.Lengths, bench.LongLengths, &c, o.NewTokens, free-c.ParamCount()*int64(elem), elem)
}

// writeBenchOutputs saves the JSON, the report and the figures of res in
// dir, prints the Table-2 layout on stdout and says where everything is.
func writeBenchOutputs(e *env, dir string, res *bench.Result, figures bool) error {
	if err := res.Save(filepath.Join(dir, benchJSON)); err != nil {
		return err
	}
	if err := writeReportFile(filepath.Join(dir, benchReport), res, nil); err != nil {
		return err
	}
	written := []string{benchJSON, benchReport}
	if figures && len(res.Rows) > 0 {
		paths, err := plot.Write(dir, res, nil)
		if err != nil {
			fmt.Fprintf(e.stderr, "sdtp bench: figures: %v\n", err)
		}
		for _, p := range paths {
			written = append(written, filepath.Base(p))
		}
	}
	if err := report.Table2(e.stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nResults in %s/: %s\n", dir, strings.Join(written, ", "))
	return nil
}

// writeReportFile renders the full report of res (with LongBench quality
// q, when not nil) into path.
func writeReportFile(path string, res *bench.Result, q *report.Quality) error {
	return atomicfile.Write(path, func(w io.Writer) error { return report.Write(w, res, q) })
}
