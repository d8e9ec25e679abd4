package cuda

import (
	"embed"
	"strings"
)

//go:embed kernels/*.cuh kernels/*.cu
var kernelFS embed.FS

// kernelFiles are concatenated in this order into one NVRTC program (no
// #include, so NVRTC needs no header search path).
var kernelFiles = []string{"kernels/common.cuh", "kernels/elementwise.cu", "kernels/attention.cu", "kernels/mass.cu", "kernels/train.cu"}

// kernelSource returns the program's text.
func kernelSource() string {
	var b strings.Builder
	for _, f := range kernelFiles {
		data, err := kernelFS.ReadFile(f)
		if err != nil {
			panic("cuda: embedded kernel file missing: " + f) // build-time invariant
		}
		b.WriteString("// ---- " + f + "\n")
		b.Write(data)
		b.WriteString("\n")
	}
	return b.String()
}

// compileOptions are passed to NVRTC besides the architecture.
var compileOptions = []string{"--std=c++17", "-default-device"}

// bf16OnlyKernel says whether kernel name exists only in the bf16 build
// (tensor-core and vectorised attention); the float32 build of the same
// source (-DSDTP_F32) leaves them out.
func bf16OnlyKernel(name string) bool {
	return strings.HasPrefix(name, "flash_attn_") || strings.HasPrefix(name, "decode_mma_") || strings.HasPrefix(name, "attn_decode_d") ||
		strings.HasPrefix(name, "attn_decode_batch_") || name == "attn_decode_combine_batch"
}

// kernelNames are the entry points looked up after loading the module.
var kernelNames = []string{
	"random_bf16", "f32_to_bf16", "f16_to_bf16", "bf16_to_act",
	"add_bf16", "silu_mul_bf16", "gelu_bf16", "add_bias_bf16",
	"rmsnorm_bf16", "gather_rows_bf16", "rope_bf16",
	"flash_attn_d64", "flash_attn_d128", "flash_attn_d64_m2", "flash_attn_d128_m2", "flash_attn_d128_m2q", "flash_attn_d128_m2n32",
	"gemv_bf16", "gemv_qkv_bf16", "gemv_gateup_bf16", "add_rmsnorm_bf16", "copy_bf16", "decode_mma_d64", "decode_mma_d128",
	"decode_mma_d128_n32_s3", "decode_mma_d128_n32_s4", "decode_mma_d128_n64_s2", "decode_mma_d128_n64_s3",
	"attn_decode_d8", "attn_decode_d16", "attn_decode_d32", "attn_decode_d64", "attn_decode_d128", "attn_decode_d256",
	"attn_decode_combine", "attn_generic", "scatter_rows",
	"attn_decode_batch_d8", "attn_decode_batch_d16", "attn_decode_batch_d32", "attn_decode_batch_d64", "attn_decode_batch_d128",
	"attn_decode_batch_d256", "attn_decode_combine_batch", "decode_mma_d64_batch", "decode_mma_d128_n64_s3_batch",
	"rmsnorm_back_bf16", "silu_mul_back_bf16", "gelu_back_bf16", "row_dot_bf16", "cross_entropy_bf16",
	"soft_cross_entropy_bf16", "expand_heads_bf16", "reduce_heads_bf16", "masked_softmax_bf16",
	"masked_softmax_back_bf16", "col_sum_add_f32",
	"attn_mass_lse", "attn_mass_lse_combine", "attn_mass_acc", "attn_mass_sum",
}
