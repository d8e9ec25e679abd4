package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/sdtp/sdtp/internal/atomicfile"
	"github.com/sdtp/sdtp/internal/runmeta"
)

// Result is one benchmark sweep: how it was run and one row per
// (length, configuration) pair. It is the JSON file `sdtp bench` writes.
type Result struct {
	Meta Meta  `json:"meta"`
	Rows []Row `json:"rows"`
}

// Meta records what produced a result, so a number can be traced to the
// program, the machine and the command that made it.
type Meta struct {
	runmeta.Meta
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	Host      string `json:"host,omitempty"`
	Cores     int    `json:"cores"`
	CPU       string `json:"cpu"`
	Backend   string `json:"backend"`
	Device    string `json:"device"`
	// Devices lists the devices of a multi-device sweep (RunDevices), as
	// "NAME DEVICE"; each row names its own.
	Devices []string  `json:"devices,omitempty"`
	Model   Shape     `json:"model"`
	End     time.Time `json:"end,omitzero"`
	// LoadStart and LoadEnd are the 1-minute load averages when the sweep
	// began and when it last finished a length: above Cores, other work
	// competed for the processor and timings are noisier.
	LoadStart float64  `json:"load_average_start"`
	LoadEnd   float64  `json:"load_average_end"`
	Options   Settings `json:"options"`
}

// UnmarshalJSON reads the block, old field spellings included.
func (m *Meta) UnmarshalJSON(data []byte) error {
	type plain Meta
	return runmeta.Unmarshal(data, (*plain)(m), &m.Meta)
}

// Shape is the model's architecture as the report needs it.
type Shape struct {
	Name           string `json:"name"`
	Arch           string `json:"arch"`
	Hidden         int    `json:"hidden_size"`
	FFN            int    `json:"intermediate_size"`
	Layers         int    `json:"num_layers"`
	Heads          int    `json:"num_heads"`
	KVHeads        int    `json:"num_kv_heads"`
	HeadDim        int    `json:"head_dim"`
	Vocab          int    `json:"vocab_size"`
	MaxPos         int    `json:"max_position_embeddings"`
	QKVBias        bool   `json:"qkv_bias"`
	TiedEmbeddings bool   `json:"tied_embeddings"`
	Params         int64  `json:"params"`
	// DType is the stored type of the weights (BF16 for synthetic models).
	DType string `json:"dtype"`
}

// Settings are the sweep's parameters as run.
type Settings struct {
	Lengths   []int    `json:"lengths"`
	Configs   []string `json:"configs"`
	NewTokens int      `json:"new_tokens"`
	Warmup    int      `json:"warmup"`
	Repeats   int      `json:"repeats"`
	// MaxRepeats and NoiseLimit: rows got up to MaxRepeats timed runs
	// while a speedup's range was wider than ±NoiseLimit of it (absent
	// from results of older versions, which ran Repeats only).
	MaxRepeats  int     `json:"max_repeats,omitempty"`
	NoiseLimit  float64 `json:"noise_limit,omitempty"`
	Seed        uint64  `json:"seed"`
	ModuleWidth int     `json:"module_width"`
}

// Row is one (prompt length, configuration) measurement. When Error is set
// the row did not run to the end and only Length, Config and Schedule are
// meaningful.
type Row struct {
	Length   int    `json:"length"`
	Config   string `json:"config"`
	Schedule string `json:"schedule,omitempty"`
	Error    string `json:"error,omitempty"`
	// Device names the device of a multi-device sweep that measured the
	// row ("cuda:1"); empty for a sweep on one device.
	Device string `json:"device,omitempty"`

	// NewTokens is the number of tokens generated after the prompt.
	NewTokens int `json:"new_tokens"`
	// Prefill runs to the first token's logits on the host; Decode
	// generates the remaining tokens greedily; Total is their sum per run.
	Prefill Stat `json:"prefill_seconds"`
	Decode  Stat `json:"decode_seconds"`
	Total   Stat `json:"total_seconds"`

	// Alive is the number of tokens entering each block during prefill.
	Alive []int `json:"alive"`
	// KVTokens and KVBytes are the cache sizes per layer after prefill
	// (with an H2O budget, after its first eviction: what decoding starts
	// from, and at most what it holds).
	KVTokens     []int   `json:"kv_tokens"`
	KVBytes      []int64 `json:"kv_bytes"`
	KVBytesTotal int64   `json:"kv_bytes_total"`
	// H2O is the configuration's KV budget during decoding ("0.4 recent
	// 0.5"; empty without one), H2OKeep each layer's budget in tokens and
	// KVEvicted the tokens one run evicted, summed over the layers.
	H2O       string `json:"h2o,omitempty"`
	H2OKeep   []int  `json:"h2o_keep,omitempty"`
	KVEvicted int    `json:"kv_evicted,omitempty"`

	FLOPs  FLOPs  `json:"flops"`
	Memory Memory `json:"memory"`
	// Speedup compares this row with the baseline row of the same length;
	// nil when the sweep has no such baseline or either row failed.
	Speedup *Speedup `json:"speedup,omitempty"`
}

