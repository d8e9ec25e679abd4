package train

import (
	"context"
	"math"
	"testing"

	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/prune"
)

// TestBenchOnCPUBackend runs the training benchmark on the device path of
// the CPU backend (stories260K): every row is measured and the host model
// is refused.
func TestBenchOnCPUBackend(t *testing.T) {
	path := testmodel.Stories260KPath(t)
	d := openDevice(t, "cpu", path)
	loss := DefaultLossConfig()
	loss.Continuation = 8
	o := BenchOptions{Lengths: []int{72, 40}, Repeats: 1, Schedule: prune.Schedule{Locations: []int{2, 4}, Ratio: 0.7}, Loss: loss, Seed: 3}
	res, err := Bench(context.Background(), Device(d, nil), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].Tokens != 40 || res.Rows[1].Tokens != 72 {
		t.Fatalf("rows %+v, want lengths 40 and 72 in order", res.Rows)
	}
	for _, r := range res.Rows {
		if !(r.Prefill > 0 && r.Saliency > 0 && r.TrainText > 0 && r.PeakBytes > 0) || math.Abs(r.Ratio-r.Saliency/r.Prefill) > 1e-12 {
			t.Errorf("row %+v: a measurement is missing", r)
		}
	}
	if res.Params != 2*(16*64+16+2*16+2) {
		t.Errorf("module parameters %d", res.Params)
	}
	host, _, err := Open(path, OpenOptions{Backend: HostBackend})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Bench(context.Background(), host, o); err == nil {
		t.Error("the host model was benchmarked")
	}
	o.Lengths = []int{5}
	if _, err := Bench(context.Background(), Device(d, nil), o); err == nil {
		t.Error("a length shorter than the continuation was accepted")
	}
}

// TestProject checks the recipe projection on rows whose costs are linear
// in the length: interpolation and extension along a segment are exact
// there.
func TestProject(t *testing.T) {
	r := &BenchResult{AdamW: 0.5}
	for _, n := range []int{100, 200, 400} {
		r.Rows = append(r.Rows, BenchRow{Tokens: n, Saliency: 2 * float64(n), TrainText: 1 + 3*float64(n)})
	}
	lengths := []int{50, 150, 400, 800}
	p := r.Project(lengths, 2, 3)
	var want float64
	for _, n := range lengths {
		want += 2*float64(n) + 2*(1+3*float64(n))
	}
	want += 2 * 2 * 0.5 // two epochs of ⌈4/3⌉ = 2 steps
	if math.Abs(p.Seconds-want) > 1e-9 || p.Tokens != 350 || p.Texts != 4 {
		t.Errorf("projection %+v, want %v s over a mean of 350 tokens", p, want)
	}
}

// TestProjections names each projection by the lengths it assumed: the
// data file's texts, else all texts at each measured length.
func TestProjections(t *testing.T) {
	r := &BenchResult{Rows: []BenchRow{{Tokens: 100, Saliency: 1, TrainText: 2}, {Tokens: 200, Saliency: 2, TrainText: 4}}}
	ps := r.Projections("", nil, 10, 2, 5)
	if len(ps) != 2 || ps[0].Lengths != "all 100" || ps[1].Lengths != "all 200" || ps[0].Texts != 10 || ps[1].Tokens != 200 {
		t.Errorf("without data: %+v", ps)
	}
	ps = r.Projections("d.jsonl", []int{100, 200, 150}, 10, 2, 5)
	if len(ps) != 1 || ps[0].Lengths != "--data d.jsonl" || ps[0].Texts != 3 || ps[0].Tokens != 150 {
		t.Errorf("with data: %+v", ps)
	}
}
