// Element-wise, normalisation, gather, RoPE and weight-making
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

// random_bf16 writes RandomValue(seed, i)*scale rounded to the weight's
// dtype (round: 0 float32, 1 f16, 2 bf16) and then to act, as a weight of
// those values uploaded with NewWeight would be.
extern "C" __global__ void random_bf16(act* out, u64 n, u64 seed, float scale, int round) {
  for (u64 i = global_tid(); i < n; i += global_threads()) {
    float v = __fmul_rn(random_value(seed, i), scale);
    if (round == 1) {
      unsigned short h;
      asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
      asm("cvt.f32.f16 %0, %1;" : "=f"(v) : "h"(h));
    } else if (round == 2) {
      v = bf2f(f2bf(v));
    }
    out[i] = f2a(v);
  }
}

extern "C" __global__ void f32_to_bf16(act* out, const float* in, u64 n) {
  for (u64 i = global_tid(); i < n; i += global_threads()) out[i] = f2a(in[i]);
}

// bf16_to_act widens bf16 weights (the float32 build's upload path).
extern "C" __global__ void bf16_to_act(act* out, const bf16* in, u64 n) {
  for (u64 i = global_tid(); i < n; i += global_threads()) out[i] = f2a(bf2f(in[i]));
}

extern "C" __global__ void f16_to_bf16(act* out, const unsigned short* in, u64 n) {
  for (u64 i = global_tid(); i < n; i += global_threads()) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(in[i]));
    out[i] = f2a(f);
  }
}

#define ELEMENTWISE2(NAME, EXPR)                                                        \
  extern "C" __global__ void NAME(act* dst, const act* a, const act* b, u64 n, int vec) { \
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
          float A = a2f(a[i]), B = a2f(b[i]);                                         \
          dst[i] = f2a(EXPR);                                                          \
        }                                                                               \
      }                                                                                 \
    }                                                                                   \
  }

DEV float silu(float x) { return x / (1.0f + expf(-x)); }
DEV float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

ELEMENTWISE2(add_bf16, A + B)
ELEMENTWISE2(silu_mul_bf16, silu(A) * B)

extern "C" __global__ void gelu_bf16(act* dst, const act* a, u64 n, int vec) {
  for (u64 i0 = global_tid() * 8; i0 < n; i0 += global_threads() * 8) {
    if (vec && i0 + 8 <= n) {
      float x[8];
      load8(a + i0, x);
#pragma unroll
      for (int e = 0; e < 8; e++) x[e] = gelu(x[e]);
      store8(dst + i0, x);
    } else {
      for (u64 i = i0; i < n && i < i0 + 8; i++) dst[i] = f2a(gelu(a2f(a[i])));
    }
  }
}

// add_bias_bf16 adds the 1×cols bias to every row of dst.
extern "C" __global__ void add_bias_bf16(act* dst, const act* bias, u64 rows, int cols, int vec) {
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
      for (u64 i = i0; i < n && i < i0 + 8; i++) dst[i] = f2a(a2f(dst[i]) + a2f(bias[i % (u64)cols]));
    }
  }
}

// rmsnorm_bf16: one block per row.
extern "C" __global__ void rmsnorm_bf16(act* dst, const act* x, const act* w, int cols, float eps, int vec) {
  __shared__ float scratch[33];
  const act* xr = x + (u64)blockIdx.x * cols;
  act* dr = dst + (u64)blockIdx.x * cols;
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
      float f = a2f(xr[c]);
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
    for (int c = threadIdx.x; c < cols; c += blockDim.x) dr[c] = f2a(a2f(xr[c]) * inv * a2f(w[c]));
  }
}

// gather_rows_bf16: dst[i] = src[idx[i]]; one block per destination row.
extern "C" __global__ void gather_rows_bf16(act* dst, const act* src, const int* idx, int cols, int vec) {
  const act* s = src + (u64)idx[blockIdx.x] * cols;
  act* d = dst + (u64)blockIdx.x * cols;
  if (vec) {
    for (int c = threadIdx.x * 8; c < cols; c += blockDim.x * 8) copy8(d + c, s + c);
  } else {
    for (int c = threadIdx.x; c < cols; c += blockDim.x) d[c] = s[c];
  }
}