// OK reports whether the row ran.
func (r *Row) OK() bool { return r.Error == "" }

// Failed counts the rows that did not run.
func (r *Result) Failed() int {
	n := 0
	for i := range r.Rows {
		if !r.Rows[i].OK() {
			n++
		}
	}
	return n
}

// Stat summarises repeated measurements of one quantity.
type Stat struct {
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Mean    float64   `json:"mean"`
	StdDev  float64   `json:"stddev"`
	Samples []float64 `json:"samples"`
}

// FLOPs are analytic floating-point operation counts (see Count).
type FLOPs struct {
	// Prefill covers the decoder blocks, the last token's logits and the
	// pruning modules (Module is the modules' part of it).
	Prefill float64 `json:"prefill"`
	Module  float64 `json:"module"`
	// Decode covers the decode forward passes: NewTokens−1 of them, since
	// the first new token comes from the prefill's logits.
	Decode float64 `json:"decode"`
	// Total is Prefill + Decode: the end-to-end count.
	Total float64 `json:"total"`
}

// Memory holds the peaks seen while the row ran.
type Memory struct {
	// HostPeakRSS is the resident set's high-water mark in bytes. Scope is
	// "row" when the mark was reset before the row (Linux), "process" when
	// it covers everything the process did before.
	HostPeakRSS int64  `json:"host_peak_rss_bytes"`
	HostScope   string `json:"host_peak_scope"`
	// DeviceBefore is what the backend held before the row (the weights);
	// DevicePeak the most it held at once. DeviceExact is false when the
	// peak did not rise during the row, so DevicePeak is an earlier row's
	// peak and only bounds this row's from above.
	DeviceBefore int64 `json:"device_before_bytes"`
	DevicePeak   int64 `json:"device_peak_bytes"`
	DeviceExact  bool  `json:"device_peak_exact"`
}

// Speedup holds ratios against the baseline row of the same length.
type Speedup struct {
	// Prefill, Decode and Total are baseline median seconds over this row's.
	Prefill float64 `json:"prefill"`
	Decode  float64 `json:"decode"`
	Total   float64 `json:"total"`
	// PrefillFastest and TotalFastest compare the fastest runs instead of
	// the medians: on a shared machine, where other work only ever adds
	// time, they are the less disturbed estimate.
	PrefillFastest float64 `json:"prefill_fastest"`
	TotalFastest   float64 `json:"total_fastest"`
	// PrefillRange and TotalRange bound Prefill and Total by the medians'
	// confidence intervals (Stat.MedianInterval): from the baseline's
	// low ÷ this row's high to the baseline's high ÷ this row's low.
	PrefillRange [2]float64 `json:"prefill_range"`
	TotalRange   [2]float64 `json:"total_range"`
	// PrefillNoisy and TotalNoisy mark a speedup whose range is wider
	// than ±Settings.NoiseLimit of it after the sweep's extra runs, or
	// that rests on a single run (no range to judge): it says little, and
	// reports flag it.
	PrefillNoisy bool `json:"prefill_noisy,omitempty"`
	TotalNoisy   bool `json:"total_noisy,omitempty"`
	// PrefillFLOPs and TotalFLOPs are this row's analytic FLOPs over the baseline's.
	PrefillFLOPs float64 `json:"prefill_flops_ratio"`
	TotalFLOPs   float64 `json:"total_flops_ratio"`
	// KVBytes is this row's total KV cache over the baseline's.
	KVBytes float64 `json:"kv_bytes_ratio"`
	// Memory is this row's peak memory over the baseline's (see PeakMemory).
	Memory float64 `json:"memory_ratio"`
}

// Baseline is the configuration name of the unpruned model.
const Baseline = "baseline"

