// Causal grouped-query attention.
//
// Layout: q and o are nq × (H·D), k and v are nk × (KVH·D), row-major bf16.
// Query i stands at key index nk-nq+i and attends keys 0..nk-nq+i. Query
// head h reads key/value head h/(H/KVH). scale_log2 is the softmax scale
// times log2(e), so exponentials are exp2.

// ---------------------------------------------------------------------
// Prefill: flash attention with bf16 tensor cores (mma.sync m16n8k16),
// online softmax, no N×N matrix. A block of 4 warps takes 64 queries of
// one head; each warp owns 16 query rows. Key/value tiles of 64 rows are
// double-buffered in shared memory through cp.async. Rows are padded by
// 8 elements so ldmatrix reads are free of bank conflicts.

#define FA_BM 64
#define FA_BN 64

template <int D>
DEV void fa_load_tile(bf16* s, const bf16* g, long stride, int row0, int nrows, int tid) {
  const int CH = D / 8, STR = D + 8;
#pragma unroll
  for (int c = tid; c < FA_BN * CH; c += 128) {
    int r = c / CH, cc = c - r * CH;
    int gr = row0 + r;
    bool ok = gr < nrows;
    cp_async16(s + r * STR + cc * 8, g + (long)(ok ? gr : 0) * stride + cc * 8, ok ? 16 : 0);
  }
}

template <int D>
DEV void flash_attn(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                    bf16* __restrict__ o, int nq, int nk, int H, int KVH, float scale_log2) {
  const int STR = D + 8;
  extern __shared__ __align__(16) unsigned char fa_smem[];
  bf16* sQ = (bf16*)fa_smem;
  bf16* sK = sQ + FA_BM * STR;
  bf16* sV = sK + 2 * FA_BN * STR;

  const int mblk = gridDim.x - 1 - blockIdx.x;  // longest rows first
  const int h = blockIdx.y;
  const int kvh = h / (H / KVH);
  const int m0 = mblk * FA_BM;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const long qstride = (long)H * D, kstride = (long)KVH * D;
  const int off = nk - nq;
  int kend = off + m0 + FA_BM;
  if (kend > nk) kend = nk;
  const int ntiles = (kend + FA_BN - 1) / FA_BN;

  const bf16* kg = k + (long)kvh * D;
  const bf16* vg = v + (long)kvh * D;
  {
    const int CH = D / 8;
    for (int c = tid; c < FA_BM * CH; c += 128) {
      int r = c / CH, cc = c - r * CH;
      int qi = m0 + r;
      bool ok = qi < nq;
      cp_async16(sQ + r * STR + cc * 8, q + (long)(ok ? qi : 0) * qstride + (long)h * D + cc * 8, ok ? 16 : 0);
    }
  }
  fa_load_tile<D>(sK, kg, kstride, 0, nk, tid);
  fa_load_tile<D>(sV, vg, kstride, 0, nk, tid);
  cp_commit();

  u32 qf[D / 16][4];
  float oacc[D / 8][4];
#pragma unroll
  for (int j = 0; j < D / 8; j++) oacc[j][0] = oacc[j][1] = oacc[j][2] = oacc[j][3] = 0.f;
  float mrow[2] = {NEG_INF, NEG_INF}, lrow[2] = {0.f, 0.f};

  const int wrow = m0 + warp * 16;  // first query row of this warp
  const int r0 = wrow + (lane >> 2);

  for (int t = 0; t < ntiles; t++) {
    const int buf = t & 1;
    if (t + 1 < ntiles) {
      fa_load_tile<D>(sK + (buf ^ 1) * FA_BN * STR, kg, kstride, (t + 1) * FA_BN, nk, tid);
      fa_load_tile<D>(sV + (buf ^ 1) * FA_BN * STR, vg, kstride, (t + 1) * FA_BN, nk, tid);
      cp_commit();
      cp_wait<1>();
    } else {
      cp_wait<0>();
    }
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; kk++) {
        int row = warp * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
        int col = kk * 16 + ((lane >> 4) << 3);
        ldsm_x4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], smem_u32(sQ + row * STR + col));
      }
    }
    const int kbase = t * FA_BN;
    // Tiles wholly after this warp's last query are skipped (keeps barriers uniform).
    if (kbase <= off + wrow + 15) {
      const bf16* Kb = sK + buf * FA_BN * STR;
      const bf16* Vb = sV + buf * FA_BN * STR;
      float s[FA_BN / 8][4];
#pragma unroll
      for (int j = 0; j < FA_BN / 8; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; kk++) {
#pragma unroll
        for (int nn = 0; nn < FA_BN / 16; nn++) {
          u32 b0, b1, b2, b3;
          int key = nn * 16 + (lane & 7) + ((lane >> 4) << 3);
          int col = kk * 16 + (((lane >> 3) & 1) << 3);
          ldsm_x4(b0, b1, b2, b3, smem_u32(Kb + key * STR + col));
          mma16816(s[2 * nn], qf[kk], b0, b1);
          mma16816(s[2 * nn + 1], qf[kk], b2, b3);
        }
      }
      const bool need_mask = (kbase + FA_BN - 1 > off + wrow) || (kbase + FA_BN > nk);
#pragma unroll
      for (int j = 0; j < FA_BN / 8; j++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
          float val = s[j][e] * scale_log2;
          if (need_mask) {
            int key = kbase + j * 8 + (lane & 3) * 2 + (e & 1);
            int row = r0 + (e >> 1) * 8;
            if (key > off + row || key >= nk) val = NEG_INF;
          }
          s[j][e] = val;
        }
      }