// RopeFreqs carries the inverse frequencies by value (head_dim <= 512).
struct RopeFreqs {
  float f[256];
};

// rope_bf16 rotates, in place, the first heads*hd columns of each row
// (row stride `stride`) by pos[row]*inv_freq[j]; element j pairs with
// j+hd/2.
extern "C" __global__ void rope_bf16(act* x, const int* pos, u64 rows, int stride, int heads, int hd, RopeFreqs fr) {
  int half = hd / 2;
  u64 total = rows * (u64)heads * half;
  for (u64 t = global_tid(); t < total; t += global_threads()) {
    int j = (int)(t % half);
    u64 rh = t / half;
    int h = (int)(rh % heads);
    u64 r = rh / heads;
    act* p = x + r * stride + (u64)h * hd;
    int i0 = j, i1 = j + half;
    float ang = __fmul_rn((float)pos[r], fr.f[j]);
    float sn, cs;
    sincosf(ang, &sn, &cs);
    float a = a2f(p[i0]), b = a2f(p[i1]);
    p[i0] = f2a(a * cs - b * sn);
    p[i1] = f2a(a * sn + b * cs);
  }
}

// gemv_stage_x copies x (1×K, K % 8 == 0) into shared memory as float.
DEV void gemv_stage_x(float* xs, const act* x, int K) {
  for (int i = threadIdx.x * 8; i < K; i += blockDim.x * 8) {
    float f[8];
    load8(x + i, f);
    *(float4*)(xs + i) = make_float4(f[0], f[1], f[2], f[3]);
    *(float4*)(xs + i + 4) = make_float4(f[4], f[5], f[6], f[7]);
  }
  __syncthreads();
}

// gemv_dot is one warp's dot product of weight row w (16-byte aligned,
// K % 8 == 0) with the staged x; every lane gets the sum.
DEV float gemv_dot(const act* w, const float* xs, int K, int lane) {
  float acc = 0.f;
#pragma unroll 4
  for (int c = lane * 8; c < K; c += 256) {
    float f[8];
    load8(w + c, f);
    float4 x0 = *(const float4*)(xs + c), x1 = *(const float4*)(xs + c + 4);
    acc += f[0] * x0.x + f[1] * x0.y + f[2] * x0.z + f[3] * x0.w + f[4] * x1.x + f[5] * x1.y + f[6] * x1.z + f[7] * x1.w;
  }
  return warp_sum(acc);
}

// gemv_bf16: y (1×M) = x (1×K) · Wᵀ (+ bias) for one token (decode), W
// M×K row-major, K % 8 == 0 and 16-byte aligned rows. A block of 8 warps
// stages x in shared memory as float; each warp computes one output.
extern "C" __global__ void __launch_bounds__(256) gemv_bf16(act* y, const act* x, const act* W, const act* bias,
                                                             int M, int K) {
  extern __shared__ float gv_x[];
  gemv_stage_x(gv_x, x, K);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x * 8 + warp;
  if (row >= M) return;
  float acc = gemv_dot(W + (long)row * K, gv_x, K, lane);
  if (lane == 0) y[row] = f2a(acc + (bias ? a2f(bias[row]) : 0.f));
}

// gemv_qkv_bf16: the three attention projections of one token in one
// launch: rows [0, M0) of the virtual output are y0 = x·W0ᵀ (+ b0), the
// next M1 are y1 and the last M2 are y2 (biases may be null). Same
// arithmetic per output as gemv_bf16.
extern "C" __global__ void __launch_bounds__(256) gemv_qkv_bf16(act* y0, act* y1, act* y2, const act* x,
                                                                 const act* W0, const act* W1, const act* W2,
                                                                 const act* b0, const act* b1, const act* b2,
                                                                 int M0, int M1, int M2, int K) {
  extern __shared__ float gv_x[];
  gemv_stage_x(gv_x, x, K);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int row = blockIdx.x * 8 + warp;
  act* y = y0;
  const act* W = W0;
  const act* bias = b0;
  if (row >= M0) {
    row -= M0;
    y = y1, W = W1, bias = b1;
    if (row >= M1) {
      row -= M1;
      y = y2, W = W2, bias = b2;
      if (row >= M2) return;
    }
  }
  float acc = gemv_dot(W + (long)row * K, gv_x, K, lane);
  if (lane == 0) y[row] = f2a(acc + (bias ? a2f(bias[row]) : 0.f));
}

