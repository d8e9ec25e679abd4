package train

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/prune"
)

func tinyTexts(n, length int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 0))
	var out [][]int
	for range n {
		ids := []int{1}
		for len(ids) < length {
			ids = append(ids, 2+rng.IntN(11))
		}
		out = append(out, ids)
	}
	return out
}

func tinyRun(t *testing.T, dir string) *Run {
	cfg := Config{Locations: []int{1, 2}, Ratio: 0.7, Width: 4, Loss: DefaultLossConfig(), LR: 0.01, Warmup: 2, WeightDecay: 0.01, Epochs: 3, Batch: 3, Seed: 5}
	cfg.Loss.MaxPairs = 40
	cfg.Loss.Continuation = 4
	return &Run{Model: Host(tinyModel(t)), Texts: tinyTexts(10, 24, 1), Config: cfg, Checkpoint: filepath.Join(dir, "ck"), CheckpointEvery: 2, LogPath: filepath.Join(dir, "log.jsonl"), Workers: 2}
}

func logSteps(t *testing.T, path string) []int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l StepLog
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, l.Step)
	}
	return steps
}

// interruptedRun runs tinyRun in dir and cancels it once step steps are
// done, as a kill would: what it leaves is the checkpoint and log of the
// steps before.
func interruptedRun(t *testing.T, dir string, step int) *Run {
	t.Helper()
	r := tinyRun(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Progress = func(p Progress) {
		if p.Phase == "train" && p.Done == step {
			cancel()
		}
	}
	if _, err := r.Train(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err %v", err)
	}
	return r
}

// sameParams fails the test unless got's parameters equal want's bit for
// bit.
func sameParams(t *testing.T, got, want *Result) {
	t.Helper()
	for i := range want.Params.Flat {
		if got.Params.Flat[i] != want.Params.Flat[i] {
			t.Fatalf("parameter %d: resumed %v, uninterrupted %v", i, got.Params.Flat[i], want.Params.Flat[i])
		}
	}
}

// TestResumeMatchesUninterrupted kills a run (cancels it after step 7, in
// its second epoch, with checkpoints every 2 steps, so step 7 is lost) and
// resumes it: the
// parameters come out bit for bit equal to an uninterrupted run's, and the
// loss log holds each step once. A different worker count changes nothing.
func TestResumeMatchesUninterrupted(t *testing.T) {
	full := tinyRun(t, t.TempDir())
	full.Workers = 1
	want, err := full.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := StepsPerEpoch(10, 3) * 3
	if want.Steps != total {
		t.Fatalf("steps %d, want %d", want.Steps, total)
	}

	dir := t.TempDir()
	r := interruptedRun(t, dir, 7)
	if got := logSteps(t, r.LogPath); len(got) != 7 {
		t.Fatalf("interrupted log has steps %v", got)
	}
	r = tinyRun(t, dir)
	r.Resume = true
	got, err := r.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, got, want)
	steps := logSteps(t, r.LogPath)
	if len(steps) != total {
		t.Fatalf("log steps %v, want 1..%d once each", steps, total)
	}
	for i, s := range steps {
		if s != i+1 {
			t.Fatalf("log steps %v, want 1..%d once each", steps, total)
		}
	}
	if got.Last.Total != want.Last.Total || got.First.Total != want.First.Total || got.First.Total == 0 {
		t.Fatalf("epoch losses: resumed %+v %+v, uninterrupted %+v %+v", got.First, got.Last, want.First, want.Last)
	}

	// Resuming a finished run changes nothing; another configuration is refused.
	r = tinyRun(t, dir)
	r.Resume = true
	again, err := r.Train(context.Background())
	if err != nil || again.Params.Flat[0] != want.Params.Flat[0] {
		t.Fatalf("resuming a finished run: %v", err)
	}
	r = tinyRun(t, dir)
	r.Resume = true
	r.Config.LR = 0.02
	if _, err := r.Train(context.Background()); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Fatalf("mismatched checkpoint: err %v", err)
	}
}