// Find returns the row for length n and config, or nil.
func (r *Result) Find(n int, config string) *Row {
	for i := range r.Rows {
		if r.Rows[i].Length == n && r.Rows[i].Config == config {
			return &r.Rows[i]
		}
	}
	return nil
}

// Lengths lists the distinct prompt lengths in row order.
func (r *Result) Lengths() []int {
	var out []int
	seen := map[int]bool{}
	for _, row := range r.Rows {
		if !seen[row.Length] {
			seen[row.Length] = true
			out = append(out, row.Length)
		}
	}
	return out
}

// Configs lists the distinct configuration names in the order the sweep
// was asked for (Meta.Options.Configs), then any others in row order.
func (r *Result) Configs() []string {
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, c := range r.Meta.Options.Configs {
		add(c)
	}
	for _, row := range r.Rows {
		add(row.Config)
	}
	return out
}

// TimedRuns returns the fewest and the most timed runs a successful row
// got (rows get more than Settings.Repeats while speedups are noisy).
func (r *Result) TimedRuns() (lo, hi int) {
	for i := range r.Rows {
		if n := len(r.Rows[i].Total.Samples); r.Rows[i].OK() && n > 0 {
			if lo == 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
	}
	return lo, hi
}

// DeviceMemory reports whether the row's peak memory is the backend's
// (device) count rather than the host's resident set: true for every
// backend but the CPU, whose tensors live in host memory anyway.
func (r *Result) DeviceMemory() bool { return r.Meta.Backend != "cpu" }

// PeakMemory is the row's memory figure used for reports and ratios: the
// device peak on a GPU, the host resident-set peak on the CPU.
func (r *Result) PeakMemory(row *Row) int64 {
	if r.DeviceMemory() {
		return row.Memory.DevicePeak
	}
	return row.Memory.HostPeakRSS
}

// Save writes the result as indented JSON to path, through a temporary
// file renamed into place so a reader never sees half a file.
func (r *Result) Save(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode benchmark result: %w", err)
	}
	return atomicfile.WriteFile(path, append(data, '\n'))
}

// Load reads a result written by Save.
func Load(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("benchmark result: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes a result; name labels errors (a file name).
func Parse(data []byte, name string) (*Result, error) {
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a benchmark result: %w", name, err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &r, nil
}

// check rejects results whose rows could not have come from Run.
func (r *Result) check() error {
	if r.Meta.Model.Layers <= 0 {
		return fmt.Errorf("meta.model.num_layers is %d, want a positive layer count", r.Meta.Model.Layers)
	}
	seen := map[[2]string]bool{}
	for i, row := range r.Rows {
		if row.Length <= 0 {
			return fmt.Errorf("rows[%d].length is %d, want a positive token count", i, row.Length)
		}
		if row.Config == "" {
			return fmt.Errorf("rows[%d].config is empty", i)
		}
		key := [2]string{fmt.Sprint(row.Length), row.Config}
		if seen[key] {
			return fmt.Errorf("rows[%d]: length %d config %q appears twice", i, row.Length, row.Config)
		}
		seen[key] = true
		if !row.OK() {
			continue
		}
		if len(row.Alive) != r.Meta.Model.Layers || len(row.KVTokens) != r.Meta.Model.Layers || len(row.KVBytes) != r.Meta.Model.Layers {
			return fmt.Errorf("rows[%d]: alive, kv_tokens and kv_bytes need one entry per layer (%d), have %d, %d, %d",
				i, r.Meta.Model.Layers, len(row.Alive), len(row.KVTokens), len(row.KVBytes))
		}
		if len(row.Total.Samples) == 0 {
			return fmt.Errorf("rows[%d]: total_seconds has no samples", i)
		}
	}
	return nil
}

// Quality is one configuration's score on a quality benchmark (the
// LongBench average), to set against its measured speed.
type Quality struct {
	Config string
	Score  float64
}

// SpeedLength returns the longest of lengths at which every configuration
// scored in q, the baseline aside, has a speedup against the baseline, or
// 0: the length at which quality is set against speed.
func (r *Result) SpeedLength(lengths []int, q []Quality) int {
	n := 0
	for _, l := range lengths {
		all := true
		for _, s := range q {
			if s.Config == Baseline {
				continue
			}
			if row := r.Find(l, s.Config); row == nil || row.Speedup == nil {
				all = false
			}
		}
		if all {
			n = l
		}
	}
	return n
}