// gemv_gateup_bf16: y = silu(x·Gᵀ) * (x·Uᵀ) for one token, G and U M×K.
// Each warp reads row r of both matrices; the two products are rounded to
// act before the SiLU-mul, as the composed MatMul, MatMul, SiLUMul do.
extern "C" __global__ void __launch_bounds__(256) gemv_gateup_bf16(act* y, const act* x, const act* G, const act* U,
                                                                    int M, int K) {
  extern __shared__ float gv_x[];
  gemv_stage_x(gv_x, x, K);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x * 8 + warp;
  if (row >= M) return;
  float g = gemv_dot(G + (long)row * K, gv_x, K, lane);
  float u = gemv_dot(U + (long)row * K, gv_x, K, lane);
  if (lane == 0) {
    float A = a2f(f2a(g)), B = a2f(f2a(u));
    y[row] = f2a(silu(A) * B);
  }
}

// add_rmsnorm_bf16: one block per row: x += d (rounded to act as add_bf16
// does), then dst = RMSNorm(x)·w as rmsnorm_bf16. dst may alias d: each
// thread reads d only at the elements it later writes to dst.
extern "C" __global__ void add_rmsnorm_bf16(act* dst, act* x, const act* d, const act* w, int cols, float eps,
                                            int vec) {
  __shared__ float scratch[33];
  act* xr = x + (u64)blockIdx.x * cols;
  const act* drow = d + (u64)blockIdx.x * cols;
  act* dr = dst + (u64)blockIdx.x * cols;
  float ss = 0.f;
  if (vec) {
    for (int c = threadIdx.x * 8; c < cols; c += blockDim.x * 8) {
      float f[8], g[8];
      load8(xr + c, f);
      load8(drow + c, g);
#pragma unroll
      for (int e = 0; e < 8; e++) f[e] = a2f(f2a(f[e] + g[e]));
      store8(xr + c, f);
#pragma unroll
      for (int e = 0; e < 8; e++) ss += f[e] * f[e];
    }
  } else {
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
      act s = f2a(a2f(xr[c]) + a2f(drow[c]));
      xr[c] = s;
      float f = a2f(s);
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
    for (int c = threadIdx.x; c < cols; c += blockDim.x) dr[c] = f2a(a2f(xr[c]) * inv * a2f(w[c]));
  }
}

// copy_bf16 copies n elements; small copies run as this kernel rather than
// a driver memcpy, which costs more per call in a stream of kernels.
extern "C" __global__ void copy_bf16(act* dst, const act* src, u64 n, int vec) {
  for (u64 i0 = global_tid() * 8; i0 < n; i0 += global_threads() * 8) {
    if (vec && i0 + 8 <= n) {
      copy8(dst + i0, src + i0);
    } else {
      for (u64 i = i0; i < n && i < i0 + 8; i++) dst[i] = src[i];
    }
  }
}

// scatter_rows copies row r of src (cols elements) to dst[r]: grid rows,
// 256 threads.
extern "C" __global__ void __launch_bounds__(256) scatter_rows(const u64* dst, const act* src, int cols, int vec) {
  act* d = (act*)dst[blockIdx.x];
  const act* s = src + (long)blockIdx.x * cols;
  for (int i0 = threadIdx.x * 8; i0 < cols; i0 += blockDim.x * 8) {
    if (vec && i0 + 8 <= cols) {
      copy8(d + i0, s + i0);
    } else {
      for (int i = i0; i < cols && i < i0 + 8; i++) d[i] = s[i];
    }
  }
}