// TestTrainLearnsRanking checks that training fits the saliency ranking of
// its own texts: the last epoch's ranking and MSE losses are below the
// first's, and the module's scores correlate with the importance.
func TestTrainLearnsRanking(t *testing.T) {
	r := tinyRun(t, t.TempDir())
	r.Checkpoint, r.LogPath = "", ""
	r.Config.Epochs = 12
	r.Config.LR = 0.02
	res, err := r.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !(res.Last.Rank < res.First.Rank && res.Last.MSE < res.First.MSE) {
		t.Fatalf("first epoch %+v, last %+v: ranking and MSE losses did not fall", res.First, res.Last)
	}
	mod, err := res.Params.ToModule(r.Config.Schedule(), ModelInfo(r.Model), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := mod.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := prune.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Stages[1].W2[3] != mod.Stages[1].W2[3] {
		t.Fatal("module changed through save and load")
	}
}

func TestRunValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Run)
		err  string
	}{
		{func(r *Run) { r.Texts = nil }, "no training texts"},
		{func(r *Run) { r.Config.Batch = 0 }, "batch"},
		{func(r *Run) { r.Config.LR = 0 }, "learning rate"},
		{func(r *Run) { r.Config.Loss.Weights = Weights{} }, "not all zero"},
		{func(r *Run) { r.Config.Locations = []int{0} }, "outside"},
		{func(r *Run) { r.Texts[3] = []int{1} }, "training text 3"},
		{func(r *Run) { r.Config.Loss.Target = "x" }, "saliency target"},
		{func(r *Run) { r.Config.LR = math.Inf(1) }, "learning rate +Inf must be positive and finite"},
		{func(r *Run) { r.Config.Clip = math.Inf(1) }, "must be finite"},
		{func(r *Run) { r.Config.WeightDecay = math.NaN() }, "must be finite"},
		{func(r *Run) { r.Config.Loss.Tau = math.Inf(1) }, "Gumbel temperature"},
		{func(r *Run) { r.Config.Loss.Weights.Rank = math.Inf(1) }, "loss weights"},
		{func(r *Run) { r.Config.LR, r.Config.Clip = 1e300, 0 }, "the training diverged"},
	} {
		r := tinyRun(t, t.TempDir())
		tc.edit(r)
		if _, err := r.Train(context.Background()); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("err %v, want %q", err, tc.err)
		}
	}
}

// TestCheckpointOfAnotherModelRefused resumes with a model whose weights
// differ but whose shape and name are the same: the checkpoint is refused.
func TestCheckpointOfAnotherModelRefused(t *testing.T) {
	dir := t.TempDir()
	r := tinyRun(t, dir)
	r.Config.Epochs = 1
	if _, err := r.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := tinyRun(t, dir)
	other.Config.Epochs = 1
	other.Resume = true
	m := tinyModel(t)
	m.Layers[1].Wq[0] += 1e-9
	other.Model = Host(m)
	if _, err := other.Train(context.Background()); err == nil || !strings.Contains(err.Error(), "another configuration, model or data set") {
		t.Fatalf("resumed on another model's checkpoint: err %v", err)
	}
	same := tinyRun(t, dir)
	same.Config.Epochs = 1
	same.Resume = true
	if _, err := same.Train(context.Background()); err != nil {
		t.Fatalf("the same model's checkpoint refused: %v", err)
	}
}

func FuzzLoadCheckpoint(f *testing.F) {
	dir := f.TempDir()
	p := NewParams(3, 2, 1)
	ck := &checkpoint{meta: checkpointMeta{Format: CheckpointFormat, Step: 1, Hidden: 3, Width: 2, Stages: 1}, params: p, adamM: make([]float64, len(p.Flat)), adamV: make([]float64, len(p.Flat))}
	good := filepath.Join(dir, "good")
	if err := ck.save(good); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	f.Add(b)
	f.Add(b[:20])
	f.Add([]byte("SDTPCKPT\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "ck")
		os.WriteFile(path, b, 0o644)
		c, err := loadCheckpoint(path)
		if err == nil && len(c.adamV) != len(c.params.Flat) {
			t.Fatal("accepted a checkpoint with mismatched arrays")
		}
	})
}

// TestPrecomputedSaliencyMatches: a run given Saliencies' output ends bit
// for bit where a run computing its own saliency does, and a saliency that
// does not fit the texts is refused.
func TestPrecomputedSaliencyMatches(t *testing.T) {
	own := tinyRun(t, t.TempDir())
	want, err := own.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := tinyRun(t, t.TempDir())
	r.Saliency, err = Saliencies(context.Background(), r.Model, r.Texts, r.Config.Loss.SaliencyContinuation(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, got, want)
	// It is what the run trains on: reversed token order, other weights.
	for _, sal := range r.Saliency {
		for _, block := range sal {
			slices.Reverse(block)
		}
	}
	r.Checkpoint, r.LogPath = "", ""
	other, err := r.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other.Params.Flat, want.Params.Flat) {
		t.Fatal("a different precomputed saliency trained the same weights")
	}
	r = tinyRun(t, t.TempDir())
	r.Saliency = [][][]float64{{{1}}}
	if _, err := r.Train(context.Background()); err == nil || !strings.Contains(err.Error(), "precomputed saliency") {
		t.Fatalf("saliency of the wrong shape: err %v", err)
	}
}
