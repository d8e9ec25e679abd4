// Shared helpers of the sdtp CUDA kernels. The kernels include no system
// headers, so NVRTC compiles them with nothing but its built-ins.
// Activations and weights are bfloat16 held as raw 16-bit patterns;
// arithmetic is float32.

typedef unsigned short bf16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define DEV static __device__ __forceinline__
#define NEG_INF (__int_as_float(0xff800000))

DEV float bf2f(bf16 b) { return __uint_as_float(((u32)b) << 16); }

// f2bf rounds to nearest, ties to even (as backend.F32ToBF16).
DEV bf16 f2bf(float f) {
  bf16 r;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(f));
  return r;
}

// pack2 rounds two floats into one register, lo in the low half.
DEV u32 pack2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

DEV void unpack2(u32 v, float& lo, float& hi) {
  lo = __uint_as_float(v << 16);
  hi = __uint_as_float(v & 0xffff0000u);
}

// load8 reads 8 consecutive bf16 (16-byte aligned) as floats.
DEV void load8(const bf16* p, float* f) {
  uint4 v = *(const uint4*)p;
  unpack2(v.x, f[0], f[1]);
  unpack2(v.y, f[2], f[3]);
  unpack2(v.z, f[4], f[5]);
  unpack2(v.w, f[6], f[7]);
}

// store8 writes 8 floats as bf16 to a 16-byte aligned address.
DEV void store8(bf16* p, const float* f) {
  uint4 v;
  v.x = pack2(f[0], f[1]);
  v.y = pack2(f[2], f[3]);
  v.z = pack2(f[4], f[5]);
  v.w = pack2(f[6], f[7]);
  *(uint4*)p = v;
}

// act is the element type of activations and weights: bf16 by default,
// float32 when compiled with -DSDTP_F32 (the "cuda-f32" backend). The
// entry points keep their _bf16 names in both builds. a2f and f2a convert
// to and from float; load8/store8/copy8 move 8 consecutive elements at a
// 16-byte aligned address.
#ifdef SDTP_F32
typedef float act;
DEV float a2f(act v) { return v; }
DEV act f2a(float f) { return f; }
DEV void load8(const float* p, float* f) {
  float4 a = *(const float4*)p, b = *(const float4*)(p + 4);
  f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w, f[4] = b.x, f[5] = b.y, f[6] = b.z, f[7] = b.w;
}
DEV void store8(float* p, const float* f) {
  *(float4*)p = make_float4(f[0], f[1], f[2], f[3]);
  *(float4*)(p + 4) = make_float4(f[4], f[5], f[6], f[7]);
}
DEV void copy8(float* d, const float* s) {
  *(uint4*)d = *(const uint4*)s;
  *(uint4*)(d + 4) = *(const uint4*)(s + 4);
}
#else
typedef bf16 act;
DEV float a2f(act v) { return bf2f(v); }
DEV act f2a(float f) { return f2bf(f); }
DEV void copy8(bf16* d, const bf16* s) { *(uint4*)d = *(const uint4*)s; }
#endif

DEV float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

DEV float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// block_sum and block_max reduce over a block whose size is a multiple of
// 32 (at most 1024); every thread gets the result. scratch holds 33 floats.
DEV float block_sum(float v, float* scratch) {
  int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (l == 0) scratch[w] = v;
  __syncthreads();
  if (w == 0) {
    float t = l < nw ? scratch[l] : 0.f;
    t = warp_sum(t);
    if (l == 0) scratch[32] = t;
  }
  __syncthreads();
  return scratch[32];
}

DEV float block_max(float v, float* scratch) {
  int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (l == 0) scratch[w] = v;
  __syncthreads();
  if (w == 0) {
    float t = l < nw ? scratch[l] : NEG_INF;
    t = warp_max(t);
    if (l == 0) scratch[32] = t;
  }
  __syncthreads();
  return scratch[32];
}

DEV u64 global_tid() { return (u64)blockIdx.x * blockDim.x + threadIdx.x; }
DEV u64 global_threads() { return (u64)gridDim.x * blockDim.x; }

// Shared-memory address and asynchronous copy helpers (sm_80+).
DEV u32 smem_u32(const void* p) {
  u32 r;
  asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(r) : "l"(p));
  return r;
}

// cp_async16 copies 16 bytes global->shared; src_bytes 0 writes zeros.
DEV void cp_async16(void* dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(src_bytes));
}
DEV void cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
DEV void cp_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

DEV void ldsm_x4(u32& r0, u32& r1, u32& r2, u32& r3, u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}
DEV void ldsm_x4_t(u32& r0, u32& r1, u32& r2, u32& r3, u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}

// mma16816 accumulates a 16x16 (A, row) by 16x8 (B, col) bf16 product
// into a 16x8 float tile.
DEV void mma16816(float* c, const u32* a, u32 b0, u32 b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
