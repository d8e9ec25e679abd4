package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/sdtp/sdtp/generate"
	"github.com/sdtp/sdtp/h2o"
	"github.com/sdtp/sdtp/internal/runmeta"
	"github.com/sdtp/sdtp/internal/sysinfo"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// Progress reports one finished run, or a row that failed.
type Progress struct {
	// Run is how many of the sweep's Runs runs are done (skipped runs of a
	// failed row count as done).
	Run, Runs int
	Length    int
	Config    string
	// Warmup is true for an untimed run; Repeat is the timed run's 1-based
	// index within its row.
	Warmup bool
	Repeat int
	// Prefill and Decode are the run's seconds.
	Prefill, Decode float64
	// Err is set when the row failed; its remaining runs are skipped.
	Err error
	// Elapsed is the sweep's time so far; ETA estimates the rest from the
	// rates seen (prefill FLOPs per second, seconds per decoded token).
	Elapsed, ETA time.Duration
}

// Run measures every (length, configuration) pair of o on m. A row that
// fails (too long for the model, out of memory) is recorded with its error
// and the sweep goes on. Run returns an error only for bad options or when
// ctx ends, in which case the result holds the lengths finished before.
//
// Lengths run in ascending order. At each length the runs are interleaved:
// round k runs every configuration once, so load that comes and goes on
// the machine spreads over all configurations instead of favouring some.
// Within a round the configurations run in ascending order of analytic KV
// cache, so each needs more memory than the one before and the backend's
// peak counter (which never falls) rises during the first round's run of
// each, measuring that configuration alone.
//
// After Warmup + Repeats rounds at a length, more rounds run, up to
// MaxRepeats timed ones, while the prefill or end-to-end speedup of some
// configuration is noisy: its range, from the medians' confidence
// intervals (Stat.MedianInterval), wider than ±NoiseLimit of it. Rows
// still noisy at the bound are marked (Speedup.PrefillNoisy, TotalNoisy).
func Run(ctx context.Context, m *model.Model, o Options) (*Result, error) {
	return run(ctx, m, o, nil)
}

// run is Run with the seconds of each run taken from times when it is not
// nil (see sweep.times).
func run(ctx context.Context, m *model.Model, o Options, times func(n int, cfg string) (float64, float64)) (*Result, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	cfgs, width, err := configsFor(m, o.Configs, o.ModuleWidth)
	if err != nil {
		return nil, err
	}
	s := &sweep{m: m, o: o, width: width, start: time.Now(), times: times}
	s.res.Meta = newMeta(m, o, cfgs, width, s.start)
	for _, cfg := range cfgs {
		p, closeFn, err := newPruner(m, cfg, width, o.Seed)
		if err != nil {
			return nil, fmt.Errorf("configuration %s: %w", cfg.Name, err)
		}
		defer closeFn()
		s.pruners = append(s.pruners, p)
	}
	lengths := sortedLengths(o.Lengths)
	s.res.Meta.Options.Lengths = lengths
	s.plan(lengths, cfgs)

	for _, n := range lengths {
		rows, err := s.length(ctx, n, cfgs)
		if err != nil {
			return &s.res, err
		}
		s.res.Rows = append(s.res.Rows, rows...)
		fillSpeedups(&s.res)
		s.res.Meta.End = time.Now().UTC()
		s.res.Meta.LoadEnd = loadAverage()
		if o.Checkpoint != nil {
			if err := o.Checkpoint(&s.res); err != nil {
				return &s.res, err
			}
		}
	}
	return &s.res, nil
}

// configsFor resolves configuration names on m, and the pruning modules'
// width (0: hidden size / 4).
func configsFor(m *model.Model, names []string, width int) ([]Config, int, error) {
	cfgs, err := ParseConfigs(names, m.Config.Layers)
	if width == 0 {
		width = max(1, m.Config.Hidden/4)
	}
	return cfgs, width, err
}