#pragma unroll
      for (int r = 0; r < 2; r++) {
        float mx = NEG_INF;
#pragma unroll
        for (int j = 0; j < FA_BN / 8; j++) mx = fmaxf(mx, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        float mnew = fmaxf(mrow[r], mx);
        float base = mnew == NEG_INF ? 0.f : mnew;
        float corr = exp2f(mrow[r] - base);
        mrow[r] = mnew;
        float sum = 0.f;
#pragma unroll
        for (int j = 0; j < FA_BN / 8; j++) {
          float p0 = exp2f(s[j][2 * r] - base), p1 = exp2f(s[j][2 * r + 1] - base);
          s[j][2 * r] = p0;
          s[j][2 * r + 1] = p1;
          sum += p0 + p1;
        }
        lrow[r] = lrow[r] * corr + sum;
#pragma unroll
        for (int j = 0; j < D / 8; j++) {
          oacc[j][2 * r] *= corr;
          oacc[j][2 * r + 1] *= corr;
        }
      }
#pragma unroll
      for (int kk = 0; kk < FA_BN / 16; kk++) {
        u32 a[4];
        a[0] = pack2(s[2 * kk][0], s[2 * kk][1]);
        a[1] = pack2(s[2 * kk][2], s[2 * kk][3]);
        a[2] = pack2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        a[3] = pack2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
        for (int dd = 0; dd < D / 16; dd++) {
          u32 b0, b1, b2, b3;
          int key = kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
          int col = dd * 16 + ((lane >> 4) << 3);
          ldsm_x4_t(b0, b1, b2, b3, smem_u32(Vb + key * STR + col));
          mma16816(oacc[2 * dd], a, b0, b1);
          mma16816(oacc[2 * dd + 1], a, b2, b3);
        }
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int r = 0; r < 2; r++) {
    float l = lrow[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    float inv = l > 0.f ? 1.f / l : 0.f;
    int row = r0 + r * 8;
    if (row < nq) {
      bf16* orow = o + (long)row * qstride + (long)h * D;
#pragma unroll
      for (int j = 0; j < D / 8; j++) {
        int col = j * 8 + (lane & 3) * 2;
        *(u32*)(orow + col) = pack2(oacc[j][2 * r] * inv, oacc[j][2 * r + 1] * inv);
      }
    }
  }
}

#define FLASH_SMEM(D) ((FA_BM + 4 * FA_BN) * ((D) + 8) * 2)

extern "C" __global__ void __launch_bounds__(128) flash_attn_d64(const bf16* q, const bf16* k, const bf16* v, bf16* o,
                                                                  int nq, int nk, int H, int KVH, float scale_log2) {
  flash_attn<64>(q, k, v, o, nq, nk, H, KVH, scale_log2);
}

extern "C" __global__ void __launch_bounds__(128) flash_attn_d128(const bf16* q, const bf16* k, const bf16* v, bf16* o,
                                                                   int nq, int nk, int H, int KVH, float scale_log2) {
  flash_attn<128>(q, k, v, o, nq, nk, H, KVH, scale_log2);
}

// ---------------------------------------------------------------------
// Decode (nq == 1): split-K over the cache. Grid (KVH, splits, head
// groups of up to DEC_MAXG query heads); a block of 4 warps reads each key
// and value row of its chunk once for all the query heads that share it.
// L = D/8 lanes hold one key row (8 elements each, one 16-byte load).
// Partial results (max, sum, unnormalised output) go to part_ml/part_o and
// attn_decode_combine merges them.

#define DEC_MAXG 8

template <int D>
DEV void attn_decode(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                     float* __restrict__ part_o, float* __restrict__ part_ml, int nk, int H, int KVH, int chunk,
                     float scale_log2) {
  const int L = D / 8, GPW = 32 / L, NG = 4 * GPW;
  __shared__ float s_ml[NG][DEC_MAXG][2];
  __shared__ float s_acc[NG][DEC_MAXG][D];
  const int G = H / KVH;
  const int kvh = blockIdx.x, split = blockIdx.y, g0 = blockIdx.z * DEC_MAXG;
  const int splits = gridDim.y;
  const int ng = min(DEC_MAXG, G - g0);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int grp = warp * GPW + lane / L;
  const int sub = lane % L;
  const int j0 = split * chunk;
  const int j1 = min(nk, j0 + chunk);
  const long kstride = (long)KVH * D;

  float qf[DEC_MAXG][8], acc[DEC_MAXG][8], m[DEC_MAXG], l[DEC_MAXG];
#pragma unroll
  for (int g = 0; g < DEC_MAXG; g++) {
    m[g] = NEG_INF;
    l[g] = 0.f;
#pragma unroll
    for (int e = 0; e < 8; e++) acc[g][e] = 0.f;
    if (g < ng) {
      load8(q + (long)(kvh * G + g0 + g) * D + sub * 8, qf[g]);
#pragma unroll
      for (int e = 0; e < 8; e++) qf[g][e] *= scale_log2;
    } else {
#pragma unroll
      for (int e = 0; e < 8; e++) qf[g][e] = 0.f;
    }
  }

  for (int jb = j0 + warp * GPW; jb < j1; jb += NG) {
    const int j = jb + lane / L;
    const bool ok = j < j1;
    float kf[8], vf[8];
    if (ok) {
      load8(k + (long)j * kstride + (long)kvh * D + sub * 8, kf);
      load8(v + (long)j * kstride + (long)kvh * D + sub * 8, vf);
    } else {
#pragma unroll
      for (int e = 0; e < 8; e++) kf[e] = vf[e] = 0.f;
    }
#pragma unroll
    for (int g = 0; g < DEC_MAXG; g++) {
      if (g < ng) {
        float s = 0.f;
#pragma unroll
        for (int e = 0; e < 8; e++) s += qf[g][e] * kf[e];
#pragma unroll
        for (int o = L / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (ok) {
          float mn = fmaxf(m[g], s);
          float c = exp2f(m[g] - mn), p = exp2f(s - mn);
          l[g] = l[g] * c + p;
#pragma unroll
          for (int e = 0; e < 8; e++) acc[g][e] = acc[g][e] * c + p * vf[e];
          m[g] = mn;
        }
      }
    }
  }

#pragma unroll
  for (int g = 0; g < DEC_MAXG; g++) {
    if (g < ng) {
      if (sub == 0) {
        s_ml[grp][g][0] = m[g];
        s_ml[grp][g][1] = l[g];
      }
#pragma unroll
      for (int e = 0; e < 8; e++) s_acc[grp][g][sub * 8 + e] = acc[g][e];
    }
  }
  __syncthreads();
  for (int idx = tid; idx < ng * D; idx += blockDim.x) {
    int g = idx / D, d = idx - g * D;
    float M = NEG_INF;
    for (int r = 0; r < NG; r++) M = fmaxf(M, s_ml[r][g][0]);
    float base = M == NEG_INF ? 0.f : M;
    float tot = 0.f, a = 0.f;
    for (int r = 0; r < NG; r++) {
      float w = exp2f(s_ml[r][g][0] - base);
      tot += w * s_ml[r][g][1];
      a += w * s_acc[r][g][d];
    }
    int h = kvh * G + g0 + g;
    long slot = (long)h * splits + split;
    part_o[slot * D + d] = a;
    if (d == 0) {
      part_ml[slot * 2] = M;
      part_ml[slot * 2 + 1] = tot;
    }
  }
}

#define DECODE_KERNEL(D)                                                                                       \
  extern "C" __global__ void __launch_bounds__(128)                                                            \
      attn_decode_d##D(const bf16* q, const bf16* k, const bf16* v, float* part_o, float* part_ml, int nk, int H, \
                       int KVH, int chunk, float scale_log2) {                                                 \
    attn_decode<D>(q, k, v, part_o, part_ml, nk, H, KVH, chunk, scale_log2);                                   \
  }

DECODE_KERNEL(8)
DECODE_KERNEL(16)
DECODE_KERNEL(32)
DECODE_KERNEL(64)
DECODE_KERNEL(128)
DECODE_KERNEL(256)

// attn_decode_combine merges the splits of each head: grid H, any block.
extern "C" __global__ void attn_decode_combine(bf16* o, const float* part_o, const float* part_ml, int splits, int D) {
  const int h = blockIdx.x;
  float M = NEG_INF;
  for (int s = 0; s < splits; s++) M = fmaxf(M, part_ml[((long)h * splits + s) * 2]);
  float base = M == NEG_INF ? 0.f : M;
  float tot = 0.f;
  for (int s = 0; s < splits; s++) {
    long slot = (long)h * splits + s;
    tot += exp2f(part_ml[slot * 2] - base) * part_ml[slot * 2 + 1];
  }
  float inv = tot > 0.f ? 1.f / tot : 0.f;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float a = 0.f;
    for (int s = 0; s < splits; s++) {
      long slot = (long)h * splits + s;
      a += exp2f(part_ml[slot * 2] - base) * part_o[slot * D + d];
    }
    o[(long)h * D + d] = f2bf(a * inv);
  }
}

