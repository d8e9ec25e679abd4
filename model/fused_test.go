package model_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/sdtp/sdtp/backend"
	"github.com/sdtp/sdtp/internal/testdata"
	"github.com/sdtp/sdtp/internal/testmodel"
	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/prune"
)

// fusedShim offers the optional fused ops, composed from the plain ones,
// so the model's fused path (deferred residual adds included) runs on the
// CPU and must give bit-identical results.
type fusedShim struct {
	backend.Backend
	calls map[string]int
}

func (f *fusedShim) AddRMSNorm(dst, x, d backend.Tensor, w backend.Weight, eps float32) {
	f.calls["AddRMSNorm"]++
	f.Add(x, x, d)
	f.RMSNorm(dst, x, w, eps)
}

func (f *fusedShim) QKV(q, k, v, x backend.Tensor, wq, wk, wv, bq, bk, bv backend.Weight) {
	f.calls["QKV"]++
	f.MatMul(q, x, wq, bq)
	f.MatMul(k, x, wk, bk)
	f.MatMul(v, x, wv, bv)
}

func (f *fusedShim) GateUp(dst, x backend.Tensor, gate, up backend.Weight) {
	f.calls["GateUp"]++
	u := f.New(x.Rows(), up.Rows())
	defer f.Free(u)
	f.MatMul(dst, x, gate, nil)
	f.MatMul(u, x, up, nil)
	f.SiLUMul(dst, dst, u)
}

func TestFusedPathMatchesComposed(t *testing.T) {
	b := testmodel.CPU(t)
	shim := &fusedShim{Backend: b, calls: map[string]int{}}
	dir := testdata.RepoPath(t, filepath.Join("parity", "qwen2", "f32"))
	plain, err := model.OpenHF(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	fused, err := model.OpenHF(shim, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fused.Close()
	g, _ := readGolden(t, "qwen2")
	n := len(g.PromptIDs)
	s := prune.Schedule{Locations: []int{1, 2}, Ratio: 0.7}
	for _, pr := range []model.Pruner{nil, &prune.Pruner{Schedule: s, Scorer: prune.RecentScorer{}}} {
		for _, chunk := range []int{0, 5} { // one MLP chunk (deferred add) and several
			var out [2][]float32
			for i, m := range []*model.Model{plain, fused} {
				cache := m.NewCache(2)
				o := model.ForwardOptions{Pruner: pr, AllLogits: pr == nil, MLPChunk: chunk}
				logits, err := m.Forward(context.Background(), g.PromptIDs, testmodel.Positions(n, 0), cache, o)
				if err != nil {
					t.Fatal(err)
				}
				step, err := m.Forward(context.Background(), []int{7}, []int32{int32(n)}, cache, model.ForwardOptions{})
				if err != nil {
					t.Fatal(err)
				}
				out[i] = append(logits, step...)
			}
			for j := range out[0] {
				if math.Float32bits(out[0][j]) != math.Float32bits(out[1][j]) {
					t.Fatalf("pruner %v chunk %d: logit %d %v composed, %v fused", pr != nil, chunk, j, out[0][j], out[1][j])
				}
			}
		}
	}
	for _, op := range []string{"AddRMSNorm", "QKV", "GateUp"} {
		if shim.calls[op] == 0 {
			t.Errorf("the model never called %s", op)
		}
	}
}