// sweep is the state of one Run.
type sweep struct {
	m       *model.Model
	o       Options
	width   int
	pruners []model.Pruner
	res     Result
	start   time.Time
	// times, set by tests, replaces each run's measured seconds with
	// synthetic ones (prefill, decode) for length n and configuration
	// cfg, so the repeat and noise logic is tested on known timings.
	times func(n int, cfg string) (prefill, decode float64)

	runs, done int
	// rates learned so far (prefill FLOPs and seconds, decode tokens and
	// seconds) and the work left, for the ETA.
	pfFLOPs, pfSec, dcTok, dcSec    float64
	remainingFLOPs, remainingTokens float64
}

// plan counts the runs and the work of the sweep.
func (s *sweep) plan(lengths []int, cfgs []Config) {
	c := &s.m.Config
	per := s.o.Warmup + s.o.Repeats
	for _, n := range lengths {
		for _, cfg := range cfgs {
			s.remainingFLOPs += float64(per) * c.PrefillFLOPs(cfg.Alive(n, c.Layers))
			s.remainingTokens += float64(per * max(s.o.NewTokens-1, 0))
		}
	}
	s.runs = len(lengths) * len(cfgs) * per
}

// kvOrder returns the indices of cfgs in ascending order of their analytic
// KV cache at length n (stable).
func kvOrder(cfgs []Config, n, layers int) []int {
	kv := make([]int, len(cfgs))
	idx := make([]int, len(cfgs))
	for i, cfg := range cfgs {
		idx[i] = i
		for _, a := range cfg.Alive(n, layers) {
			kv[i] += a
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return kv[a] - kv[b] })
	return idx
}

// rowState accumulates one row's runs.
type rowState struct {
	pre, dec, tot []float64
	hostPeak      int64
	hostScope     string
}

