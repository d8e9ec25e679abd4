package train

import (
	"encoding/json"
	"testing"

	"github.com/sdtp/sdtp/prune"
)

// TestRecordJSONIsTheMapItReplaced checks that a typed record encodes as
// the map 'sdtp train' used to store (keys sorted), so module files keep
// their bytes.
func TestRecordJSONIsTheMapItReplaced(t *testing.T) {
	cfg := Config{Locations: []int{1, 2}, Ratio: 0.7, Loss: DefaultLossConfig(), LR: 3e-3, Epochs: 1, Batch: 2, Seed: 9}
	res := &Result{Steps: 3, First: Terms{Total: 2, Alive: []float64{0.5}}, Last: Terms{Total: 1, Alive: []float64{0.4}}}
	got, err := NewRecord("d.jsonl", 4, 64, cfg, res).JSON()
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecord("d.jsonl", 4, 64, cfg, res)
	want, err := json.Marshal(map[string]any{
		"kind": "trained", "data": "d.jsonl", "texts": 4, "max_tokens": 64, "steps": 3,
		"config": cfg, "first_epoch": res.First, "last_epoch": res.Last,
		"version": r.Version, "revision": r.Revision,
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("record\n%s\nmap\n%s", got, want)
	}
}

func TestTrainedSaliency(t *testing.T) {
	info := prune.ModelInfo{Name: "x", Arch: "llama", Hidden: 8, Layers: 4}
	random, err := prune.NewRandom(info, prune.Schedule{Locations: []int{1}, Ratio: 0.9}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Loss: DefaultLossConfig()}
	cfg.Loss.Target, cfg.Loss.WholeSequenceSaliency = TargetNeg, true
	trained := *random
	if trained.Training, err = NewRecord("d", 1, 8, cfg, &Result{}).JSON(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m          *prune.Module
		target     Target
		over, name string
	}{{random, TargetAbs, "continuation", "random"}, {&trained, TargetNeg, "sequence", "trained"}} {
		target, over, err := TrainedSaliency(tc.m)
		if err != nil || target != tc.target || over != tc.over {
			t.Errorf("%s module: %s %s %v, want %s %s", tc.name, target, over, err, tc.target, tc.over)
		}
	}
}
