package hfconfig

import "strconv"

// Role is what a stored tensor is for in a Llama-family decoder. Every
// weight loader (Hugging Face folders, llama2.c files, synthetic and host
// float64 models) names tensors through TensorName, so a family that
// stores them under other names is one edit here.
type Role uint8

// The tensor roles: model-wide ones, then those of every decoder block.
const (
	Embed     Role = iota // token embedding, vocab × hidden
	FinalNorm             // RMSNorm weight after the last block
	LMHead                // output classifier, vocab × hidden (absent when tied)
	AttnNorm              // RMSNorm weight before attention
	Q                     // query projection, heads·head_dim × hidden
	K                     // key projection, kv_heads·head_dim × hidden
	V                     // value projection, kv_heads·head_dim × hidden
	O                     // output projection, hidden × heads·head_dim
	QBias                 // query bias (QKV-bias families: Qwen2)
	KBias                 // key bias
	VBias                 // value bias
	MLPNorm               // RMSNorm weight before the MLP
	Gate                  // MLP gate projection, ffn × hidden
	Up                    // MLP up projection, ffn × hidden
	Down                  // MLP down projection, hidden × ffn
)

// names are the Hugging Face names: model-wide in full, block roles after
// the "model.layers.N." prefix.
var names = [...]string{
	Embed: "model.embed_tokens.weight", FinalNorm: "model.norm.weight", LMHead: "lm_head.weight",
	AttnNorm: "input_layernorm.weight",
	Q:        "self_attn.q_proj.weight", K: "self_attn.k_proj.weight", V: "self_attn.v_proj.weight", O: "self_attn.o_proj.weight",
	QBias: "self_attn.q_proj.bias", KBias: "self_attn.k_proj.bias", VBias: "self_attn.v_proj.bias",
	MLPNorm: "post_attention_layernorm.weight",
	Gate:    "mlp.gate_proj.weight", Up: "mlp.up_proj.weight", Down: "mlp.down_proj.weight",
}

// InBlock reports whether r belongs to a decoder block (else it is
// model-wide).
func (r Role) InBlock() bool { return r >= AttnNorm }

// IsNorm reports whether r is an RMSNorm weight.
func (r Role) IsNorm() bool { return r == AttnNorm || r == MLPNorm || r == FinalNorm }

// IsBias reports whether r is a projection bias.
func (r Role) IsBias() bool { return r == QBias || r == KBias || r == VBias }

// TensorName returns the Hugging Face name of the tensor of role r in block
// layer (ignored for model-wide roles), e.g. "model.layers.3.mlp.up_proj.weight".
func TensorName(r Role, layer int) string {
	if !r.InBlock() {
		return names[r]
	}
	return "model.layers." + strconv.Itoa(layer) + "." + names[r]
}

// BlockRoles lists the roles of one decoder block in loading order: the
// weights, then (when qkvBias) the three biases.
func BlockRoles(qkvBias bool) []Role {
	roles := []Role{AttnNorm, Q, K, V, O, MLPNorm, Gate, Up, Down}
	if qkvBias {
		roles = append(roles, QBias, KBias, VBias)
	}
	return roles
}