// length measures every configuration at prompt length n and returns one
// row per configuration, in the order of cfgs. It returns an error only
// when ctx ends; other failures are recorded in the rows.
func (s *sweep) length(ctx context.Context, n int, cfgs []Config) ([]Row, error) {
	c := &s.m.Config
	b := s.m.B
	per := s.o.Warmup + s.o.Repeats
	tokEach := float64(max(s.o.NewTokens-1, 0))
	rows := make([]Row, len(cfgs))
	st := make([]rowState, len(cfgs))
	for i, cfg := range cfgs {
		rows[i] = Row{Length: n, Config: cfg.Name, NewTokens: s.o.NewTokens}
		if cfg.Schedule != nil {
			rows[i].Schedule = cfg.Schedule.String()
		}
		st[i].hostScope = "row"
	}
	fail := func(i int, err error, left int) {
		rows[i].Error = err.Error()
		pf := c.PrefillFLOPs(cfgs[i].Alive(n, c.Layers))
		s.done += left
		s.remainingFLOPs -= float64(left) * pf
		s.remainingTokens -= float64(left) * tokEach
		s.report(Progress{Length: n, Config: cfgs[i].Name, Err: err})
	}
	prompt := Prompt(n, c.Vocab, c.BOS, s.o.Seed)
	order := kvOrder(cfgs, n, c.Layers)
	rounds := per // planned so far: grows while the speedups are noisy
	for round := 0; ; round++ {
		if round == rounds {
			if round-s.o.Warmup >= s.o.maxRepeats() || !s.noisy(cfgs, rows, st) {
				break
			}
			s.addRound(n, cfgs, rows)
			rounds++
		}
		for _, i := range order {
			cfg, row := cfgs[i], &rows[i]
			if !row.OK() {
				continue
			}
			if round == 0 {
				if err := s.fits(n, cfg); err != nil {
					fail(i, err, per)
					continue
				}
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if !resetHostPeak() {
				st[i].hostScope = "process"
			}
			usedBefore, peakBefore := b.Memory()
			res, err := s.once(ctx, prompt, s.pruners[i], cfg.H2O)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				fail(i, err, rounds-round)
				continue
			}
			if s.times != nil {
				res.PrefillSeconds, res.DecodeSeconds = s.times(n, cfg.Name)
			}
			st[i].hostPeak = max(st[i].hostPeak, hostPeak())
			if round == 0 {
				_, peakAfter := b.Memory()
				row.Memory.DeviceBefore, row.Memory.DevicePeak, row.Memory.DeviceExact = usedBefore, peakAfter, peakAfter > peakBefore
				row.Alive, row.KVTokens, row.KVBytes = res.Alive, res.KVTokens, res.KVBytes
				for _, v := range res.KVBytes {
					row.KVBytesTotal += v
				}
				var caps []int
				if res.H2O != nil {
					row.H2O, row.H2OKeep, row.KVEvicted = res.H2O.Budget, res.H2O.Keep, res.H2O.Evicted
					caps = res.H2O.Keep
				}
				row.FLOPs = Count(c, cfg.Schedule, s.width, n, res.Alive, res.KVTokens, caps, len(res.Tokens))
			} else if !slices.Equal(row.Alive, res.Alive) || !slices.Equal(row.KVTokens, res.KVTokens) {
				fail(i, fmt.Errorf("run %d kept different tokens than run 1 (alive %v, then %v)", round+1, row.Alive, res.Alive), rounds-round)
				continue
			}
			warm := round < s.o.Warmup
			if !warm {
				st[i].pre = append(st[i].pre, res.PrefillSeconds)
				st[i].dec = append(st[i].dec, res.DecodeSeconds)
				st[i].tot = append(st[i].tot, res.PrefillSeconds+res.DecodeSeconds)
			}
			pf := c.PrefillFLOPs(cfg.Alive(n, c.Layers))
			s.done++
			s.pfFLOPs += pf
			s.pfSec += res.PrefillSeconds
			s.dcTok += tokEach
			s.dcSec += res.DecodeSeconds
			s.remainingFLOPs -= pf
			s.remainingTokens -= tokEach
			s.report(Progress{Length: n, Config: cfg.Name, Warmup: warm, Repeat: round - s.o.Warmup + 1, Prefill: res.PrefillSeconds, Decode: res.DecodeSeconds})
		}
	}
	for i := range rows {
		if !rows[i].OK() {
			continue
		}
		rows[i].Prefill, rows[i].Decode, rows[i].Total = NewStat(st[i].pre), NewStat(st[i].dec), NewStat(st[i].tot)
		rows[i].Memory.HostPeakRSS, rows[i].Memory.HostScope = st[i].hostPeak, st[i].hostScope
	}
	return rows, nil
}

// noisy reports whether, on the timed runs so far at one length, the
// prefill or end-to-end speedup of some configuration over the baseline
// is noisy (see isNoisy).
func (s *sweep) noisy(cfgs []Config, rows []Row, st []rowState) bool {
	b := slices.IndexFunc(cfgs, func(c Config) bool { return c.Name == Baseline })
	if b < 0 || !rows[b].OK() {
		return false
	}
	limit := s.o.noiseLimit()
	bpre, btot := NewStat(st[b].pre), NewStat(st[b].tot)
	for i := range cfgs {
		if i == b || !rows[i].OK() {
			continue
		}
		if isNoisy(bpre, NewStat(st[i].pre), limit) || isNoisy(btot, NewStat(st[i].tot), limit) {
			return true
		}
	}
	return false
}

// addRound adds one round of every configuration still running at length
// n to the sweep's plan, for the progress count and the ETA.
func (s *sweep) addRound(n int, cfgs []Config, rows []Row) {
	c := &s.m.Config
	for i, cfg := range cfgs {
		if rows[i].OK() {
			s.runs++
			s.remainingFLOPs += c.PrefillFLOPs(cfg.Alive(n, c.Layers))
			s.remainingTokens += float64(max(s.o.NewTokens-1, 0))
		}
	}
}

// speedupRange bounds the speedup base.Median ÷ row.Median by the
// medians' confidence intervals.
func speedupRange(base, row Stat) [2]float64 {
	blo, bhi := base.MedianInterval()
	rlo, rhi := row.MedianInterval()
	return [2]float64{ratio(blo, rhi), ratio(bhi, rlo)}
}

