// Attention mass (backend.AttentionMasser): the attention weight each key
// receives, summed over the queries and the query heads, in three steps
// of plain float32 arithmetic (no tensor cores):
//   1. attn_mass_lse: per (query, head, key split) the softmax's running
//      max and sum in the log2 domain, over the keys the query sees;
//   2. attn_mass_lse_combine: per (query, head) log2 of the softmax's
//      denominator, from its splits;
//   3. attn_mass_acc: per key (one thread each) and key/value head, the sum
//      over the queries that see it and the group's query heads of
//      exp2(score − lse); attn_mass_sum adds the key/value heads up.
// Query i stands at key index nk−nq+i (Attention's causal rule). Scores are
// q·k·scale·log2(e), as the attention kernels take them.

// attn_mass_lse: block (i, h, split), any multiple of 32 threads; shared
// memory holds the scaled query (hd floats). ml[(row*splits+split)*2] gets
// the split's (max, sum) with row = i*H + h; (−inf, 0) for no keys.
extern "C" __global__ void attn_mass_lse(const act* q, const act* k, float* ml, int nq, int nk, int H, int KVH, int hd,
                                         int chunk, float scaleLog2) {
  extern __shared__ float qs[];
  __shared__ float scratch[33];
  int i = blockIdx.x, h = blockIdx.y, split = blockIdx.z, splits = gridDim.z;
  int g = h / (H / KVH);
  const act* qr = q + ((u64)i * H + h) * hd;
  for (int e = threadIdx.x; e < hd; e += blockDim.x) qs[e] = a2f(qr[e]) * scaleLog2;
  __syncthreads();
  int j0 = split * chunk, j1 = min(nk - nq + i + 1, j0 + chunk);
  float m = NEG_INF, s = 0.f;
  for (int j = j0 + threadIdx.x; j < j1; j += blockDim.x) {
    const act* kr = k + ((u64)j * KVH + g) * hd;
    float x = 0.f;
    for (int e = 0; e < hd; e++) x += qs[e] * a2f(kr[e]);
    float mn = fmaxf(m, x);
    s = s * exp2f(m - mn) + exp2f(x - mn);
    m = mn;
  }
  float bm = block_max(m, scratch);
  float bs = block_sum(m == NEG_INF ? 0.f : s * exp2f(m - bm), scratch);
  if (threadIdx.x == 0) {
    u64 o = ((u64)(i * H + h) * splits + split) * 2;
    ml[o] = bm;
    ml[o + 1] = bs;
  }
}

// attn_mass_lse_combine: one thread per (query, head) row, lse[row] =
// log2 of the softmax's denominator in the scaled log2 domain.
extern "C" __global__ void attn_mass_lse_combine(const float* ml, float* lse, int rows, int splits) {
  for (u64 r = global_tid(); r < (u64)rows; r += global_threads()) {
    const float* p = ml + r * splits * 2;
    float m = NEG_INF;
    for (int s = 0; s < splits; s++) m = fmaxf(m, p[2 * s]);
    float sum = 0.f;
    for (int s = 0; s < splits; s++)
      if (p[2 * s] != NEG_INF) sum += p[2 * s + 1] * exp2f(p[2 * s] - m);
    lse[r] = m + log2f(sum);
  }
}

// MASS_QROWS is the number of (query, head) rows attn_mass_acc stages in
// shared memory at a time.
#define MASS_QROWS 8

// attn_mass_acc: block (key tile, key/value head g) of blockDim.x threads,
// one key each; shared memory holds the tile's keys (rows padded to hd+1
// floats, so the threads' reads fall in different banks), then
// MASS_QROWS scaled query rows. part[g*nk + j] gets key j's sum over the
// queries that see it and the query heads of group g.
extern "C" __global__ void attn_mass_acc(const act* q, const act* k, const float* lse, float* part, int nq, int nk, int H,
                                         int KVH, int hd, float scaleLog2) {
  extern __shared__ float sm[];
  int tile = blockDim.x, g = blockIdx.y, group = H / KVH;
  int j0 = blockIdx.x * tile, j = j0 + threadIdx.x, off = nk - nq;
  float* ks = sm;
  float* qs = sm + tile * (hd + 1);
  for (int x = threadIdx.x; x < tile * hd; x += tile) {
    int r = x / hd, e = x % hd;
    ks[r * (hd + 1) + e] = j0 + r < nk ? a2f(k[((u64)(j0 + r) * KVH + g) * hd + e]) : 0.f;
  }
  // Query i sees keys up to off+i: the first one to see key j0 is j0−off.
  int i0 = max(0, j0 - off);
  int rows = (nq - i0) * group;
  const float* kr = ks + threadIdx.x * (hd + 1);
  float acc = 0.f;
  for (int t0 = 0; t0 < rows; t0 += MASS_QROWS) {
    __syncthreads();
    for (int x = threadIdx.x; x < MASS_QROWS * hd; x += tile) {
      int r = x / hd, e = x % hd, t = t0 + r;
      float v = 0.f;
      if (t < rows) v = a2f(q[((u64)(i0 + t / group) * H + g * group + t % group) * hd + e]) * scaleLog2;
      qs[r * hd + e] = v;
    }
    __syncthreads();
    if (j >= nk) continue;
    for (int r = 0; r < MASS_QROWS && t0 + r < rows; r++) {
      int t = t0 + r, i = i0 + t / group, h = g * group + t % group;
      if (j > off + i) continue;
      const float* qr = qs + r * hd;
      float x = 0.f;
      for (int e = 0; e < hd; e++) x += qr[e] * kr[e];
      acc += exp2f(x - lse[i * H + h]);
    }
  }
  if (j < nk) part[(u64)g * nk + j] = acc;
}

// attn_mass_sum: mass[j] = Σ_g part[g*nk + j].
extern "C" __global__ void attn_mass_sum(act* mass, const float* part, int nk, int KVH) {
  for (u64 j = global_tid(); j < (u64)nk; j += global_threads()) {
    float s = 0.f;
    for (int g = 0; g < KVH; g++) s += part[(u64)g * nk + j];
    mass[j] = f2a(s);
  }
}
