package lm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sdtp/sdtp/model"
	"github.com/sdtp/sdtp/train/internal/gradcheck"
)

// tinyConfigs are the decoder variants the whole-model checks cover: QKV
// bias, grouped and plain multi-head attention, tied and separate
// classifiers.
func tinyConfigs() map[string]model.Config {
	base := model.Config{Arch: "llama", Hidden: 8, FFN: 12, Layers: 3, Heads: 2, KVHeads: 1, HeadDim: 4, Vocab: 13, MaxPos: 64, RopeTheta: 100, NormEps: 1e-5}
	qwen := base
	qwen.Arch, qwen.QKVBias = "qwen2", true
	l2c := base
	l2c.Arch, l2c.TiedEmbeddings, l2c.KVHeads = "llama2c", true, 2
	return map[string]model.Config{"llama": base, "qwen2": qwen, "llama2c": l2c}
}

var tinyIDs = []int{1, 5, 9, 2, 12, 7}

// lossFrom runs the model from the hidden states x with the given masks
// and returns the mean next-token loss.
func lossFrom(m *Model, x []float64, masks [][]float64) float64 {
	pos := []int{0, 1, 2, 3, 4, 5}
	t := m.ForwardFrom(x, pos, func(l int, _ []float64) []float64 { return masks[l] })
	return t.NextTokenLoss(tinyIDs, nil, nil)
}

// TestWholeModelGrad checks ∂T/∂x at the first block's input, and ∂T/∂keep
// for the key masks of blocks 1 and 2 (soft and hard values), against
// central differences for every tiny variant.
func TestWholeModelGrad(t *testing.T) {
	for name, c := range tinyConfigs() {
		t.Run(name, func(t *testing.T) {
			m, err := NewRandom(c, 7)
			if err != nil {
				t.Fatal(err)
			}
			x, err := m.Embedding(tinyIDs)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			soft := make([]float64, 6)
			for i := range soft {
				soft[i] = 0.2 + 0.8*rng.Float64()
			}
			masks := [][]float64{nil, soft, {1, 0, 1, 1, 0, 1}}
			tr := m.ForwardFrom(x, []int{0, 1, 2, 3, 4, 5}, func(l int, _ []float64) []float64 { return masks[l] })
			dout := make([]float64, len(x))
			loss := tr.NextTokenLoss(tinyIDs, nil, dout)
			if want := lossFrom(m, x, masks); loss != want {
				t.Fatalf("loss with gradient %v, without %v", loss, want)
			}
			dkeep := make([][]float64, 3)
			seen := []int{}
			tr.Backward(dout, func(l int, dx, dk []float64) {
				seen = append(seen, l)
				dkeep[l] = append([]float64(nil), dk...)
			})
			if len(seen) != 3 || seen[0] != 2 || seen[2] != 0 {
				t.Fatalf("hook saw layers %v, want 2,1,0", seen)
			}
			if dkeep[0] != nil {
				t.Fatalf("block 0 had no mask but got a mask gradient")
			}
			f := func() float64 { return lossFrom(m, x, masks) }
			gradcheck.Check(t, "dx0", x, dout, f)
			gradcheck.Check(t, "dkeep1", masks[1], dkeep[1], f)
			gradcheck.Check(t, "dkeep2", masks[2], dkeep[2], f)
		})
	}
}

// TestHookGradientFlows checks that what the hook adds at a block's input
// reaches earlier blocks: a loss term u·x at block 2's input adds u's
// pull-back to ∂/∂x0, compared with central differences.
func TestHookGradientFlows(t *testing.T) {
	m, err := NewRandom(tinyConfigs()["qwen2"], 3)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := m.Embedding(tinyIDs)
	rng := rand.New(rand.NewPCG(2, 2))
	u := make([]float64, len(x))
	for i := range u {
		u[i] = rng.Float64() - 0.5
	}
	pos := []int{0, 1, 2, 3, 4, 5}
	f := func() float64 {
		var extra float64
		tr := m.ForwardFrom(x, pos, func(l int, in []float64) []float64 {
			if l == 2 {
				for i, v := range in {
					extra += u[i] * v
				}
			}
			return nil
		})
		return tr.NextTokenLoss(tinyIDs, nil, nil) + extra
	}
	tr := m.ForwardFrom(x, pos, nil)
	dout := make([]float64, len(x))
	tr.NextTokenLoss(tinyIDs, nil, dout)
	tr.Backward(dout, func(l int, dx, _ []float64) {
		if l == 2 {
			for i := range dx {
				dx[i] += u[i]
			}
		}
	})
	gradcheck.Check(t, "dx0", x, dout, f)
}

