package bench

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/backend/count"
	_ "github.com/sdtp/sdtp/backend/cpu"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

func TestNewStat(t *testing.T) {
	for _, tc := range []struct {
		in          []float64
		med, lo, hi float64
	}{
		{[]float64{3}, 3, 3, 3},
		{[]float64{3, 1, 2}, 2, 1, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
		{[]float64{5, 5, 1, 9, 5}, 5, 1, 9},
	} {
		s := NewStat(tc.in)
		if s.Median != tc.med || s.Min != tc.lo || s.Max != tc.hi {
			t.Errorf("NewStat(%v) = median %v min %v max %v, want %v %v %v", tc.in, s.Median, s.Min, s.Max, tc.med, tc.lo, tc.hi)
		}
		var sum float64
		for _, v := range tc.in {
			sum += v
		}
		mean := sum / float64(len(tc.in))
		var ss float64
		for _, v := range tc.in {
			ss += (v - mean) * (v - mean)
		}
		sd := 0.0
		if len(tc.in) > 1 {
			sd = math.Sqrt(ss / float64(len(tc.in)-1))
		}
		if math.Abs(s.Mean-mean) > 1e-12 || math.Abs(s.StdDev-sd) > 1e-12 {
			t.Errorf("NewStat(%v) mean %v sd %v, want %v %v", tc.in, s.Mean, s.StdDev, mean, sd)
		}
		if !slices.Equal(s.Samples, tc.in) {
			t.Errorf("NewStat(%v) samples %v: order not kept", tc.in, s.Samples)
		}
	}
	if s := NewStat(nil); s.Median != 0 || s.Samples != nil {
		t.Errorf("NewStat(nil) = %+v", s)
	}
}

func TestPrompt(t *testing.T) {
	for _, tc := range []struct{ n, vocab, bos int }{{1, 10, -1}, {1000, 512, 1}, {4097, 151936, -1}, {3, 2, 5}} {
		ids := Prompt(tc.n, tc.vocab, tc.bos, 7)
		if len(ids) != tc.n {
			t.Fatalf("Prompt(%d) has %d ids", tc.n, len(ids))
		}
		for i, id := range ids {
			if id < 0 || id >= tc.vocab {
				t.Fatalf("Prompt id %d = %d outside [0,%d)", i, id, tc.vocab)
			}
		}
		if tc.bos >= 0 && tc.bos < tc.vocab && ids[0] != tc.bos {
			t.Errorf("Prompt starts with %d, want bos %d", ids[0], tc.bos)
		}
		if !slices.Equal(ids, Prompt(tc.n, tc.vocab, tc.bos, 7)) {
			t.Errorf("Prompt is not deterministic")
		}
	}
	a, b := Prompt(100, 1000, -1, 1), Prompt(100, 1000, -1, 2)
	if slices.Equal(a, b) {
		t.Errorf("seeds 1 and 2 give the same prompt")
	}
	distinct := map[int]bool{}
	for _, id := range Prompt(1000, 151936, -1, 1) {
		distinct[id] = true
	}
	if len(distinct) < 900 {
		t.Errorf("1000 prompt ids over a 151936 vocabulary have only %d distinct values", len(distinct))
	}
}

func TestParseConfigs(t *testing.T) {
	for _, tc := range []struct {
		names []string
		err   string
		locs  [][]int
		h2o   []string
	}{
		{names: []string{"baseline", "paper", "paper-low", "keep0.8"}, locs: [][]int{nil, {4, 7, 10, 13}, {4, 7, 10, 13}, {4, 7, 10, 13}}},
		{names: nil, err: "no configurations"},
		{names: []string{"paper", "paper"}, err: "twice"},
		{names: []string{"fast"}, err: `configuration "fast"`},
		{names: []string{"keep1.5"}, err: "keep ratio"},
		{names: []string{"keepx"}, err: "not a number"},
		{names: []string{"h2o0.4", "paper+h2o0.4:0.25", "keep0.8+h2o512:64"}, locs: [][]int{nil, {4, 7, 10, 13}, {4, 7, 10, 13}}, h2o: []string{"0.4 recent 0.5", "0.4 recent 0.25", "512 recent 64"}},
		{names: []string{"paper+x"}, err: `"x" after + is not an H2O budget`},
		{names: []string{"h2o"}, err: "not an H2O budget"},
		{names: []string{"h2o1.5"}, err: "H2O budget fraction 1.5"},
		{names: []string{"paper+h2o0.4:2.0"}, err: "H2O recent window fraction 2"},
		{names: []string{"nope+h2o0.4"}, err: `configuration "nope+h2o0.4"`},
	} {
		cfgs, err := ParseConfigs(tc.names, 16)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseConfigs(%v) error %v, want %q", tc.names, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseConfigs(%v): %v", tc.names, err)
		}
		for i, cfg := range cfgs {
			var got []int
			if cfg.Schedule != nil {
				got = cfg.Schedule.Locations
			}
			if !slices.Equal(got, tc.locs[i]) {
				t.Errorf("%s locations %v, want %v", cfg.Name, got, tc.locs[i])
			}
			var budget string
			if cfg.H2O != nil {
				budget = cfg.H2O.String()
			}
			if tc.h2o != nil && budget != tc.h2o[i] || tc.h2o == nil && cfg.H2O != nil {
				t.Errorf("%s H2O %q, want %v", cfg.Name, budget, tc.h2o)
			}
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	good := Options{Lengths: []int{8}, Configs: []string{"baseline"}, NewTokens: 2, Repeats: 1}
	if err := good.Check(); err != nil {
		t.Fatalf("good options: %v", err)
	}
	for name, mut := range map[string]func(*Options){
		"no lengths":      func(o *Options) { o.Lengths = nil },
		"zero length":     func(o *Options) { o.Lengths = []int{0} },
		"negative tokens": func(o *Options) { o.NewTokens = -1 },
		"negative warmup": func(o *Options) { o.Warmup = -1 },
		"no repeats":      func(o *Options) { o.Repeats = 0 },
		"negative width":  func(o *Options) { o.ModuleWidth = -1 },
	} {
		o := good
		mut(&o)
		if err := o.Check(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestStatusField(t *testing.T) {
	const status = "Name:\tsdtp\nVmPeak:\t  200 kB\nVmHWM:\t    1234 kB\nThreads: 3\nBad:\tx\nEmpty:\n"
	for _, tc := range []struct {
		key  string
		want int64
		ok   bool
	}{{"VmHWM", 1234 * 1024, true}, {"VmPeak", 200 * 1024, true}, {"Threads", 3, true}, {"Bad", 0, false}, {"Empty", 0, false}, {"VmRSS", 0, false}} {
		got, err := statusField(strings.NewReader(status), tc.key)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("statusField(%s) = %d, %v; want %d ok=%v", tc.key, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzStatusField(f *testing.F) {
	f.Add("VmHWM:\t 12 kB\n", "VmHWM")
	f.Add("MemAvailable: 99\n", "MemAvailable")
	f.Fuzz(func(t *testing.T, text, key string) {
		v, err := statusField(strings.NewReader(text), key)
		if err != nil && v != 0 {
			t.Errorf("error %v with value %d", err, v)
		}
	})
}

func TestHostPeak(t *testing.T) {
	before := hostPeak()
	if before <= 0 {
		t.Skip("no resident-set high-water mark on this system")
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if after := hostPeak(); after < before || after < int64(len(buf)) {
		t.Errorf("peak %d after touching %d bytes (was %d)", after, len(buf), before)
	}
	buf = nil
	if resetHostPeak() {
		if p := hostPeak(); p >= before+64<<20 {
			t.Errorf("peak %d not reset", p)
		}
	}
}

// openTiny opens the tiny synthetic model on the CPU backend.
func openTiny(t *testing.T) *model.Model { return testmodel.Tiny(t, backend.F32, 3) }

func TestRunTiny(t *testing.T) {
	m := openTiny(t)
	var events []Progress
	checkpoints := 0
	o := Options{
		Lengths:   []int{96, 40, 5000},
		Configs:   []string{"baseline", "paper", "keep0.7"},
		NewTokens: 4, Warmup: 1, Repeats: 2, Seed: 1,
		CommandLine: []string{"sdtp", "bench"},
		Progress:    func(p Progress) { events = append(events, p) },
		Checkpoint:  func(*Result) error { checkpoints++; return nil },
	}
	res, err := Run(context.Background(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	if checkpoints != 3 {
		t.Errorf("%d checkpoints, want one per length (3)", checkpoints)
	}
	if got := res.Lengths(); !slices.Equal(got, []int{40, 96, 5000}) {
		t.Errorf("lengths %v, want ascending", got)
	}
	if last := events[len(events)-1]; last.Run != last.Runs || last.Runs != 9*3 {
		t.Errorf("last progress %d/%d, want 27/27", last.Run, last.Runs)
	}
	// Runs are interleaved: each round at a length runs every configuration once.
	for round := 0; round < 3; round++ {
		seen := map[string]bool{}
		for _, ev := range events[3*round : 3*round+3] {
			if ev.Length != 40 || seen[ev.Config] {
				t.Errorf("round %d at length 40: %+v, want each configuration once", round, ev)
			}
			seen[ev.Config] = true
		}
	}
	c := &m.Config
	cfgs, _ := ParseConfigs(o.Configs, c.Layers)
	for _, cfg := range cfgs {
		for _, n := range []int{40, 96} {
			row := res.Find(n, cfg.Name)
			if row == nil || !row.OK() {
				t.Fatalf("row %d %s: %+v", n, cfg.Name, row)
			}
			if want := cfg.Alive(n, c.Layers); !slices.Equal(row.Alive, want) || !slices.Equal(row.KVTokens, want) {
				t.Errorf("%d %s: alive %v kv %v, want %v", n, cfg.Name, row.Alive, row.KVTokens, want)
			}
			if len(row.Total.Samples) != 2 || row.Total.Median <= 0 {
				t.Errorf("%d %s: total %+v, want 2 positive samples", n, cfg.Name, row.Total)
			}
			for i, v := range row.Total.Samples {
				if math.Abs(v-row.Prefill.Samples[i]-row.Decode.Samples[i]) > 1e-12 {
					t.Errorf("%d %s: total sample %d is not prefill + decode", n, cfg.Name, i)
				}
			}
			if row.Speedup == nil {
				t.Fatalf("%d %s: no speedup", n, cfg.Name)
			}
			base := res.Find(n, Baseline)
			if got, want := row.Speedup.Prefill, base.Prefill.Median/row.Prefill.Median; got != want {
				t.Errorf("%d %s: prefill speedup %v, want %v", n, cfg.Name, got, want)
			}
			if got, want := row.Speedup.TotalFastest, base.Total.Min/row.Total.Min; got != want {
				t.Errorf("%d %s: fastest end-to-end speedup %v, want %v", n, cfg.Name, got, want)
			}
			if cfg.Schedule != nil && (row.FLOPs.Module <= 0 || row.Speedup.PrefillFLOPs >= 1 || row.Speedup.KVBytes >= 1) {
				t.Errorf("%d %s: module FLOPs %v, FLOPs ratio %v, KV ratio %v", n, cfg.Name, row.FLOPs.Module, row.Speedup.PrefillFLOPs, row.Speedup.KVBytes)
			}
			if row.Memory.HostPeakRSS <= 0 || row.Memory.DevicePeak <= 0 {
				t.Errorf("%d %s: memory %+v", n, cfg.Name, row.Memory)
			}
		}
		if row := res.Find(5000, cfg.Name); row == nil || !strings.Contains(row.Error, "exceeds the model's 4096 positions (a synthetic shape takes more: --model synthetic:tiny@5K)") {
			t.Errorf("5000-token row of %s: %+v, want a recorded error", cfg.Name, row)
		}
	}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := res.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Meta.Model.Layers != c.Layers || len(back.Rows) != len(res.Rows) || back.Rows[4].Prefill.Median != res.Rows[4].Prefill.Median {
		t.Errorf("round trip lost data")
	}
	// A bench.json written before the meta blocks were one type held its
	// times as RFC 3339 text to the second, in the local zone.
	js, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(raw["meta"], &meta); err != nil {
		t.Fatal(err)
	}
	meta["start"], meta["end"] = "2026-11-26T12:59:00+01:00", "2026-11-26T13:05:10+01:00"
	if raw["meta"], err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if js, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, js, 0o644); err != nil {
		t.Fatal(err)
	}
	old, err := Load(path)
	if err != nil {
		t.Fatalf("old bench.json: %v", err)
	}
	if m := old.Meta; m.Start.UTC().Format(time.RFC3339) != "2026-11-26T11:59:00Z" || m.End.Sub(m.Start) != 6*time.Minute+10*time.Second || m.Command[1] != "bench" || m.Revision != res.Meta.Revision {
		t.Errorf("old bench.json read as %+v", m.Meta)
	}
}

func TestRunBadOptions(t *testing.T) {
	m := openTiny(t)
	for _, o := range []Options{
		{Lengths: []int{8}, Configs: []string{"paper"}, Repeats: 0},
		{Lengths: []int{8}, Configs: []string{"nope"}, Repeats: 1},
	} {
		if _, err := Run(context.Background(), m, o); err == nil {
			t.Errorf("Run(%+v): no error", o)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	m := openTiny(t)
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{Lengths: []int{16, 32}, Configs: []string{"baseline"}, NewTokens: 2, Repeats: 1,
		Progress: func(Progress) { cancel() }}
	res, err := Run(ctx, m, o)
	if err == nil || res == nil || len(res.Rows) != 1 {
		t.Fatalf("cancelled run: err %v, result %+v", err, res)
	}
}

func TestModuleFLOPs(t *testing.T) {
	c, err := model.SyntheticConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	s := prune.Schedule{Locations: []int{2, 5}, Ratio: 0.5}
	// n = 100: stage 1 keeps 50 of 100, stage 2 keeps 25 of 50; both run.
	alive := s.Alive(100, c.Layers)
	d, h := float64(c.Hidden), 16.0
	want := 0.0
	for _, m := range []float64{100, 50} {
		want += 2*m*h*d + m*h + 4*m*h + 2*m
	}
	if got := ModuleFLOPs(&c, s, 16, 100, alive); got != want {
		t.Errorf("ModuleFLOPs = %v, want %v", got, want)
	}
	// n = 6: the protected set (4 + 1) is 5, so stage 1 keeps 5 of 6 and
	// stage 2 keeps 5 of 5 without scoring.
	alive = s.Alive(6, c.Layers)
	want = 2*6*h*d + 6*h + 4*6*h + 2*6
	if got := ModuleFLOPs(&c, s, 16, 6, alive); got != want {
		t.Errorf("ModuleFLOPs(n=6) = %v, want %v", got, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"meta":{"model":{"num_layers":2}},"rows":[{"length":4,"config":"baseline","error":"x"}]}`))
	f.Add([]byte(`{"meta":{"model":{"num_layers":1}},"rows":[{"length":4,"config":"b","alive":[4],"kv_tokens":[4],"kv_bytes":[9],"total_seconds":{"samples":[1]}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		for _, row := range r.Rows {
			if row.OK() && len(row.Alive) != r.Meta.Model.Layers {
				t.Errorf("accepted row with %d alive entries for %d layers", len(row.Alive), r.Meta.Model.Layers)
			}
		}
		_ = r.Lengths()
		_ = r.Configs()
	})
}

// TestAnalyticFLOPsEqualInstrumented is issue 6's acceptance 2: for every
// run of a sweep on the tiny model, the FLOPs the instrumented backend
// counts (every MatMul and Attention, pruning modules included) equal the
// row's analytic count, end to end and, with no decode, for the prefill.
func TestAnalyticFLOPsEqualInstrumented(t *testing.T) {
	cb := count.New(testmodel.CPU(t))
	m := testmodel.Synthetic(t, cb, testmodel.Config(t, "tiny"), model.SyntheticOptions{Seed: 9, DType: backend.BF16})
	for _, newTokens := range []int{0, 1, 5} {
		type run struct {
			n      int
			config string
			flops  int64
		}
		var runs []run
		cb.Reset()
		o := Options{
			Lengths:   []int{3, 7, 30, 100, 257},
			Configs:   []string{"baseline", "paper", "paper-low", "keep0.5", "keep0.9", "h2o0.5", "paper+h2o16:4"},
			NewTokens: newTokens, Warmup: 1, Repeats: 1, Seed: 4, ModuleWidth: 24,
			Progress: func(p Progress) {
				if p.Err != nil {
					t.Errorf("%d %s: %v", p.Length, p.Config, p.Err)
					return
				}
				runs = append(runs, run{p.Length, p.Config, cb.Counts().FLOPs()})
				cb.Reset()
			},
		}
		res, err := Run(context.Background(), m, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2*len(o.Lengths)*len(o.Configs) {
			t.Fatalf("%d runs counted", len(runs))
		}
		for _, r := range runs {
			row := res.Find(r.n, r.config)
			want := row.FLOPs.Total
			if newTokens <= 1 && row.FLOPs.Prefill != want {
				t.Errorf("%d %s: prefill %v and total %v differ with %d new tokens", r.n, r.config, row.FLOPs.Prefill, want, newTokens)
			}
			if float64(r.flops) != want {
				t.Errorf("new tokens %d, %d tokens, %s: instrumented %d FLOPs, analytic %v (module %v)", newTokens, r.n, r.config, r.flops, want, row.FLOPs.Module)
			}
		}
	}
}

// TestRunH2O: a configuration with an H2O budget records each layer's
// budget, starts decoding from min(alive, budget) tokens per layer, evicts
// one token per step of a layer at its budget, and shows the smaller KV
// cache and decode FLOPs in its ratios.
func TestRunH2O(t *testing.T) {
	m := openTiny(t)
	const n, newTokens = 96, 6
	o := Options{Lengths: []int{n}, Configs: []string{"baseline", "h2o0.4", "paper+h2o0.4:8"}, NewTokens: newTokens, Repeats: 1, Seed: 2}
	res, err := Run(context.Background(), m, o)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := ParseConfigs(o.Configs, m.Config.Layers)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range cfgs[1:] {
		row := res.Find(n, cfg.Name)
		if row == nil || !row.OK() {
			t.Fatalf("%s: %+v", cfg.Name, row)
		}
		if row.H2O != cfg.H2O.String() || len(row.H2OKeep) != m.Config.Layers {
			t.Fatalf("%s: h2o %q keep %v", cfg.Name, row.H2O, row.H2OKeep)
		}
		evicted := 0
		for l, a := range cfg.Alive(n, m.Config.Layers) {
			keep, _ := cfg.H2O.Sizes(a)
			if row.H2OKeep[l] != keep || row.KVTokens[l] != min(a, keep) {
				t.Errorf("%s layer %d: budget %d, %d tokens; want %d and %d", cfg.Name, l, row.H2OKeep[l], row.KVTokens[l], keep, min(a, keep))
			}
			evicted += max(0, a+newTokens-1-keep)
		}
		if row.KVEvicted != evicted {
			t.Errorf("%s: %d evicted, want %d", cfg.Name, row.KVEvicted, evicted)
		}
		if sp := row.Speedup; sp == nil || sp.KVBytes >= 0.5 || row.FLOPs.Decode >= res.Find(n, Baseline).FLOPs.Decode {
			t.Errorf("%s: speedup %+v, decode FLOPs %v", cfg.Name, sp, row.FLOPs.Decode)
		}
	}
}
