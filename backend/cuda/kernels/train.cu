// Training kernels (backend.Trainer): the backward passes of the decoder's
// element-wise and norm ops, the losses, and the pieces of masked attention
// that cuBLAS does not do (the matrix products are strided batched GEMMs,
// see train_attention.go). Arithmetic is float32; long sums are block
// reductions.

// rmsnorm_back_bf16 adds to dx (one block per row) the gradient of
// RMSNorm(x)·w given dy: dx_j += r·w_j·dy_j − r³/d·x_j·Σ_k dy_k·w_k·x_k.
extern "C" __global__ void rmsnorm_back_bf16(act* dx, const act* dy, const act* x, const act* w, int cols, float eps) {
  __shared__ float scratch[33];
  u64 off = (u64)blockIdx.x * cols;
  const act* xr = x + off;
  const act* gr = dy + off;
  act* dr = dx + off;
  float ss = 0.f, s = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float xv = a2f(xr[j]);
    ss += xv * xv;
    s += a2f(gr[j]) * a2f(w[j]) * xv;
  }
  ss = block_sum(ss, scratch);
  s = block_sum(s, scratch);
  float r = 1.f / sqrtf(ss / (float)cols + eps);
  float c = r * r * r / (float)cols * s;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    dr[j] = f2a(a2f(dr[j]) + r * a2f(w[j]) * a2f(gr[j]) - c * a2f(xr[j]));
  }
}

// silu_mul_back_bf16 sets da and db to the gradients of silu(a)·b given dy.
extern "C" __global__ void silu_mul_back_bf16(act* da, act* db, const act* dy, const act* a, const act* b, u64 n) {
  for (u64 i = global_tid(); i < n; i += global_threads()) {
    float v = a2f(a[i]), g = a2f(dy[i]);
    float s = 1.f / (1.f + expf(-v));
    da[i] = f2a(g * a2f(b[i]) * s * (1.f + v * (1.f - s)));
    db[i] = f2a(g * v * s);
  }
}

// gelu_back_bf16 sets dx = dy·(Φ(x) + x·φ(x)).
extern "C" __global__ void gelu_back_bf16(act* dx, const act* dy, const act* x, u64 n) {
  for (u64 i = global_tid(); i < n; i += global_threads()) {
    float v = a2f(x[i]);
    float cdf = 0.5f * (1.f + erff(v * 0.70710678118654752f));
    float pdf = expf(-0.5f * v * v) * 0.39894228040143268f;
    dx[i] = f2a(a2f(dy[i]) * (cdf + v * pdf));
  }
}

// row_dot_bf16 sets dst[r] = Σ_j a[r][j]·b[r][j] (one block per row).
extern "C" __global__ void row_dot_bf16(act* dst, const act* a, const act* b, int cols) {
  __shared__ float scratch[33];
  u64 off = (u64)blockIdx.x * cols;
  float s = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) s += a2f(a[off + j]) * a2f(b[off + j]);
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) dst[blockIdx.x] = f2a(s);
}

// cross_entropy_bf16 sets losses[r] = logsumexp(row) − row[target] and
// turns the row into scale·(softmax(row) − onehot(target)).
extern "C" __global__ void cross_entropy_bf16(act* losses, act* logits, const int* targets, int cols, float scale) {
  __shared__ float scratch[33];
  act* row = logits + (u64)blockIdx.x * cols;
  float m = NEG_INF;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, a2f(row[j]));
  m = block_max(m, scratch);
  float z = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) z += expf(a2f(row[j]) - m);
  z = block_sum(z, scratch);
  float lse = m + logf(z);
  int t = targets[blockIdx.x];
  float lt = a2f(row[t]);
  __syncthreads();  // every thread has read row[t] before it is overwritten
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float p = expf(a2f(row[j]) - lse);
    row[j] = f2a(scale * (j == t ? p - 1.f : p));
  }
  if (threadIdx.x == 0) losses[blockIdx.x] = f2a(lse - lt);
}

// soft_cross_entropy_bf16 is cross_entropy_bf16 against a teacher row of
// log-probabilities: loss = −Σ p·log q, gradient scale·(q − p).
extern "C" __global__ void soft_cross_entropy_bf16(act* losses, act* logits, const act* teacher, int cols, float scale) {
  __shared__ float scratch[33];
  u64 off = (u64)blockIdx.x * cols;
  act* row = logits + off;
  const act* tr = teacher + off;
  float m = NEG_INF;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, a2f(row[j]));
  m = block_max(m, scratch);
  float z = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) z += expf(a2f(row[j]) - m);
  z = block_sum(z, scratch);
  float lse = m + logf(z);
  float loss = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float lq = a2f(row[j]) - lse;
    float p = expf(a2f(tr[j]));
    loss -= p * lq;
    row[j] = f2a(scale * (expf(lq) - p));
  }
  loss = block_sum(loss, scratch);
  if (threadIdx.x == 0) losses[blockIdx.x] = f2a(loss);
}

// ---------------------------------------------------------------------
// Masked attention. Keys and values are first expanded to one head per
// query head (expand_heads_bf16), so that every product is one strided
// batched GEMM over the heads. A chunk of queries [i0, i0+c) sees keys
// [0, L) with L = i0+c; the chunk's scores S (f32) and probabilities P
// are laid out [head][row][key], row r standing for query i0+r.

// expand_heads_bf16 copies src (rows × kvheads·hd) to dst (rows × heads·hd),
// query head h reading key/value head h/(heads/kvheads).
extern "C" __global__ void expand_heads_bf16(act* dst, const act* src, u64 rows, int heads, int kvheads, int hd) {
  u64 total = rows * (u64)heads * hd;
  int group = heads / kvheads;
  for (u64 t = global_tid(); t < total; t += global_threads()) {
    int e = (int)(t % hd);
    u64 rh = t / hd;
    int h = (int)(rh % heads);
    u64 r = rh / heads;
    dst[t] = src[r * (u64)kvheads * hd + (u64)(h / group) * hd + e];
  }
}

