package train

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sdtp/sdtp/backend"
	_ "github.com/sdtp/sdtp/backend/cpu"
	_ "github.com/sdtp/sdtp/backend/cuda"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train/dlm"
	"github.com/sdtp/sdtp/train/lm"
)

// TestDeviceLossMatchesHost computes the full training loss (every term,
// two accumulating stages, Gumbel decisions, sampled ranking pairs) and
// its gradient with respect to every module parameter on stories260K, with
// the host's float64 decoder and with the device path on each backend
// (the CPU backend always; the GPUs where one opens, SDTP_CUDA=1 making a
// missing one a failure). A hard decision decided by less than the
// backend's rounding can flip between the two; the noise seeds whose
// decisions differ are left out (at least one must agree). Bounds:
// float32 rounding (cpu: measured below 1e-5; cuda-f32), bf16 activations
// and module weights (cuda).
func TestDeviceLossMatchesHost(t *testing.T) {
	path := testmodel.Stories260KPath(t)
	host := openHost(t, path)
	c := &host.Config
	sched := prune.Schedule{Locations: []int{3, 4}, Ratio: 0.6}
	cfg := DefaultLossConfig()
	cfg.Continuation = 12
	hm := Host(host)
	p, err := InitParams(hm, &Config{Locations: sched.Locations, Ratio: sched.Ratio, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, 90)
	for i := range ids {
		ids[i] = (i*193 + 11) % c.Vocab
	}
	ids[0] = 1
	sal, _, _, err := hm.saliency(context.Background(), ids, cfg.SaliencyContinuation(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ex := Example{IDs: ids}
	for _, l := range sched.Locations {
		ex.Saliency = append(ex.Saliency, sal[l])
	}
	for _, bc := range []struct {
		name string
		tol  float64
	}{{"cpu", 1e-4}, {"cuda-f32", 1e-3}, {"cuda", 0.1}} {
		t.Run(bc.name, func(t *testing.T) {
			dev := Device(openDevice(t, bc.name, path), nil)
			agreed := 0
			for noise := uint64(1); noise <= 8; noise++ {
				ho := &Objective{Model: hm, Schedule: sched, Config: cfg}
				do := &Objective{Model: dev, Schedule: sched, Config: cfg}
				hg, dg := p.ZeroLike(), p.ZeroLike()
				ht, hdec, err := ho.run(context.Background(), p, hg, ex, noise, 0.5, nil)
				if err != nil {
					t.Fatal(err)
				}
				dt, ddec, err := do.run(context.Background(), p, dg, ex, noise, 0.5, nil)
				if err != nil {
					t.Fatal(err)
				}
				same := true
				for s := range hdec.hard {
					same = same && slices.Equal(hdec.hard[s], ddec.hard[s])
				}
				if !same {
					t.Logf("noise %d: a decision flipped between host and %s; left out", noise, bc.name)
					continue
				}
				agreed++
				for _, term := range []struct {
					name      string
					got, want float64
				}{{"total", dt.Total, ht.Total}, {"cls", dt.Cls, ht.Cls}, {"mse", dt.MSE, ht.MSE}, {"rank", dt.Rank, ht.Rank}, {"ratio", dt.Ratio, ht.Ratio}} {
					if e := math.Abs(term.got-term.want) / math.Max(math.Abs(term.want), 1e-12); !(e <= bc.tol) {
						t.Errorf("noise %d: %s %v, host %v", noise, term.name, term.got, term.want)
					}
				}
				var num, den float64
				for i, w := range hg.Flat {
					num += (dg.Flat[i] - w) * (dg.Flat[i] - w)
					den += w * w
				}
				e := math.Sqrt(num / den)
				if !(e <= bc.tol) || den == 0 {
					t.Errorf("noise %d: module gradient relative error %.3g (norm %.3g)", noise, e, math.Sqrt(den))
				}
				t.Logf("noise %d: loss %.6f (host %.6f), module gradient relative error %.3g", noise, dt.Total, ht.Total, e)
			}
			if agreed == 0 {
				t.Fatalf("no noise seed gave the same decisions on %s and the host", bc.name)
			}
		})
	}
}

// TestDeviceTrainResumes runs the training loop on the device path (the
// CPU backend, stories260K): it trains, checkpoints (the model identified
// by its file's digest), and a run interrupted after its first checkpoint
// and resumed ends with the parameters of the uninterrupted run.
func TestDeviceTrainResumes(t *testing.T) {
	path := testmodel.Stories260KPath(t)
	if _, _, err := Open(path, OpenOptions{Backend: "no-such-backend"}); err == nil {
		t.Fatal("an unknown backend opened")
	}
	newRun := func(dir string) *Run {
		d := openDevice(t, "cpu", path)
		cfg := Config{Locations: []int{3, 4}, Ratio: 0.6, Width: 8, Loss: DefaultLossConfig(), LR: 0.003, Warmup: 1, Epochs: 2, Batch: 2, Seed: 9}
		cfg.Loss.Continuation = 8
		cfg.Loss.MaxPairs = 64
		texts := make([][]int, 6)
		for i := range texts {
			texts[i] = benchIDs(30+5*i, 512, uint64(i))
		}
		return &Run{Model: Device(d, func() ([32]byte, error) { return WeightsDigest(path) }), Texts: texts, Config: cfg,
			Checkpoint: filepath.Join(dir, "ck"), CheckpointEvery: 2, LogPath: filepath.Join(dir, "log.jsonl")}
	}
	full, err := newRun(t.TempDir()).Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	r := newRun(dir)
	r.Progress = func(p Progress) {
		if p.Phase == "train" && p.Done == 3 {
			cancel()
		}
	}
	if _, err := r.Train(ctx); err == nil {
		t.Fatal("the interrupted run finished")
	}
	r = newRun(dir)
	r.Resume = true
	resumed, err := r.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(full.Params.Flat, resumed.Params.Flat) {
		t.Error("the resumed run's parameters differ from the uninterrupted run's")
	}
	if full.Last.Total == 0 || math.IsNaN(full.Last.Total) {
		t.Errorf("last epoch's loss %v", full.Last.Total)
	}
}

// openHost opens the model at path on the host, in float64: the reference
// the device path is checked against.
func openHost(t testing.TB, path string) *lm.Model {
	t.Helper()
	m, err := lm.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// openDevice opens the model at path on backend bn for the device path;
// a GPU backend that does not open skips the test unless SDTP_CUDA=1.
func openDevice(t testing.TB, bn, path string) *dlm.Model {
	t.Helper()
	m := testmodel.Open(t, testmodel.Backend(t, bn, backend.Options{Threads: 2}), path)
	d, err := dlm.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestOpenCPUDevice checks that --backend cpu-f32 opens the device path
// on the CPU backend (one text at a time, float32) and that its saliency
// is the float64 host's within float32 rounding.
func TestOpenCPUDevice(t *testing.T) {
	path := testmodel.Stories260KPath(t)
	dev, closeDev, err := Open(path, OpenOptions{Backend: CPUDeviceBackend})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDev()
	host, closeHost, err := Open(path, OpenOptions{Backend: HostBackend})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHost()
	if _, ok := dev.(*deviceModel); !ok {
		t.Fatalf("cpu-f32 opened %T, want the device path", dev)
	}
	if _, ok := host.(*deviceModel); ok {
		t.Fatal("cpu opened the device path, want the float64 host")
	}
	ids := make([]int, 60)
	for i := range ids {
		ids[i] = (i*131 + 7) % dev.Config().Vocab
	}
	want, _, _, err := host.saliency(context.Background(), ids, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, _, err := dev.saliency(context.Background(), ids, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for l := range want {
		scale := 0.0
		for _, v := range want[l] {
			scale = max(scale, math.Abs(v))
		}
		for i := range want[l] {
			if d := math.Abs(got[l][i] - want[l][i]); d > 1e-4*scale {
				t.Fatalf("block %d token %d: %g, host %g", l, i, got[l][i], want[l][i])
			}
		}
	}
}
