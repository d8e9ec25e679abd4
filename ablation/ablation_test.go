package ablation

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train"
	"github.com/sdtp/sdtp/train/lm"
)

func TestParseSchedules(t *testing.T) {
	tests := []struct {
		spec string
		want string // schedules' String, joined by "; ", or the error's text
	}{
		{"3,4:0.6", "locations 3,4 ratio 0.6"},
		{"4:0.5 3,4:0.6;2,3,4:0.7", "locations 4 ratio 0.5; locations 3,4 ratio 0.6; locations 2,3,4 ratio 0.7"},
		{"3,4", "want LOCATIONS:RATIO"},
		{"3,x:0.6", "not an integer"},
		{"3:abc", "not a number"},
		{"5:0.6", "outside the model's blocks"},
		{"3:1.5", "keep ratio 1.5"},
		{" ; ", "no schedule given"},
	}
	for _, tc := range tests {
		got, err := ParseSchedules(tc.spec, 5)
		var s []string
		for _, x := range got {
			s = append(s, x.String())
		}
		text := strings.Join(s, "; ")
		if err != nil {
			text = err.Error()
		}
		if !strings.Contains(text, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.spec, text, tc.want)
		}
	}
}

func TestParseLossesAndWeights(t *testing.T) {
	if _, err := ParseLosses("full,bogus"); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("unknown variant: err %v", err)
	}
	if _, err := ParseLosses(" , "); err == nil {
		t.Error("an empty list was accepted")
	}
	ls, err := ParseLosses("full, no-rank,no-mse,ratio-only")
	if err != nil || len(ls) != 4 {
		t.Fatalf("%v %v", ls, err)
	}
	w := train.Weights{Cls: 1, MSE: 2, Rank: 3, Ratio: 4}
	for _, tc := range []struct {
		l    Loss
		want train.Weights
	}{
		{Full, w}, {NoRank, train.Weights{Cls: 1, MSE: 2, Ratio: 4}}, {NoMSE, train.Weights{Cls: 1, Rank: 3, Ratio: 4}}, {RatioOnly, train.Weights{Cls: 1, Ratio: 4}},
	} {
		if got := tc.l.Weights(w); got != tc.want {
			t.Errorf("%s: weights %+v, want %+v", tc.l, got, tc.want)
		}
	}
}

func TestGrid(t *testing.T) {
	s, err := ParseSchedules("3,4:0.6 4:0.5 3,4:0.6", 5)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range Grid(s, []Loss{Full, NoRank, Full, RatioOnly}) {
		names = append(names, p.Name())
	}
	want := "3,4/0.6/full 4/0.5/full 3,4/0.6/no-rank 3,4/0.6/ratio-only"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("grid %q, want %q", got, want)
	}
	if got := (Point{Schedule: s[0], Loss: NoMSE}).FileName(); got != "3-4_0.6_no-mse" {
		t.Errorf("file name %q", got)
	}
}

// tinySweep is a sweep on a tiny random model with short texts.
func tinySweep(t *testing.T, dir string, points []Point) *Sweep {
	t.Helper()
	c := model.Config{Arch: "qwen2", Hidden: 8, FFN: 12, Layers: 3, Heads: 2, KVHeads: 1, HeadDim: 4, Vocab: 13, MaxPos: 64, RopeTheta: 100, NormEps: 1e-5, QKVBias: true}
	lmm, err := lm.NewRandom(c, 11)
	if err != nil {
		t.Fatal(err)
	}
	texts := func(n int, seed uint64) [][]int {
		rng := rand.New(rand.NewPCG(seed, 0))
		var out [][]int
		for range n {
			ids := []int{1}
			for len(ids) < 30 {
				ids = append(ids, 2+rng.IntN(11))
			}
			out = append(out, ids)
		}
		return out
	}
	cfg := train.Config{Width: 4, Loss: train.DefaultLossConfig(), LR: 0.01, Warmup: 1, WeightDecay: 0.01, Epochs: 2, Batch: 3, Clip: 1, Seed: 3}
	cfg.Loss.Continuation, cfg.Loss.MaxPairs = 6, 50
	return &Sweep{Model: train.Host(lmm), Train: texts(6, 1), Heldout: texts(4, 2), Points: points, Dir: dir, Workers: 2,
		Settings: Settings{Train: cfg, TrainData: "train.jsonl", TrainTexts: 6, HeldoutData: "heldout.jsonl", HeldoutTexts: 4, MaxTokens: 30, RandomSeed: 1}}
}

