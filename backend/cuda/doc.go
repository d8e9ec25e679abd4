// Package cuda is the NVIDIA GPU implementation of backend.Backend,
// registered as "cuda" (bf16, for speed) and "cuda-f32" (float32, for
// exactness checks); import it for its side effect.
//
// It needs no cgo: libcuda.so.1 (the driver), cuBLAS, NVRTC and, when
// present, cuDNN 9 are opened at run time with purego (sonames .so.13,
// .so.12, ... are tried in turn; the CUDA toolkit's lib folder must be on
// the loader path). The kernels, CUDA C embedded in the binary, are
// compiled by NVRTC for the device's architecture on first use and cached
// under os.UserCacheDir()/sdtp/cuda, keyed by source, options, device and
// driver version; with a warm cache NVRTC is not needed. Opening fails with
// an error (never a panic) when the driver, a library or a GPU is missing,
// so programs that link this package still run on machines without CUDA.
//
// Numerics: activations live on the device as bfloat16 (FromHost and ToHost
// convert from and to float32); every kernel accumulates in float32, and
// matrix products run on the tensor cores with float32 accumulation. Weights
// are held as bfloat16: F32 and F16 weights are converted on upload (their
// Weight still reports the dtype they were given in; F16 values are rounded
// to F16 first, so RandomWeight and NewWeight agree bit for bit).
// RandomWeight and ConstWeight are generated on the device.
//
// "cuda-f32" (OpenF32) holds activations and weights as float32: the same
// kernel source compiled with -DSDTP_F32 (its element type act is float;
// entry points keep their _bf16 names), cuBLAS GemmEx on CUDA_R_32F with
// f32 compute (no TF32), the generic attention kernel for every shape
// (no tensor-core kernels, no cuDNN). It passes the conformance suite at
// the float32 bounds and reproduces the CPU backend's greedy tokens where
// bf16 rounding would flip a close top-1; it is not tuned for speed.
//
// Kernels: MatMul is cuBLAS GemmEx, except one-token products with rows of
// at most 8192 elements, which a bandwidth-bound kernel of ours takes (bias
// fused). Attention takes, in order: cuDNN's fused flash attention for
// causal prefill (nq == nk ≥ 1024, head size 64 or 128; one execution plan
// per shape, ~65 ms to build once); a tensor-core split-K kernel for one
// query over the cache (decode); an mma.sync flash-attention kernel for
// head sizes 64 and 128; and a simple kernel for any other head size.
//
// Fused ops (backend.AddRMSNormer, QKVer, GateUpper): for one token, QKV
// and GateUp are single bandwidth-bound kernels reading all their weight
// matrices in one launch (bias and SiLU fused; GateUp rounds both products
// to bf16 before the SiLU-mul, as the composition does); for more rows
// they run cuBLAS GEMMs (GateUp then one SiLU-mul kernel). AddRMSNorm is
// one kernel per row for any row count.
//
// Threading: the backend uses the device's primary context, made current on
// the calling OS thread (locked for the duration of each call), so any
// goroutine may call it; calls are serialised by a mutex. Device memory
// comes from the stream-ordered pool (no synchronising frees); Memory
// reports what the backend holds.
package cuda
