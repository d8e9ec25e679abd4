package bench

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// TestRunDevices deals four configurations over two models (two CPU
// backends standing in for GPUs): every (length, configuration) row is
// measured once, on the device it was dealt to, with the speedups taken
// against the baseline across devices; progress and checkpoints cover
// both devices.
func TestRunDevices(t *testing.T) {
	devs := []Device{{"cuda:0", openTiny(t)}, {"cuda:1", openTiny(t)}}
	var mu sync.Mutex
	var last Progress
	checkpoints := 0
	o := Options{
		Lengths: []int{64, 32}, Configs: []string{"baseline", "paper", "keep0.8", "keep0.7"},
		NewTokens: 3, Warmup: 0, Repeats: 2, Seed: 1,
		Progress:   func(p Progress) { mu.Lock(); last = p; mu.Unlock() },
		Checkpoint: func(r *Result) error { checkpoints++; return nil },
	}
	res, err := RunDevices(context.Background(), devs, o)
	if err != nil {
		t.Fatal(err)
	}
	if last.Run != last.Runs || last.Runs != 2*4*2 {
		t.Errorf("last progress %d/%d, want 16/16", last.Run, last.Runs)
	}
	if checkpoints != 4 {
		t.Errorf("%d checkpoints, want one per length per device (4)", checkpoints)
	}
	if len(res.Rows) != 8 || !slices.Equal(res.Meta.Options.Configs, o.Configs) || len(res.Meta.Devices) != 2 {
		t.Fatalf("%d rows, configs %v, devices %v", len(res.Rows), res.Meta.Options.Configs, res.Meta.Devices)
	}
	want := map[string]string{"baseline": "cuda:0", "paper": "cuda:1", "keep0.8": "cuda:0", "keep0.7": "cuda:1"}
	for i, row := range res.Rows {
		if wantLen := []int{32, 64}[i/4]; row.Length != wantLen || row.Config != o.Configs[i%4] {
			t.Errorf("row %d is %d %s, want %d %s", i, row.Length, row.Config, wantLen, o.Configs[i%4])
		}
		if !row.OK() || row.Device != want[row.Config] || row.Speedup == nil || len(row.Total.Samples) != 2 {
			t.Errorf("row %d %s: device %q, error %q, speedup %v, %d samples", i, row.Config, row.Device, row.Error, row.Speedup, len(row.Total.Samples))
			continue
		}
		base := res.Find(row.Length, Baseline)
		if got, want := row.Speedup.Prefill, base.Prefill.Median/row.Prefill.Median; got != want {
			t.Errorf("%d %s: prefill speedup %v, want %v", row.Length, row.Config, got, want)
		}
	}
	if err := res.check(); err != nil {
		t.Error(err)
	}
}