// ---------------------------------------------------------------------
// Generic fallback for any head size: one warp per (query, head), query
// and accumulator in shared memory (2·D floats per warp, dynamic).
extern "C" __global__ void attn_generic(const bf16* q, const bf16* k, const bf16* v, bf16* o, int nq, int nk, int H,
                                        int KVH, int D, float scale_log2) {
  extern __shared__ float ag_smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int i = blockIdx.x * (blockDim.x >> 5) + warp;
  if (i >= nq) return;  // no block-wide barriers below
  float* sq = ag_smem + warp * 2 * D;
  float* sacc = sq + D;
  const int h = blockIdx.y, kvh = h / (H / KVH);
  const long qstride = (long)H * D, kstride = (long)KVH * D;
  for (int d = lane; d < D; d += 32) {
    sq[d] = bf2f(q[(long)i * qstride + (long)h * D + d]) * scale_log2;
    sacc[d] = 0.f;
  }
  __syncwarp();
  float m = NEG_INF, l = 0.f;
  const int last = nk - nq + i;
  for (int j = 0; j <= last; j++) {
    const bf16* kr = k + (long)j * kstride + (long)kvh * D;
    const bf16* vr = v + (long)j * kstride + (long)kvh * D;
    float s = 0.f;
    for (int d = lane; d < D; d += 32) s += sq[d] * bf2f(kr[d]);
    s = warp_sum(s);
    float mn = fmaxf(m, s);
    float c = exp2f(m - mn), p = exp2f(s - mn);
    l = l * c + p;
    for (int d = lane; d < D; d += 32) sacc[d] = sacc[d] * c + p * bf2f(vr[d]);
    m = mn;
  }
  __syncwarp();
  for (int d = lane; d < D; d += 32) o[(long)i * qstride + (long)h * D + d] = f2bf(sacc[d] / l);
}
