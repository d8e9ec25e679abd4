package train

import (
	"context"
	"math"
	"testing"

	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
	"github.com/sdtp/sdtp/train/dlm"
	"github.com/sdtp/sdtp/train/nn"
)

// TestPrunedForwardMatchesEngine checks that the simulation of a pruned
// prompt (key masks), on the host and on a backend (train/dlm on the CPU
// backend), is what the engine does (dropping rows, then decoding over
// the shrunk per-layer caches): on stories260K with a random module and
// with keep-most-recent, the next-token distributions of the last prompt
// token and of teacher-forced decoded tokens agree with the engine's
// within float32 rounding.
func TestPrunedForwardMatchesEngine(t *testing.T) {
	path := testmodel.Stories260KPath(t)
	host := openHost(t, path)
	b := testmodel.CPU(t)
	eng := testmodel.Open(t, b, path)
	sched := prune.Schedule{Locations: []int{1, 2, 3, 4}, Ratio: 0.7}
	c := &host.Config
	mod, err := prune.NewRandom(prune.ModelInfo{Name: "stories260K", Hidden: c.Hidden, Layers: c.Layers}, sched, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	modScorer, err := prune.NewModuleScorer(b, mod)
	if err != nil {
		t.Fatal(err)
	}
	defer modScorer.Close()
	dm, err := dlm.New(eng)
	if err != nil {
		t.Fatal(err)
	}
	frozen := map[string]Frozen{"host": Host(host), "device": Device(dm, nil)}
	ids := make([]int, 72)
	for i := range ids {
		ids[i] = (i*131 + 7) % c.Vocab
	}
	ids[0] = 1
	const prompt = 64
	for _, tc := range []struct {
		name   string
		engine prune.Scorer
		host   Scorer
	}{
		{"module", modScorer, ModuleScorer{mod}},
		{"recent", prune.RecentScorer{}, BaselineScorer{prune.RecentScorer{}, c.Hidden}},
	} {
		for fname, fm := range frozen {
			t.Run(tc.name+"/"+fname, func(t *testing.T) {
				tr, alive, err := PrunedForward(context.Background(), fm, ids, prompt, sched, tc.host)
				if err != nil {
					t.Fatal(err)
				}
				defer tr.free()
				cache := eng.NewCache(len(ids))
				defer cache.Free()
				pos := make([]int32, prompt)
				for i := range pos {
					pos[i] = int32(i)
				}
				engAlive := make([]int, c.Layers)
				logits, err := eng.Forward(context.Background(), ids[:prompt], pos, cache, model.ForwardOptions{Pruner: &prune.Pruner{Schedule: sched, Scorer: tc.engine}, Alive: engAlive})
				if err != nil {
					t.Fatal(err)
				}
				for l := range alive {
					if alive[l] != engAlive[l] {
						t.Fatalf("alive per block: host %v, engine %v", alive, engAlive)
					}
				}
				if alive[c.Layers-1] >= prompt {
					t.Fatalf("nothing was pruned: %v", alive)
				}
				for row := prompt - 1; row < len(ids)-1; row++ {
					if row >= prompt {
						logits, err = eng.Forward(context.Background(), ids[row:row+1], []int32{int32(row)}, cache, model.ForwardOptions{})
						if err != nil {
							t.Fatal(err)
						}
					}
					lg := make([]float64, len(logits))
					for i, v := range logits {
						lg[i] = float64(v)
					}
					nn.LogSoftmax(lg, lg)
					want, err := tr.logProbs(row)
					if err != nil {
						t.Fatal(err)
					}
					worst := 0.0
					for i := range lg {
						worst = max(worst, math.Abs(lg[i]-want[i]))
					}
					if row == prompt-1 || row == len(ids)-2 {
						t.Logf("row %d: worst log-probability difference %.2g", row, worst)
					}
					if worst > 2e-3 {
						t.Fatalf("row %d: log-probabilities differ by up to %g", row, worst)
					}
				}
			})
		}
	}
}
