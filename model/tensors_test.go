package model

import "testing"

// TestTensorsFillEverySlot checks that the tensor list of a config gives
// each weight of the model a distinct slot, with the shapes the decoder
// reads, and leaves the biases empty without QKV bias.
func TestTensorsFillEverySlot(t *testing.T) {
	for _, bias := range []bool{false, true} {
		c := Config{Hidden: 8, FFN: 12, Layers: 2, Heads: 2, KVHeads: 1, HeadDim: 4, Vocab: 11, QKVBias: bias}
		var w Weights[[2]int]
		w.Layers = make([]Block[[2]int], c.Layers)
		seen := map[*[2]int]bool{}
		for _, ts := range c.Tensors() {
			p := w.Slot(ts)
			if seen[p] {
				t.Fatalf("bias %v: %s shares a slot", bias, ts.Name())
			}
			seen[p] = true
			*p = [2]int{ts.Rows, ts.Cols}
		}
		q, kv := c.QDim(), c.KVDim()
		ly := w.Layers[1]
		for _, tc := range []struct {
			name string
			got  [2]int
			want [2]int
		}{
			{"embed", w.Embed, [2]int{11, 8}}, {"norm", w.Norm, [2]int{1, 8}}, {"lm_head", w.LMHead, [2]int{11, 8}},
			{"attn norm", ly.AttnNorm, [2]int{1, 8}}, {"q", ly.Wq, [2]int{q, 8}}, {"k", ly.Wk, [2]int{kv, 8}},
			{"v", ly.Wv, [2]int{kv, 8}}, {"o", ly.Wo, [2]int{8, q}}, {"mlp norm", ly.MLPNorm, [2]int{1, 8}},
			{"gate", ly.Gate, [2]int{12, 8}}, {"up", ly.Up, [2]int{12, 8}}, {"down", ly.Down, [2]int{8, 12}},
		} {
			if tc.got != tc.want {
				t.Errorf("bias %v: %s is %v, want %v", bias, tc.name, tc.got, tc.want)
			}
		}
		wantBias := [2]int{}
		if bias {
			wantBias = [2]int{1, q}
		}
		if ly.Bq != wantBias {
			t.Errorf("bias %v: q bias %v, want %v", bias, ly.Bq, wantBias)
		}
	}
}

func TestStopIDs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      Config
		tokEOS []int
		want   []int
	}{
		{"llama2c stops at BOS only", Config{Arch: "llama2c", BOS: 1, EOS: []int{2}}, []int{2, 1}, []int{1}},
		{"model and tokenizer EOS, once each", Config{Arch: "qwen2", BOS: -1, EOS: []int{151643, 151645}}, []int{151645}, []int{151643, 151645}},
		{"no tokenizer", Config{Arch: "llama", BOS: 1, EOS: []int{2}}, nil, []int{2}},
		{"negative ids left out", Config{Arch: "llama", BOS: 1, EOS: []int{-1}}, []int{2}, []int{2}},
	} {
		got := tc.c.StopIDs(tc.tokEOS)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}
