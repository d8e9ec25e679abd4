// Package report renders benchmark results (package bench) as markdown: a
// table in the shape of the SDTP paper's Table 2 (per length: FLOPs,
// prefill and end-to-end latency, memory, baseline against each pruned
// configuration), a table of every measured figure, the tokens alive per
// block, LongBench quality against speed when LongBench runs are given,
// and the analytic FLOPs of the paper's Mistral-7B setting next to the
// paper's own numbers.
package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sdtp/sdtp/bench"
)

// Write renders the full report of r: header, Table-2 layout, details,
// alive tokens per block, failures, the quality-versus-speed tables when q
// is not nil, and the FLOPs comparison with the paper.
func Write(w io.Writer, r *bench.Result, q *Quality) error {
	out := &writer{w: w}
	header(out, r)
	out.printf("\n## Latency, FLOPs and memory (layout of the SDTP paper's Table 2)\n\n")
	table2(out, r)
	out.printf("\n%s\n", table2Notes(r))
	out.printf("\n## All measurements\n\n")
	details(out, r)
	out.printf("\n%s\n", detailNotes)
	alive(out, r)
	failures(out, r)
	if q != nil {
		qualitySection(out, r, q)
	}
	out.printf("\n## Analytic FLOPs against the paper (Mistral-7B shape)\n\n")
	paperSection(out)
	return out.err
}

// Table2 writes only the Table-2 layout with its notes: what `sdtp bench`
// prints when it finishes.
func Table2(w io.Writer, r *bench.Result) error {
	out := &writer{w: w}
	table2(out, r)
	out.printf("\n%s\n", table2Notes(r))
	failures(out, r)
	return out.err
}

func header(out *writer, r *bench.Result) {
	m := &r.Meta
	s := &m.Model
	out.printf("# SDTP latency benchmark: %s on %s\n\n", s.Name, m.Backend)
	out.printf("- Model: %s (%s, %d layers, hidden %d, FFN %d, %d query / %d KV heads of %d, vocabulary %d, %s params, %s weights)\n",
		s.Name, s.Arch, s.Layers, s.Hidden, s.FFN, s.Heads, s.KVHeads, s.HeadDim, s.Vocab, humanCount(s.Params), s.DType)
	out.printf("- Device: %s (backend %s; host CPU %s, %d cores)\n", m.Device, m.Backend, m.CPU, m.Cores)
	out.printf("- Sweep: prompts of %s tokens; configurations %s; %d new tokens (greedy, no early stop); %d warmup + %s per row%s; module width %d\n",
		joinInts(m.Options.Lengths), strings.Join(m.Options.Configs, ", "), m.Options.NewTokens, m.Options.Warmup, timedRuns(r), adaptiveNote(r), m.Options.ModuleWidth)
	out.printf("- Program: sdtp %s (git %s, %s, %s/%s); started %s, finished %s\n", m.Version, m.Revision, m.GoVersion, m.OS, m.Arch, stamp(m.Start), stamp(m.End))
	if m.LoadStart > 0 || m.LoadEnd > 0 {
		busy := ""
		if max(m.LoadStart, m.LoadEnd) > float64(m.Cores) {
			busy = "; above the core count, so other work competed for the processor and the timings are noisier"
		}
		out.printf("- Load average (1 minute): %.2f at the start, %.2f at the end, on %d cores%s\n", m.LoadStart, m.LoadEnd, m.Cores, busy)
	}
	if len(m.Command) > 0 {
		out.printf("- Command: `%s`\n", strings.Join(m.Command, " "))
	}
}

// stamp writes a time as RFC 3339 to the second ("" for none).
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// table2 writes one block of rows per length: the baseline's absolute
// figures, then each pruned configuration's with its ratios.
func table2(out *writer, r *bench.Result) {
	fu, mu := units(r)
	memName := "Peak host memory"
	if r.DeviceMemory() {
		memName = "Peak device memory"
	}
	t := newTable(">Length", "Config", ">Prefill "+fu.Name, ">FLOPs reduction", ">Prefill s", ">Prefill speedup",
		">End-to-end s", ">E2E speedup", ">"+memName+" ("+mu.Name+")", ">Memory change")
	for _, n := range r.Lengths() {
		for _, cfg := range r.Configs() {
			row := r.Find(n, cfg)
			if row == nil {
				continue
			}
			if !row.OK() {
				t.add(strconv.Itoa(n), cfg, "failed", "", "", "", "", "", "", "")
				continue
			}
			cells := []string{strconv.Itoa(n), cfg, sig(row.FLOPs.Prefill / fu.Div), "—",
				withSpread(row.Prefill), "—", withSpread(row.Total), "—", memory(r, row, mu), "—"}
			if sp := row.Speedup; sp != nil && cfg != bench.Baseline {
				cells[3] = times(1 / sp.PrefillFLOPs)
				cells[5] = speedup(sp.Prefill, sp.PrefillNoisy)
				cells[7] = speedup(sp.Total, sp.TotalNoisy)
				if sp.Memory > 0 {
					cells[9] = percent(sp.Memory - 1)
				}
			}
			t.add(cells...)
		}
	}
	out.table(t)
}