// reduce_heads_bf16 sums the f32 per-query-head gradients src (rows ×
// heads·hd) over each group into dst (rows × kvheads·hd).
extern "C" __global__ void reduce_heads_bf16(act* dst, const float* src, u64 rows, int heads, int kvheads, int hd) {
  u64 total = rows * (u64)kvheads * hd;
  int group = heads / kvheads;
  for (u64 t = global_tid(); t < total; t += global_threads()) {
    int e = (int)(t % hd);
    u64 rg = t / hd;
    int g = (int)(rg % kvheads);
    u64 r = rg / kvheads;
    const float* s = src + r * (u64)heads * hd + (u64)g * group * hd + e;
    float acc = 0.f;
    for (int h = 0; h < group; h++) acc += s[(u64)h * hd];
    dst[t] = f2a(acc);
  }
}

// keep_gate is g_ij: keep[j] for j < i, 1 on the diagonal and without a mask.
DEV float keep_gate(const act* keep, int i, int j) { return (keep == 0 || j == i) ? 1.f : a2f(keep[j]); }

// masked_row_stats returns, for query i over scaled scores s[0..i], the max
// over the keys whose gate is not 0 (m) and Σ_j g_ij·exp(s_j − m) (z).
DEV void masked_row_stats(const float* s, const act* keep, int i, float scale, float* scratch, float& m, float& z) {
  m = NEG_INF;
  for (int j = threadIdx.x; j <= i; j += blockDim.x)
    if (keep_gate(keep, i, j) != 0.f) m = fmaxf(m, s[j] * scale);
  m = block_max(m, scratch);
  z = 0.f;
  for (int j = threadIdx.x; j <= i; j += blockDim.x) {
    float g = keep_gate(keep, i, j);
    if (g != 0.f) z += g * expf(s[j] * scale - m);
  }
  z = block_sum(z, scratch);
}

// masked_softmax_bf16 turns one row of scores into the masked attention
// weights P (zeros after the query); grid (c rows, heads).
extern "C" __global__ void masked_softmax_bf16(act* P, const float* S, const act* keep, int i0, int c, int L, float scale) {
  __shared__ float scratch[33];
  int r = blockIdx.x, h = blockIdx.y, i = i0 + r;
  u64 off = ((u64)h * c + r) * L;
  const float* s = S + off;
  act* p = P + off;
  float m, z;
  masked_row_stats(s, keep, i, scale, scratch, m, z);
  float inv = 1.f / z;
  for (int j = threadIdx.x; j < L; j += blockDim.x) {
    float v = 0.f;
    if (j <= i) {
      float g = keep_gate(keep, i, j);
      if (g != 0.f) v = g * expf(s[j] * scale - m) * inv;
    }
    p[j] = f2a(v);
  }
}

// maxUngated bounds exp(s − m) for a key whose gate is 0, whose score may
// stand above the gated ones' max m: the straight-through gradient there
// stays finite (e^60) instead of overflowing float32.
#define MAX_UNGATED 60.f

// masked_softmax_back_bf16 takes one row's scores S and dP = dO·Vᵀ and
// writes P (for dV = Pᵀ·dO), dS = scale·P⊙(dP − D) with D = Σ_j P_j·dP_j
// (for dQ and dK), and, in place of dP, the row's terms of the keep-mask
// gradient (e_j/z)·(dP_j − D) for keys j < i (0 elsewhere, and everywhere
// when want_keep is 0); grid (c rows, heads).
extern "C" __global__ void masked_softmax_back_bf16(act* P, act* dS, float* dP, const float* S, const act* keep, int i0, int c,
                                                    int L, float scale, int want_keep) {
  __shared__ float scratch[33];
  int r = blockIdx.x, h = blockIdx.y, i = i0 + r;
  u64 off = ((u64)h * c + r) * L;
  const float* s = S + off;
  float* dp = dP + off;
  float m, z;
  masked_row_stats(s, keep, i, scale, scratch, m, z);
  float inv = 1.f / z;
  float D = 0.f;
  for (int j = threadIdx.x; j <= i; j += blockDim.x) {
    float g = keep_gate(keep, i, j);
    if (g != 0.f) D += g * expf(s[j] * scale - m) * inv * dp[j];
  }
  D = block_sum(D, scratch);
  for (int j = threadIdx.x; j < L; j += blockDim.x) {
    float pj = 0.f, dsj = 0.f, kj = 0.f;
    if (j <= i) {
      float g = keep_gate(keep, i, j);
      float e = expf(fminf(s[j] * scale - m, MAX_UNGATED)) * inv;
      float d = dp[j] - D;
      pj = g * e;
      dsj = scale * pj * d;
      if (want_keep && j < i) kj = e * d;
    }
    P[off + j] = f2a(pj);
    dS[off + j] = f2a(dsj);
    dp[j] = kj;
  }
}

// col_sum_add_f32 adds to acc[j] (j < cols) the sum over rows of x[r][j];
// grid (⌈cols/256⌉, slices), each block summing one slice of the rows.
extern "C" __global__ void col_sum_add_f32(float* acc, const float* x, u64 rows, int cols) {
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= cols) return;
  u64 per = (rows + gridDim.y - 1) / gridDim.y;
  u64 r0 = (u64)blockIdx.y * per, r1 = r0 + per < rows ? r0 + per : rows;
  float s = 0.f;
  for (u64 r = r0; r < r1; r++) s += x[r * cols + j];
  if (r0 < r1) atomicAdd(acc + j, s);
}
