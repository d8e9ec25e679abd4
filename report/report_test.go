package report

import (
	"bytes"
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sdtp/sdtp/backend"
	_ "github.com/sdtp/sdtp/backend/cpu"
	"github.com/sdtp/sdtp/bench"
	"github.com/sdtp/sdtp/model"
)

var (
	tinyOnce sync.Once
	tinyRes  *bench.Result
	tinyErr  error
)

// tinyResult runs a small real sweep once: tiny synthetic model on the CPU,
// two lengths that run and one that the model cannot take.
func tinyResult(t *testing.T) *bench.Result {
	t.Helper()
	tinyOnce.Do(func() {
		b, err := backend.Open("cpu", backend.Options{Threads: 2})
		if err != nil {
			tinyErr = err
			return
		}
		c, err := model.SyntheticConfig("tiny")
		if err != nil {
			tinyErr = err
			return
		}
		m, err := model.NewSynthetic(b, c, model.SyntheticOptions{Seed: 5, DType: backend.BF16})
		if err != nil {
			tinyErr = err
			return
		}
		defer m.Close()
		res, err := bench.Run(context.Background(), m, bench.Options{
			Lengths: []int{48, 160, 4096}, Configs: []string{"baseline", "paper", "keep0.7"},
			NewTokens: 3, Warmup: 0, Repeats: 3, Seed: 2, CommandLine: []string{"sdtp", "bench", "--model", "synthetic:tiny"},
		})
		tinyRes, tinyErr = res, err
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyRes
}

var leadingNumber = regexp.MustCompile(`^[≤]?([+-]?[0-9]+(?:\.([0-9]+))?)`)

// checkCell parses the number a cell starts with and checks it equals want
// to the precision printed.
func checkCell(t *testing.T, where, cell string, want float64) {
	t.Helper()
	m := leadingNumber.FindStringSubmatch(cell)
	if m == nil {
		t.Errorf("%s: cell %q holds no number (want %v)", where, cell, want)
		return
	}
	got, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	tol := 0.5*math.Pow(10, -float64(len(m[2]))) + 1e-9*math.Abs(want)
	if math.Abs(got-want) > tol {
		t.Errorf("%s: report says %s, JSON says %v", where, cell, want)
	}
}

// spreadOf returns the percentage after "±" in a cell.
func spreadOf(t *testing.T, where, cell string) string {
	_, after, ok := strings.Cut(cell, "±")
	if !ok {
		t.Errorf("%s: no spread in %q", where, cell)
	}
	return after
}

// parseTable returns the header cells and rows of the markdown table whose
// header starts with prefix.
func parseTable(t *testing.T, md, prefix string) ([]string, [][]string) {
	t.Helper()
	lines := strings.Split(md, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		split := func(l string) []string {
			cells := strings.Split(strings.Trim(l, "|"), " | ")
			for j := range cells {
				cells[j] = strings.TrimSpace(cells[j])
			}
			return cells
		}
		head := split(l)
		var rows [][]string
		for _, r := range lines[i+2:] {
			if !strings.HasPrefix(r, "|") {
				break
			}
			rows = append(rows, split(r))
		}
		return head, rows
	}
	t.Fatalf("no table starting %q in\n%s", prefix, md)
	return nil, nil
}

func TestReportNumbersEqualJSON(t *testing.T) {
	res := tinyResult(t)
	// Round-trip through the JSON file format, as `sdtp report` reads it.
	var buf bytes.Buffer
	path := t.TempDir() + "/bench.json"
	if err := res.Save(path); err != nil {
		t.Fatal(err)
	}
	res, err := bench.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(&buf, res, nil); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	fu, mu := units(res)

	head, rows := parseTable(t, md, "| Length | Config | Prefill "+fu.Name+" | FLOPs reduction")
	checked := 0
	for _, cells := range rows {
		n, _ := strconv.Atoi(cells[0])
		row := res.Find(n, cells[1])
		if row == nil {
			t.Fatalf("table 2 row %v matches no JSON row", cells)
		}
		if !row.OK() {
			if cells[2] != "failed" {
				t.Errorf("failed row %d %s shows %q", n, row.Config, cells[2])
			}
			continue
		}
		sp := row.Speedup
		for j, h := range head {
			where := "table 2 " + cells[0] + " " + cells[1] + " " + h
			c := cells[j]
			if c == "—" {
				if row.Config != bench.Baseline && h != "Prefill "+fu.Name {
					t.Errorf("%s: pruned row shows no value", where)
				}
				continue
			}
			switch {
			case h == "Prefill "+fu.Name:
				checkCell(t, where, c, row.FLOPs.Prefill/fu.Div)
			case h == "FLOPs reduction":
				checkCell(t, where, c, 1/sp.PrefillFLOPs)
			case h == "Prefill s":
				checkCell(t, where, c, row.Prefill.Median)
				checkCell(t, where+" spread", spreadOf(t, where, c), 100*row.Prefill.Spread())
			case h == "Prefill speedup":
				checkCell(t, where, c, sp.Prefill)
			case h == "End-to-end s":
				checkCell(t, where, c, row.Total.Median)
				checkCell(t, where+" spread", spreadOf(t, where, c), 100*row.Total.Spread())
			case h == "E2E speedup":
				checkCell(t, where, c, sp.Total)
			case strings.HasPrefix(h, "Peak host memory"):
				checkCell(t, where, c, float64(row.Memory.HostPeakRSS)/mu.Div)
			case h == "Memory change":
				checkCell(t, where, c, 100*(sp.Memory-1))
			default:
				continue
			}
			checked++
		}
	}
	if checked < 2*3*6 {
		t.Errorf("checked only %d Table-2 cells", checked)
	}

	head, rows = parseTable(t, md, "| Length | Config | Prefill s | Decode s")
	checked = 0
	for _, cells := range rows {
		n, _ := strconv.Atoi(cells[0])
		row := res.Find(n, cells[1])
		if row == nil || !row.OK() {
			t.Fatalf("details row %v matches no successful JSON row", cells)
		}
		kvTok := 0
		for _, k := range row.KVTokens {
			kvTok += k
		}
		want := map[string]float64{
			"Prefill s": row.Prefill.Median, "Decode s": row.Decode.Median, "Total s": row.Total.Median,
			"Decode ms/token":    1000 * row.Decode.Median / float64(row.NewTokens-1),
			"Prefill " + fu.Name: row.FLOPs.Prefill / fu.Div, "Module " + fu.Name: row.FLOPs.Module / fu.Div,
			"End-to-end " + fu.Name: row.FLOPs.Total / fu.Div, "Alive": float64(row.Alive[len(row.Alive)-1]),
			"KV tokens": float64(kvTok), "KV " + mu.Name: float64(row.KVBytesTotal) / mu.Div,
			"Host peak " + mu.Name: float64(row.Memory.HostPeakRSS) / mu.Div, "Device peak " + mu.Name: float64(row.Memory.DevicePeak) / mu.Div,
		}
		want["Prefill fastest s"], want["Total fastest s"] = row.Prefill.Min, row.Total.Min
		if row.Speedup != nil && row.Config != bench.Baseline {
			want["Decode speedup"] = row.Speedup.Decode
			want["Prefill speedup (fastest)"] = row.Speedup.PrefillFastest
			want["E2E speedup (fastest)"] = row.Speedup.TotalFastest
		}
		for j, h := range head {
			if w, ok := want[h]; ok {
				checkCell(t, "details "+cells[0]+" "+cells[1]+" "+h, cells[j], w)
				checked++
			}
		}
	}
	if checked < 6*16 {
		t.Errorf("checked only %d detail cells", checked)
	}

	_, rows = parseTable(t, md, "| Config | Tokens entering blocks")
	for _, cells := range rows {
		row := res.Find(160, cells[0])
		if got := runs(row.Alive); cells[1] != got {
			t.Errorf("alive of %s: %q, want %q", cells[0], cells[1], got)
		}
	}
	for _, cfg := range []string{"baseline", "paper", "keep0.7"} {
		if row := res.Find(4096, cfg); !strings.Contains(md, "- 4096 tokens, "+cfg+": "+row.Error) {
			t.Errorf("failure of %s at 4096 not listed", cfg)
		}
	}
}

func TestTable2IsPartOfReport(t *testing.T) {
	res := tinyResult(t)
	var full, short bytes.Buffer
	if err := Write(&full, res, nil); err != nil {
		t.Fatal(err)
	}
	if err := Table2(&short, res); err != nil {
		t.Fatal(err)
	}
	table, _, _ := strings.Cut(short.String(), "\n\n")
	if !strings.Contains(full.String(), table) {
		t.Errorf("Table2 output is not the report's table:\n%s", table)
	}
}

func TestStepsMatchPaper(t *testing.T) {
	c, err := model.SyntheticConfig(PaperShape)
	if err != nil {
		t.Fatal(err)
	}
	if g := MaxPaperGap(&c); g > 1e-4 {
		t.Errorf("paper's rule is %.4g%% from the paper's Table 2", 100*g)
	}
	L, d, f, v := float64(c.Layers), float64(c.Hidden), float64(c.FFN), float64(c.Vocab)
	for _, n := range []int{1, 100, 4096, 131072} {
		s := Steps(&c, n)
		N := float64(n)
		alive := make([]int, c.Layers)
		for i := range alive {
			alive[i] = n
		}
		if s.Ours != c.PrefillFLOPs(alive) {
			t.Errorf("n=%d: Ours %v, PrefillFLOPs %v", n, s.Ours, c.PrefillFLOPs(alive))
		}
		closed := 2*(L*(4*d*d+3*d*f)+2*v*d)*N + 3*d*L*N*N
		if math.Abs(s.PaperRule/closed-1) > 1e-12 {
			t.Errorf("n=%d: PaperRule %v, closed form %v", n, s.PaperRule, closed)
		}
		if !(s.Ours < s.FullProjections && s.FullProjections < s.EveryPosition) {
			t.Errorf("n=%d: steps not increasing: %+v", n, s)
		}
	}
}

func TestSig(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "0"}, {1, "1.000"}, {12.345, "12.35"}, {1234.5, "1234"}, {98765, "98765"}, {0.0012345, "0.001234"}, {-2.5, "-2.500"}} {
		if got := sig(tc.v); got != tc.want {
			t.Errorf("sig(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestRuns(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{5}, "5×1"}, {[]int{9, 9, 9, 8, 8, 7}, "9×3, 8×2, 7×1"}} {
		if got := runs(tc.in); got != tc.want {
			t.Errorf("runs(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzWrite renders whatever bench.Parse accepts: a crafted result file
// gives a report or an error, never a panic.
func FuzzWrite(f *testing.F) {
	f.Add([]byte(`{"meta":{"model":{"num_layers":2},"options":{"repeats":1}},"rows":[{"length":4,"config":"baseline","alive":[4,4],"kv_tokens":[4,4],"kv_bytes":[9,9],"total_seconds":{"samples":[1],"median":1}},{"length":4,"config":"paper","alive":[4,2],"kv_tokens":[4,2],"kv_bytes":[9,4],"total_seconds":{"samples":[0],"median":0},"speedup":{"prefill_flops_ratio":0}}]}`))
	f.Add([]byte(`{"meta":{"model":{"num_layers":1},"backend":"cuda"},"rows":[{"length":9,"config":"x","error":"boom"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := bench.Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, r, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestNoisySpeedupsFlagged: speedups the sweep flagged noisy carry a mark
// in Table 2, the notes say what it means, the details show every
// speedup's range, and the header tells the runs each row got.
func TestNoisySpeedupsFlagged(t *testing.T) {
	path := t.TempDir() + "/bench.json"
	if err := tinyResult(t).Save(path); err != nil {
		t.Fatal(err)
	}
	res, err := bench.Load(path) // a copy: the shared result stays as it was
	if err != nil {
		t.Fatal(err)
	}
	res.Meta.Options.MaxRepeats, res.Meta.Options.NoiseLimit = 9, 0.1
	for i := range res.Rows {
		if row := &res.Rows[i]; row.Speedup != nil && row.Config != bench.Baseline {
			row.Speedup.PrefillNoisy = row.Length == 48 && row.Config == "paper"
			row.Speedup.TotalNoisy = false
		}
	}
	res.Find(160, "paper").Total.Samples = append(res.Find(160, "paper").Total.Samples, 1, 2, 3, 4, 5, 6)
	var buf bytes.Buffer
	if err := Write(&buf, res, nil); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	fu, _ := units(res)
	head, rows := parseTable(t, md, "| Length | Config | Prefill "+fu.Name+" | FLOPs reduction")
	for _, cells := range rows {
		for j, h := range head {
			if h != "Prefill speedup" && h != "E2E speedup" || cells[j] == "—" || cells[j] == "" {
				continue
			}
			want := h == "Prefill speedup" && cells[0] == "48" && cells[1] == "paper"
			if got := strings.HasSuffix(cells[j], "†"); got != want {
				t.Errorf("%s %s %s: cell %q, marked %v, want %v", cells[0], cells[1], h, cells[j], got, want)
			}
		}
	}
	for _, want := range []string{"† marks 1 speedup(s) whose range", "wider than ±10% of the speedup even after 9 timed runs",
		"3 to 9 timed runs per row (3 planned, up to 9 while a speedup's range was wider than ±10%)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report does not say %q", want)
		}
	}
	head, rows = parseTable(t, md, "| Length | Config | Prefill s | Decode s")
	checked := 0
	for _, cells := range rows {
		n, _ := strconv.Atoi(cells[0])
		sp := res.Find(n, cells[1]).Speedup
		for j, h := range head {
			var rng [2]float64
			switch h {
			case "Prefill speedup range":
				rng = sp.PrefillRange
			case "E2E speedup range":
				rng = sp.TotalRange
			default:
				continue
			}
			if cells[1] == bench.Baseline {
				continue
			}
			lo, hi, ok := strings.Cut(cells[j], "–")
			if !ok {
				t.Errorf("%s %s %s: %q is no range", cells[0], cells[1], h, cells[j])
				continue
			}
			checkCell(t, h+" low", lo, rng[0])
			checkCell(t, h+" high", hi, rng[1])
			checked++
		}
	}
	if checked != 2*2*2 {
		t.Errorf("checked %d speedup ranges, want 8", checked)
	}
}