func table2Notes(r *bench.Result) string {
	mem := "the host's resident-set high-water mark during the row (weights included)"
	if r.DeviceMemory() {
		mem = "the backend's device-memory peak during the row (weights included; ≤ marks a row whose peak did not exceed an earlier row's, so it is only a bound)"
	}
	notes := fmt.Sprintf("Seconds are medians over %s, ± half their range. Prefill is timed to the first token's logits on the host; "+
		"end-to-end adds the greedy decode of %d new tokens. FLOPs are analytic (decoder blocks, last-token logits and the pruning modules' MLPs). "+
		"FLOPs reduction is baseline ÷ configuration; speedups are baseline median ÷ configuration median at the same length. Memory is %s.",
		timedRuns(r), r.Meta.Options.NewTokens, mem)
	if noisy := noisyCount(r); noisy > 0 {
		notes += fmt.Sprintf("\n\n%s marks %d speedup(s) whose range (see the speedup ranges below) is wider than ±%.0f%% of the speedup even after %d timed runs, "+
			"or that rest on a single run: the machine was too noisy (or the runs too few) for the figure to mean much. Rerun on a quieter machine, or allow more runs (--max-repeats).",
			noisyMark, noisy, 100*r.Meta.Options.NoiseLimit, r.Meta.Options.MaxRepeats)
	}
	return notes
}

// timedRuns says how many timed runs the rows got ("3 timed runs", "3 to
// 9 timed runs").
func timedRuns(r *bench.Result) string {
	lo, hi := r.TimedRuns()
	if lo == hi {
		return fmt.Sprintf("%d timed runs", max(hi, r.Meta.Options.Repeats))
	}
	return fmt.Sprintf("%d to %d timed runs", lo, hi)
}

// adaptiveNote says when rows got more runs than planned.
func adaptiveNote(r *bench.Result) string {
	o := &r.Meta.Options
	if o.MaxRepeats <= o.Repeats {
		return ""
	}
	return fmt.Sprintf(" (%d planned, up to %d while a speedup's range was wider than ±%.0f%%)", o.Repeats, o.MaxRepeats, 100*o.NoiseLimit)
}

// noisyCount counts the speedups flagged noisy.
func noisyCount(r *bench.Result) int {
	n := 0
	for i := range r.Rows {
		if sp := r.Rows[i].Speedup; sp != nil {
			if sp.PrefillNoisy {
				n++
			}
			if sp.TotalNoisy {
				n++
			}
		}
	}
	return n
}

const detailNotes = "Fastest columns use each row's fastest timed run instead of the median: on a shared machine, where other work only adds time, " +
	"they are the less disturbed estimate. A speedup's range runs from the baseline's low ÷ the configuration's high to the baseline's high ÷ the configuration's low, " +
	"each low–high a confidence interval for a median: the range of the runs below 8 runs, from 8 runs on the order statistics that hold the median with at least 90% probability. Decode ms/token divides the decode time by the new tokens after the first (the first comes from the prefill's logits). " +
	"Alive is the number of tokens entering the last block; KV is the cache summed over layers after prefill (with an H2O budget, +h2o in the configuration, after its first eviction: the most decoding holds; its decode FLOPs count each layer at most at its budget)."