// isNoisy reports whether the speedup base.Median ÷ row.Median is noisy:
// its range (speedupRange) wider than ±limit of it, or unknown because a
// side has a single run.
func isNoisy(base, row Stat, limit float64) bool {
	if len(base.Samples) < 2 || len(row.Samples) < 2 {
		return true
	}
	v, rng := ratio(base.Median, row.Median), speedupRange(base, row)
	return (rng[1]-rng[0])/2 > limit*v
}

// once runs one generation, turning a backend panic (a device failure
// surfacing as a programming error) into an error.
func (s *sweep) once(ctx context.Context, prompt []int, p model.Pruner, kv *h2o.Budget) (res *generate.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("backend failure: %v", r)
		}
	}()
	res, err = generate.Run(ctx, s.m, nil, generate.Request{Prompt: prompt, MaxTokens: s.o.NewTokens, Pruner: p, H2O: kv})
	if err == nil {
		err = s.m.B.Sync()
	}
	return res, err
}

// fits refuses a row the model cannot take, or one whose activations and
// KV cache would not fit the host memory on the CPU backend (where running
// out of memory would end the process and lose the sweep).
func (s *sweep) fits(n int, cfg Config) error {
	c := &s.m.Config
	if c.MaxPos > 0 && n+s.o.NewTokens > c.MaxPos {
		hint := ""
		if spec := model.WithPositions(c.Name, n+s.o.NewTokens); spec != c.Name {
			hint = fmt.Sprintf(" (a synthetic shape takes more: --model %s)", spec)
		}
		return fmt.Errorf("prompt of %d tokens + %d new tokens exceeds the model's %d positions%s", n, s.o.NewTokens, c.MaxPos, hint)
	}
	if s.m.B.Name() != "cpu" {
		return nil
	}
	need := hostBytesNeeded(c, n, s.o.NewTokens, cfg.Alive(n, c.Layers))
	if avail := availableMemory(); avail > 0 && need > avail {
		return fmt.Errorf("needs about %.1f GiB of host memory for activations and KV cache, %.1f GiB available", gib(need), gib(avail))
	}
	return nil
}

// hostBytesNeeded is a lower bound on the float32 activation and KV bytes
// of one generation: the forward workspace sized for n rows (see
// model.Forward) plus every layer's cache of alive[l]+newTokens rows.
func hostBytesNeeded(c *model.Config, n, newTokens int, alive []int) int64 {
	return activationBytes(c, n, newTokens, alive, 4)
}

// activationBytes is hostBytesNeeded for elements of elem bytes.
func activationBytes(c *model.Config, n, newTokens int, alive []int, elem int) int64 {
	chunk := int64(min(n, 4096))
	rows := int64(n)
	ws := rows*int64(2*c.Hidden+2*c.QDim()+2*c.KVDim()) + chunk*int64(2*c.FFN+c.Hidden)
	var kv int64
	for _, a := range alive {
		kv += int64(a+newTokens) * int64(2*c.KVDim())
	}
	return int64(elem) * (ws + kv)
}

func gib(b int64) float64 { return float64(b) / (1 << 30) }

// report fills the sweep-wide fields of p and hands it to the callback.
func (s *sweep) report(p Progress) {
	if s.o.Progress == nil {
		return
	}
	p.Run, p.Runs = s.done, s.runs
	p.Elapsed = time.Since(s.start)
	var eta float64
	if s.pfSec > 0 && s.pfFLOPs > 0 {
		eta += s.remainingFLOPs / (s.pfFLOPs / s.pfSec)
	}
	if s.dcTok > 0 {
		eta += s.remainingTokens * s.dcSec / s.dcTok
	}
	p.ETA = time.Duration(max(eta, 0) * float64(time.Second))
	s.o.Progress(p)
}

