// Element-wise, normalisation, gather, RoPE, softmax and weight-making
// kernels. Rows are contiguous; "vec" says every pointer is 16-byte aligned
// so 8-element vector accesses are allowed.

// random_value is backend.RandomValue: splitmix64 of seed and i, top 24
// bits as a fraction in [-1, 1). Every step is exact in float32.
DEV float random_value(u64 seed, u64 i) {
  u64 z = seed + (i + 1ull) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return __fsub_rn(__fmul_rn((float)(u32)(z >> 40), 1.0f / 8388608.0f), 1.0f);
}

extern "C" __global__ void random_bf16(bf16* out, u64 n, u64 seed, float scale) {
  for (u64 i = global_tid(); i < n; i += global_threads()) out[i] = f2bf(__fmul_rn(random_value(seed, i), scale));
}

extern "C" __global__ void f32_to_bf16(bf16* out, const float* in, u64 n) {
  for (u64 i = global_tid(); i < n; i += global_threads()) out[i] = f2bf(in[i]);
}

extern "C" __global__ void f16_to_bf16(bf16* out, const unsigned short* in, u64 n) {
  for (u64 i = global_tid(); i < n; i += global_threads()) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(in[i]));
    out[i] = f2bf(f);
  }
}

#define ELEMENTWISE2(NAME, EXPR)                                                        \
  extern "C" __global__ void NAME(bf16* dst, const bf16* a, const bf16* b, u64 n, int vec) { \
    for (u64 i0 = global_tid() * 8; i0 < n; i0 += global_threads() * 8) {              \
      if (vec && i0 + 8 <= n) {                                                         \
        float x[8], y[8];                                                               \
        load8(a + i0, x);                                                               \
        load8(b + i0, y);                                                               \
        _Pragma("unroll") for (int e = 0; e < 8; e++) {                                 \
          float A = x[e], B = y[e];                                                     \
          x[e] = (EXPR);                                                                \
        }                                                                               \
        store8(dst + i0, x);                                                            \
      } else {                                                                          \
        for (u64 i = i0; i < n && i < i0 + 8; i++) {                                    \
          float A = bf2f(a[i]), B = bf2f(b[i]);                                         \
          dst[i] = f2bf(EXPR);                                                          \
        }                                                                               \
      }                                                                                 \
    }                                                                                   \
  }

DEV float silu(float x) { return x / (1.0f + expf(-x)); }
DEV float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

ELEMENTWISE2(add_bf16, A + B)
ELEMENTWISE2(silu_mul_bf16, silu(A) * B)

extern "C" __global__ void gelu_bf16(bf16* dst, const bf16* a, u64 n, int vec) {
  for (u64 i0 = global_tid() * 8; i0 < n; i0 += global_threads() * 8) {
    if (vec && i0 + 8 <= n) {
      float x[8];
      load8(a + i0, x);
#pragma unroll
      for (int e = 0; e < 8; e++) x[e] = gelu(x[e]);
      store8(dst + i0, x);
    } else {
      for (u64 i = i0; i < n && i < i0 + 8; i++) dst[i] = f2bf(gelu(bf2f(a[i])));
    }
  }
}

// add_bias_bf16 adds the 1×cols bias to every row of dst.
extern "C" __global__ void add_bias_bf16(bf16* dst, const bf16* bias, u64 rows, int cols, int vec) {
  u64 n = rows * (u64)cols;
  for (u64 i0 = global_tid() * 8; i0 < n; i0 += global_threads() * 8) {
    if (vec && i0 + 8 <= n) {  // cols % 8 == 0: the 8 elements share a row
      int c = (int)(i0 % (u64)cols);
      float x[8], b[8];
      load8(dst + i0, x);
      load8(bias + c, b);
#pragma unroll
      for (int e = 0; e < 8; e++) x[e] += b[e];
      store8(dst + i0, x);
    } else {
      for (u64 i = i0; i < n && i < i0 + 8; i++) dst[i] = f2bf(bf2f(dst[i]) + bf2f(bias[i % (u64)cols]));
    }
  }
}