// details writes every measured figure of every row.
func details(out *writer, r *bench.Result) {
	fu, mu := units(r)
	t := newTable(">Length", "Config", ">Prefill s", ">Decode s", ">Total s", ">Prefill fastest s", ">Total fastest s",
		">Prefill speedup range", ">E2E speedup range", ">Prefill speedup (fastest)", ">E2E speedup (fastest)", ">Decode ms/token",
		">Prefill "+fu.Name, ">Module "+fu.Name, ">End-to-end "+fu.Name, ">Alive", ">KV tokens", ">KV "+mu.Name,
		">Host peak "+mu.Name, ">Device peak "+mu.Name, ">Decode speedup")
	for _, n := range r.Lengths() {
		for _, cfg := range r.Configs() {
			row := r.Find(n, cfg)
			if row == nil || !row.OK() {
				continue
			}
			perTok := "—"
			if row.NewTokens > 1 {
				perTok = sig(1000 * row.Decode.Median / float64(row.NewTokens-1))
			}
			kvTok := 0
			for _, k := range row.KVTokens {
				kvTok += k
			}
			dev := sig(float64(row.Memory.DevicePeak) / mu.Div)
			if !row.Memory.DeviceExact {
				dev = "≤" + dev
			}
			dsp, pfs, tfs, pfr, tfr := "—", "—", "—", "—", "—"
			if sp := row.Speedup; sp != nil && cfg != bench.Baseline {
				dsp, pfs, tfs = times(sp.Decode), times(sp.PrefillFastest), times(sp.TotalFastest)
				pfr, tfr = speedupRange(sp.PrefillRange), speedupRange(sp.TotalRange)
			}
			t.add(strconv.Itoa(n), cfg, withSpread(row.Prefill), withSpread(row.Decode), withSpread(row.Total),
				sig(row.Prefill.Min), sig(row.Total.Min), pfr, tfr, pfs, tfs, perTok,
				sig(row.FLOPs.Prefill/fu.Div), sig(row.FLOPs.Module/fu.Div), sig(row.FLOPs.Total/fu.Div),
				strconv.Itoa(row.Alive[len(row.Alive)-1]), strconv.Itoa(kvTok), sig(float64(row.KVBytesTotal)/mu.Div),
				sig(float64(row.Memory.HostPeakRSS)/mu.Div), dev, dsp)
		}
	}
	out.table(t)
}

// alive lists, for the longest length that ran, the tokens entering each block as
// runs ("1024×4, 922×3").
func alive(out *writer, r *bench.Result) {
	n := 0
	for _, row := range r.Rows {
		if row.OK() {
			n = max(n, row.Length)
		}
	}
	if n == 0 {
		return
	}
	t := newTable("Config", "Tokens entering blocks 0.."+strconv.Itoa(r.Meta.Model.Layers-1)+" (count×blocks)")
	for _, cfg := range r.Configs() {
		row := r.Find(n, cfg)
		if row == nil || !row.OK() {
			continue
		}
		t.add(cfg, runs(row.Alive))
	}
	if len(t.rows) == 0 {
		return
	}
	out.printf("\n## Tokens alive per block at %d tokens\n\n", n)
	out.table(t)
}

func failures(out *writer, r *bench.Result) {
	var lines []string
	for _, row := range r.Rows {
		if !row.OK() {
			lines = append(lines, fmt.Sprintf("- %d tokens, %s: %s", row.Length, row.Config, row.Error))
		}
	}
	if len(lines) > 0 {
		out.printf("\nFailed rows:\n\n%s\n", strings.Join(lines, "\n"))
	}
}

// units picks the FLOPs and memory units for the tables of r.
func units(r *bench.Result) (unit, unit) {
	var fmax float64
	var mmax int64
	for i := range r.Rows {
		row := &r.Rows[i]
		fmax = max(fmax, row.FLOPs.Total)
		mmax = max(mmax, r.PeakMemory(row), row.Memory.HostPeakRSS, row.Memory.DevicePeak)
	}
	return flopsUnit(fmax), bytesUnit(mmax)
}

func withSpread(s bench.Stat) string {
	return fmt.Sprintf("%s ±%.1f%%", sig(s.Median), 100*s.Spread())
}

func memory(r *bench.Result, row *bench.Row, u unit) string {
	v := sig(float64(r.PeakMemory(row)) / u.Div)
	if r.DeviceMemory() && !row.Memory.DeviceExact {
		v = "≤" + v
	}
	return v
}

// runs compresses a list into "value×count" runs.
func runs(v []int) string {
	var parts []string
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && v[j] == v[i] {
			j++
		}
		parts = append(parts, fmt.Sprintf("%d×%d", v[i], j-i))
		i = j
	}
	return strings.Join(parts, ", ")
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// humanCount writes a parameter count as 7.24B or 52.3M.
func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return sig(float64(n)/1e9) + "B"
	case n >= 1e6:
		return sig(float64(n)/1e6) + "M"
	}
	return strconv.FormatInt(n, 10)
}
