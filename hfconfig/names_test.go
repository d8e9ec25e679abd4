package hfconfig

import "testing"

// TestTensorNames checks the names against those transformers' Llama and
// Qwen2 checkpoints store (model.safetensors.index.json of Qwen2-7B).
func TestTensorNames(t *testing.T) {
	for _, tc := range []struct {
		r     Role
		layer int
		want  string
	}{
		{Embed, 0, "model.embed_tokens.weight"},
		{FinalNorm, 5, "model.norm.weight"},
		{LMHead, 0, "lm_head.weight"},
		{AttnNorm, 0, "model.layers.0.input_layernorm.weight"},
		{Q, 27, "model.layers.27.self_attn.q_proj.weight"},
		{K, 1, "model.layers.1.self_attn.k_proj.weight"},
		{V, 1, "model.layers.1.self_attn.v_proj.weight"},
		{O, 1, "model.layers.1.self_attn.o_proj.weight"},
		{QBias, 2, "model.layers.2.self_attn.q_proj.bias"},
		{KBias, 2, "model.layers.2.self_attn.k_proj.bias"},
		{VBias, 2, "model.layers.2.self_attn.v_proj.bias"},
		{MLPNorm, 3, "model.layers.3.post_attention_layernorm.weight"},
		{Gate, 3, "model.layers.3.mlp.gate_proj.weight"},
		{Up, 3, "model.layers.3.mlp.up_proj.weight"},
		{Down, 3, "model.layers.3.mlp.down_proj.weight"},
	} {
		if got := TensorName(tc.r, tc.layer); got != tc.want {
			t.Errorf("TensorName(%d, %d) = %q, want %q", tc.r, tc.layer, got, tc.want)
		}
	}
}

func TestBlockRoles(t *testing.T) {
	for _, bias := range []bool{false, true} {
		roles := BlockRoles(bias)
		seen := map[Role]bool{}
		biases := 0
		for _, r := range roles {
			if !r.InBlock() || seen[r] {
				t.Errorf("BlockRoles(%v): %d repeated or not a block role", bias, r)
			}
			seen[r] = true
			if r.IsBias() {
				biases++
			}
		}
		if want := map[bool]int{false: 0, true: 3}[bias]; biases != want || len(roles) != 9+want {
			t.Errorf("BlockRoles(%v) = %v: %d biases of %d roles", bias, roles, biases, len(roles))
		}
	}
}