// rmsnorm_bf16: one block per row.
extern "C" __global__ void rmsnorm_bf16(bf16* dst, const bf16* x, const bf16* w, int cols, float eps, int vec) {
  __shared__ float scratch[33];
  const bf16* xr = x + (u64)blockIdx.x * cols;
  bf16* dr = dst + (u64)blockIdx.x * cols;
  float ss = 0.f;
  if (vec) {
    for (int c = threadIdx.x * 8; c < cols; c += blockDim.x * 8) {
      float f[8];
      load8(xr + c, f);
#pragma unroll
      for (int e = 0; e < 8; e++) ss += f[e] * f[e];
    }
  } else {
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
      float f = bf2f(xr[c]);
      ss += f * f;
    }
  }
  ss = block_sum(ss, scratch);
  float inv = rsqrtf(ss / (float)cols + eps);
  if (vec) {
    for (int c = threadIdx.x * 8; c < cols; c += blockDim.x * 8) {
      float f[8], g[8];
      load8(xr + c, f);
      load8(w + c, g);
#pragma unroll
      for (int e = 0; e < 8; e++) f[e] = f[e] * inv * g[e];
      store8(dr + c, f);
    }
  } else {
    for (int c = threadIdx.x; c < cols; c += blockDim.x) dr[c] = f2bf(bf2f(xr[c]) * inv * bf2f(w[c]));
  }
}

// log_softmax_bf16: one block per row; float32 throughout.
extern "C" __global__ void log_softmax_bf16(bf16* dst, const bf16* x, int cols) {
  __shared__ float scratch[33];
  const bf16* xr = x + (u64)blockIdx.x * cols;
  bf16* dr = dst + (u64)blockIdx.x * cols;
  float m = NEG_INF;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, bf2f(xr[c]));
  m = block_max(m, scratch);
  float s = 0.f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += expf(bf2f(xr[c]) - m);
  s = block_sum(s, scratch);
  float lse = m + logf(s);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) dr[c] = f2bf(bf2f(xr[c]) - lse);
}

// gather_rows_bf16: dst[i] = src[idx[i]]; one block per destination row.
extern "C" __global__ void gather_rows_bf16(bf16* dst, const bf16* src, const int* idx, int cols, int vec) {
  const bf16* s = src + (u64)idx[blockIdx.x] * cols;
  bf16* d = dst + (u64)blockIdx.x * cols;
  if (vec) {
    for (int c = threadIdx.x * 8; c < cols; c += blockDim.x * 8) *(uint4*)(d + c) = *(const uint4*)(s + c);
  } else {
    for (int c = threadIdx.x; c < cols; c += blockDim.x) d[c] = s[c];
  }
}

// RopeFreqs carries the inverse frequencies by value (head_dim <= 512).
struct RopeFreqs {
  float f[256];
};

// rope_bf16 rotates, in place, the first heads*hd columns of each row
// (row stride `stride`) by pos[row]*inv_freq[j]; pairs selects the
// adjacent-pairs layout, otherwise element j pairs with j+hd/2.
extern "C" __global__ void rope_bf16(bf16* x, const int* pos, u64 rows, int stride, int heads, int hd, int pairs,
                                     RopeFreqs fr) {
  int half = hd / 2;
  u64 total = rows * (u64)heads * half;
  for (u64 t = global_tid(); t < total; t += global_threads()) {
    int j = (int)(t % half);
    u64 rh = t / half;
    int h = (int)(rh % heads);
    u64 r = rh / heads;
    bf16* p = x + r * stride + (u64)h * hd;
    int i0 = pairs ? 2 * j : j;
    int i1 = pairs ? 2 * j + 1 : j + half;
    float ang = __fmul_rn((float)pos[r], fr.f[j]);
    float sn, cs;
    sincosf(ang, &sn, &cs);
    float a = bf2f(p[i0]), b = bf2f(p[i1]);
    p[i0] = f2bf(a * cs - b * sn);
    p[i1] = f2bf(a * sn + b * cs);
  }
}