// TestNextTokenLossCount checks the row selection of the loss: counting
// only some rows gives the mean over those rows.
func TestNextTokenLossCount(t *testing.T) {
	m, _ := NewRandom(tinyConfigs()["llama"], 5)
	tr, err := m.Forward(tinyIDs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, i := range []int{1, 3} {
		want -= tr.LogProbs(i)[tinyIDs[i+1]]
	}
	want /= 2
	count := []bool{false, true, false, true, false, false}
	if got := tr.NextTokenLoss(tinyIDs, count, nil); math.Abs(got-want) > 1e-12 {
		t.Fatalf("loss over rows 1,3 = %v, want %v", got, want)
	}
	if _, err := m.Forward([]int{1, 13}, nil); err == nil {
		t.Fatal("token id outside the vocabulary accepted")
	}
}

// TestDistillLossGrad checks the soft-label loss's value against its
// definition and its gradient at the first block's input against central
// differences, with a key mask in place.
func TestDistillLossGrad(t *testing.T) {
	m, _ := NewRandom(tinyConfigs()["llama2c"], 9)
	x, _ := m.Embedding(tinyIDs)
	pos := []int{0, 1, 2, 3, 4, 5}
	masks := [][]float64{nil, {1, 0, 1, 0, 1, 1}, {1, 0, 1, 0, 1, 1}}
	hook := func(l int, _ []float64) []float64 { return masks[l] }
	rows := []int{3, 5}
	rng := rand.New(rand.NewPCG(3, 3))
	teacher := make([][]float32, len(rows))
	for k := range teacher {
		lg := make([]float64, m.Config.Vocab)
		for i := range lg {
			lg[i] = rng.NormFloat64()
		}
		logSoftmaxInto(lg)
		teacher[k] = make([]float32, len(lg))
		for i, v := range lg {
			teacher[k][i] = float32(v)
		}
	}
	tr := m.ForwardFrom(x, pos, hook)
	dout := make([]float64, len(x))
	loss := tr.DistillLoss(rows, teacher, dout)
	var want float64
	for k, r := range rows {
		q := tr.LogProbs(r)
		for v, lp := range teacher[k] {
			want -= math.Exp(float64(lp)) * q[v]
		}
	}
	want /= float64(len(rows))
	if math.Abs(loss-want) > 1e-12 {
		t.Fatalf("loss %v, want %v", loss, want)
	}
	tr.Backward(dout, nil)
	gradcheck.Check(t, "dx0", x, dout, func() float64 { return m.ForwardFrom(x, pos, hook).DistillLoss(rows, teacher, nil) })
}

// logSoftmaxInto replaces x by its log-softmax.
func logSoftmaxInto(x []float64) {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	var z float64
	for _, v := range x {
		z += math.Exp(v - mx)
	}
	for i := range x {
		x[i] -= mx + math.Log(z)
	}
}

func TestEmbeddingRefusesInputsItCannotModel(t *testing.T) {
	c := tinyConfigs()["llama"]
	c.SlidingWindow = 4
	m, err := NewRandom(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward([]int{1, 2, 3, 4}, nil); err != nil {
		t.Fatalf("4 tokens in a window of 4: %v", err)
	}
	for _, tc := range []struct {
		ids  []int
		want string
	}{
		{[]int{1, 2, 3, 4, 5}, "sliding window of 4"},
		{[]int{1, 13}, "token id 13 at 1 outside the vocabulary"},
	} {
		if _, err := m.Forward(tc.ids, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Forward(%v): err %v, want %q", tc.ids, err, tc.want)
		}
	}
}

// TestDigestIsStable: a checkpoint records the model's digest and is
// refused by another model, so the digest must not change with the code.
// The values are those the code gave before the RoPE layout left
// model.Config (commit 2f6954b).
func TestDigestIsStable(t *testing.T) {
	cs := tinyConfigs()
	for name, want := range map[string]string{
		"llama": "3eaffca4cc7f7a256f518b4b2033bf668c38fbff602f9b7ba000ca89cf4bfb0e",
		"qwen2": "04db49b4df76d400361d8763a84267d4b7b0f76fa5992a77ced740c85e524965",
	} {
		m, err := NewRandom(cs[name], 42)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", m.Digest()); got != want {
			t.Errorf("%s: digest %s, want %s", name, got, want)
		}
	}
}