// TestSweepRunsResumesAndTabulates runs three points into a results file,
// checks each row (module file, evaluation of every scorer, FLOPs), then
// runs again from the file: nothing is trained and the rows come back the
// same; the table lists every row.
func TestSweepRunsResumesAndTabulates(t *testing.T) {
	dir := t.TempDir()
	scheds, err := ParseSchedules("1,2:0.6 2:0.5 1,2:1", 3)
	if err != nil {
		t.Fatal(err)
	}
	points := Grid(scheds, []Loss{Full, RatioOnly})
	sw := tinySweep(t, dir, points)
	path := filepath.Join(dir, "sweep.jsonl")
	rf, err := Open(path, Header{Format: Format, Settings: sw.Settings})
	if err != nil {
		t.Fatal(err)
	}
	sw.OnRow = rf.Append
	rows, err := sw.Run(context.Background())
	rf.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for _, r := range rows {
		mod, err := prune.Load(filepath.Join(dir, r.Module))
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		if mod.Schedule.Ratio != r.Ratio || len(mod.Schedule.Locations) != r.Stages {
			t.Errorf("%s: module schedule %s", r.Name, mod.Schedule)
		}
		if _, err := os.Stat(filepath.Join(dir, r.Module+".ckpt")); err == nil {
			t.Errorf("%s: the finished checkpoint was left behind", r.Name)
		}
		for _, s := range []string{ModuleScorer, "random", "recent", train.OracleName} {
			if sc := r.Scorer(s); sc == nil || !(sc.KL >= 0) || !(sc.Agreement >= 0 && sc.Agreement <= 1) {
				t.Errorf("%s: scorer %s: %+v", r.Name, s, sc)
			}
		}
		if r.Steps != 4 || r.FirstEpoch.Total == 0 {
			t.Errorf("%s: %d steps, first epoch %+v", r.Name, r.Steps, r.FirstEpoch)
		}
	}
	byName := map[string]*Row{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	// Keeping every token costs exactly the unpruned FLOPs; pruning more
	// costs less.
	if f := byName["1,2/1/full"].FLOPsRatio; f != 1 {
		t.Errorf("keep ratio 1: FLOPs ratio %v, want 1", f)
	}
	if a, b := byName["1,2/0.6/full"].FLOPsRatio, byName["2/0.5/full"].FLOPsRatio; !(a < b && b < 1) {
		t.Errorf("FLOPs ratios %v (two stages, 0.6) and %v (one late stage, 0.5)", a, b)
	}
	if w := byName["1,2/0.6/ratio-only"].Weights; w.MSE != 0 || w.Rank != 0 || w.Cls == 0 {
		t.Errorf("ratio-only weights %+v", w)
	}

	// Again from the file: nothing to do, the same rows.
	rf, err = Open(path, Header{Format: Format, Settings: sw.Settings})
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	again := tinySweep(t, dir, points)
	again.Done = rf.Done()
	again.Progress = func(phase string, _, _ int) { t.Errorf("resumed sweep ran %s", phase) }
	rows2, err := again.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := WriteTable(&a, rows); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&b, rows2); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("resumed rows differ:\n%s\n%s", a.String(), b.String())
	}
	for _, r := range rows {
		if !strings.Contains(a.String(), "| "+r.Name+" |") {
			t.Errorf("table lacks %s:\n%s", r.Name, a.String())
		}
	}
	// Other settings are refused.
	other := sw.Settings
	other.Train.Epochs++
	if _, err := Open(path, Header{Format: Format, Settings: other}); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("other settings: err %v", err)
	}
}

// TestReadCutsTornLine: a killed run's half-written last line is cut off.
func TestReadCutsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sweep.jsonl")
	h := Header{Format: Format, Settings: Settings{TrainTexts: 3}}
	rf, err := Open(path, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := rf.Append(&Row{Name: "4/0.5/full"}); err != nil {
		t.Fatal(err)
	}
	rf.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"name":"3,4/0.6/fu`)
	f.Close()
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 1 || got.Rows[0].Name != "4/0.5/full" {
		t.Errorf("rows %+v", got.Rows)
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte("3,4/0.6")) || data[len(data)-1] != '\n' {
		t.Errorf("the torn line is still there: %q", data)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none.jsonl")); err == nil {
		t.Error("a missing file was read")
	}
}