// newPruner builds the pruner of a configuration: a random-weight module
// for its schedule, run on the model's backend. The baseline has none.
func newPruner(m *model.Model, cfg Config, width int, seed uint64) (model.Pruner, func(), error) {
	if cfg.Schedule == nil {
		return nil, func() {}, nil
	}
	c := &m.Config
	info := prune.ModelInfo{Name: c.Name, Arch: c.Arch, Hidden: c.Hidden, Layers: c.Layers}
	mod, err := prune.NewRandom(info, *cfg.Schedule, width, seed)
	if err != nil {
		return nil, nil, err
	}
	sc, err := prune.NewModuleScorer(m.B, mod)
	if err != nil {
		return nil, nil, err
	}
	return &prune.Pruner{Schedule: *cfg.Schedule, Scorer: sc}, sc.Close, nil
}

// fillSpeedups sets every successful row's ratios against the baseline
// row of its length.
func fillSpeedups(r *Result) {
	for i := range r.Rows {
		row := &r.Rows[i]
		row.Speedup = nil
		base := r.Find(row.Length, Baseline)
		if base == nil || !base.OK() || !row.OK() {
			continue
		}
		sp := &Speedup{
			Prefill:        ratio(base.Prefill.Median, row.Prefill.Median),
			Decode:         ratio(base.Decode.Median, row.Decode.Median),
			Total:          ratio(base.Total.Median, row.Total.Median),
			PrefillRange:   speedupRange(base.Prefill, row.Prefill),
			TotalRange:     speedupRange(base.Total, row.Total),
			PrefillFastest: ratio(base.Prefill.Min, row.Prefill.Min),
			TotalFastest:   ratio(base.Total.Min, row.Total.Min),
			PrefillFLOPs:   ratio(row.FLOPs.Prefill, base.FLOPs.Prefill),
			TotalFLOPs:     ratio(row.FLOPs.Total, base.FLOPs.Total),
			KVBytes:        ratio(float64(row.KVBytesTotal), float64(base.KVBytesTotal)),
			Memory:         ratio(float64(r.PeakMemory(row)), float64(r.PeakMemory(base))),
		}
		if row != base {
			limit := r.Meta.Options.NoiseLimit
			sp.PrefillNoisy = isNoisy(base.Prefill, row.Prefill, limit)
			sp.TotalNoisy = isNoisy(base.Total, row.Total, limit)
		}
		row.Speedup = sp
	}
}

// ratio returns a/b, or 0 when b is 0 (a quantity that was not measured).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// shapeOf describes m's architecture.
func shapeOf(m *model.Model) Shape {
	c := &m.Config
	return Shape{
		Name: c.Name, Arch: c.Arch, Hidden: c.Hidden, FFN: c.FFN, Layers: c.Layers,
		Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Vocab: c.Vocab, MaxPos: c.MaxPos,
		QKVBias: c.QKVBias, TiedEmbeddings: c.TiedEmbeddings, Params: c.ParamCount(), DType: m.Embed.DType().String(),
	}
}

// newMeta describes the program, machine, model and options of a sweep.
func newMeta(m *model.Model, o Options, cfgs []Config, width int, start time.Time) Meta {
	host, _ := os.Hostname()
	names := make([]string, len(cfgs))
	for i, cfg := range cfgs {
		names[i] = cfg.Name
	}
	meta := runmeta.New(o.CommandLine)
	meta.Program, meta.Start = "sdtp bench", start.UTC()
	return Meta{
		Meta:      meta,
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Host:      host,
		Cores:     runtime.NumCPU(),
		CPU:       sysinfo.CPUModel(),
		Backend:   m.B.Name(),
		Device:    m.B.Device(),
		Model:     shapeOf(m),
		LoadStart: loadAverage(),
		Options: Settings{
			Lengths: o.Lengths, Configs: names, NewTokens: o.NewTokens,
			Warmup: o.Warmup, Repeats: o.Repeats, MaxRepeats: o.maxRepeats(), NoiseLimit: o.noiseLimit(),
			Seed: o.Seed, ModuleWidth: width,
		},
	}
}
