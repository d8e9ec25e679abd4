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

// Template parameters: D head size; MT 16-row m-tiles per warp (a block
// of 4 warps takes BM = 64·MT queries; more rows per warp reuse each K/V
// fragment read from shared memory); BN keys per tile; QREG keeps Q's
// fragments in registers for the whole loop instead of re-reading them
// from shared memory for every tile.

#ifndef SDTP_F32  // the tensor-core and vectorised kernels are bf16 only
template <int D, int BN>
DEV void fa_load_tile(bf16* s, const bf16* g, long stride, int row0, int nrows, int tid) {
  const int CH = D / 8, STR = D + 8;
#pragma unroll
  for (int c = tid; c < BN * CH; c += 128) {
    int r = c / CH, cc = c - r * CH;
    int gr = row0 + r;
    bool ok = gr < nrows;
    cp_async16(s + r * STR + cc * 8, g + (long)(ok ? gr : 0) * stride + cc * 8, ok ? 16 : 0);
  }
}

DEV float fast_exp2(float x) {
  float r;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
}

template <int D, int MT, int BN, bool QREG>
DEV void flash_attn(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                    bf16* __restrict__ o, int nq, int nk, int H, int KVH, float scale_log2) {
  const int STR = D + 8, BM = 64 * MT;
  extern __shared__ __align__(16) unsigned char fa_smem[];
  bf16* sQ = (bf16*)fa_smem;
  bf16* sK = sQ + BM * STR;
  bf16* sV = sK + 2 * BN * STR;

  const int mblk = gridDim.x - 1 - blockIdx.x;  // longest rows first
  const int h = blockIdx.y;
  const int kvh = h / (H / KVH);
  const int m0 = mblk * BM;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const long qstride = (long)H * D, kstride = (long)KVH * D;
  const int off = nk - nq;
  int kend = off + m0 + BM;
  if (kend > nk) kend = nk;
  const int ntiles = (kend + BN - 1) / BN;

  const bf16* kg = k + (long)kvh * D;
  const bf16* vg = v + (long)kvh * D;
  {
    const int CH = D / 8;
    for (int c = tid; c < BM * CH; c += 128) {
      int r = c / CH, cc = c - r * CH;
      int qi = m0 + r;
      bool ok = qi < nq;
      cp_async16(sQ + r * STR + cc * 8, q + (long)(ok ? qi : 0) * qstride + (long)h * D + cc * 8, ok ? 16 : 0);
    }
  }
  fa_load_tile<D, BN>(sK, kg, kstride, 0, nk, tid);
  fa_load_tile<D, BN>(sV, vg, kstride, 0, nk, tid);
  cp_commit();

  u32 qf[QREG ? MT : 1][QREG ? D / 16 : 1][4];
  float oacc[MT][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int j = 0; j < D / 8; j++) oacc[mt][j][0] = oacc[mt][j][1] = oacc[mt][j][2] = oacc[mt][j][3] = 0.f;
  float mrow[MT][2], lrow[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; mt++) mrow[mt][0] = mrow[mt][1] = NEG_INF, lrow[mt][0] = lrow[mt][1] = 0.f;

  const int wrow = m0 + warp * 16 * MT;  // first query row of this warp
  const float sl = scale_log2;

  for (int t = 0; t < ntiles; t++) {
    const int buf = t & 1;
    if (t + 1 < ntiles) {
      fa_load_tile<D, BN>(sK + (buf ^ 1) * BN * STR, kg, kstride, (t + 1) * BN, nk, tid);
      fa_load_tile<D, BN>(sV + (buf ^ 1) * BN * STR, vg, kstride, (t + 1) * BN, nk, tid);
      cp_commit();
      cp_wait<1>();
    } else {
      cp_wait<0>();
    }
    __syncthreads();
    if (QREG && t == 0) {
#pragma unroll
      for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
          int row = warp * 16 * MT + mt * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
          int col = kk * 16 + ((lane >> 4) << 3);
          ldsm_x4(qf[QREG ? mt : 0][QREG ? kk : 0][0], qf[QREG ? mt : 0][QREG ? kk : 0][1],
                  qf[QREG ? mt : 0][QREG ? kk : 0][2], qf[QREG ? mt : 0][QREG ? kk : 0][3], smem_u32(sQ + row * STR + col));
        }
    }
    const int kbase = t * BN;
    // Tiles wholly after this warp's last query are skipped (barriers stay uniform).
    if (kbase <= off + wrow + 16 * MT - 1) {
      const bf16* Kb = sK + buf * BN * STR;
      const bf16* Vb = sV + buf * BN * STR;
      float s[MT][BN / 8][4];
#pragma unroll
      for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int j = 0; j < BN / 8; j++) s[mt][j][0] = s[mt][j][1] = s[mt][j][2] = s[mt][j][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; kk++) {
        u32 a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
          if (QREG) {
#pragma unroll
            for (int e = 0; e < 4; e++) a[mt][e] = qf[QREG ? mt : 0][QREG ? kk : 0][e];
          } else {
            int row = warp * 16 * MT + mt * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
            int col = kk * 16 + ((lane >> 4) << 3);
            ldsm_x4(a[mt][0], a[mt][1], a[mt][2], a[mt][3], smem_u32(sQ + row * STR + col));
          }
        }
#pragma unroll
        for (int nn = 0; nn < BN / 16; nn++) {
          u32 b0, b1, b2, b3;
          int key = nn * 16 + (lane & 7) + ((lane >> 4) << 3);
          int col = kk * 16 + (((lane >> 3) & 1) << 3);
          ldsm_x4(b0, b1, b2, b3, smem_u32(Kb + key * STR + col));
#pragma unroll
          for (int mt = 0; mt < MT; mt++) {
            mma16816(s[mt][2 * nn], a[mt], b0, b1);
            mma16816(s[mt][2 * nn + 1], a[mt], b2, b3);
          }
        }
      }
#pragma unroll
      for (int mt = 0; mt < MT; mt++) {
        const int mrow0 = wrow + mt * 16;
        const bool need_mask = (kbase + BN - 1 > off + mrow0) || (kbase + BN > nk);
        const int r0 = mrow0 + (lane >> 2);
#pragma unroll
        for (int r = 0; r < 2; r++) {
          float mx = NEG_INF;
#pragma unroll
          for (int j = 0; j < BN / 8; j++) {
#pragma unroll
            for (int e = 2 * r; e < 2 * r + 2; e++) {
              if (need_mask) {
                int key = kbase + j * 8 + (lane & 3) * 2 + (e & 1);
                if (key > off + r0 + r * 8 || key >= nk) s[mt][j][e] = NEG_INF;
              }
              mx = fmaxf(mx, s[mt][j][e]);
            }
          }
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
          // Running max in raw-score units; exponents are (s - m)·scale·log2e.
          float mnew = fmaxf(mrow[mt][r], mx);
          float base = mnew == NEG_INF ? 0.f : mnew * sl;
          float corr = fast_exp2(mrow[mt][r] * sl - base);
          mrow[mt][r] = mnew;
          float sum = 0.f;
#pragma unroll
          for (int j = 0; j < BN / 8; j++) {
            float p0 = fast_exp2(fmaf(s[mt][j][2 * r], sl, -base));
            float p1 = fast_exp2(fmaf(s[mt][j][2 * r + 1], sl, -base));
            s[mt][j][2 * r] = p0;
            s[mt][j][2 * r + 1] = p1;
            sum += p0 + p1;
          }
          lrow[mt][r] = lrow[mt][r] * corr + sum;
#pragma unroll
          for (int j = 0; j < D / 8; j++) {
            oacc[mt][j][2 * r] *= corr;
            oacc[mt][j][2 * r + 1] *= corr;
          }
        }
      }
#pragma unroll
      for (int kk = 0; kk < BN / 16; kk++) {
        u32 a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
          a[mt][0] = pack2(s[mt][2 * kk][0], s[mt][2 * kk][1]);
          a[mt][1] = pack2(s[mt][2 * kk][2], s[mt][2 * kk][3]);
          a[mt][2] = pack2(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
          a[mt][3] = pack2(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
#pragma unroll
        for (int dd = 0; dd < D / 16; dd++) {
          u32 b0, b1, b2, b3;
          int key = kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
          int col = dd * 16 + ((lane >> 4) << 3);
          ldsm_x4_t(b0, b1, b2, b3, smem_u32(Vb + key * STR + col));
#pragma unroll
          for (int mt = 0; mt < MT; mt++) {
            mma16816(oacc[mt][2 * dd], a[mt], b0, b1);
            mma16816(oacc[mt][2 * dd + 1], a[mt], b2, b3);
          }
        }
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int mt = 0; mt < MT; mt++) {
#pragma unroll
    for (int r = 0; r < 2; r++) {
      float l = lrow[mt][r];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      float inv = l > 0.f ? 1.f / l : 0.f;
      int row = wrow + mt * 16 + (lane >> 2) + r * 8;
      if (row < nq) {
        bf16* orow = o + (long)row * qstride + (long)h * D;
#pragma unroll
        for (int j = 0; j < D / 8; j++) {
          int col = j * 8 + (lane & 3) * 2;
          *(u32*)(orow + col) = pack2(oacc[mt][j][2 * r] * inv, oacc[mt][j][2 * r + 1] * inv);
        }
      }
    }
  }
}

// Entry points: flash_attn_d<D>_<variant>; shared memory is
// (64·MT + 4·BN)·(D+8)·2 bytes (flashSmem in attention.go).
#define FLASH_KERNEL(NAME, D, MT, BN, QREG)                                                                    \
  extern "C" __global__ void __launch_bounds__(128) NAME(const bf16* q, const bf16* k, const bf16* v, bf16* o, \
                                                         int nq, int nk, int H, int KVH, float scale_log2) {   \
    flash_attn<D, MT, BN, QREG>(q, k, v, o, nq, nk, H, KVH, scale_log2);                                      \
  }

FLASH_KERNEL(flash_attn_d64, 64, 1, 64, true)
FLASH_KERNEL(flash_attn_d128, 128, 1, 64, true)
FLASH_KERNEL(flash_attn_d64_m2, 64, 2, 64, true)
FLASH_KERNEL(flash_attn_d128_m2, 128, 2, 64, false)
FLASH_KERNEL(flash_attn_d128_m2q, 128, 2, 32, true)
FLASH_KERNEL(flash_attn_d128_m2n32, 128, 2, 32, false)

// ---------------------------------------------------------------------
// Decode (nq == 1): split-K over the cache. Grid (KVH, splits, head
// groups of up to DEC_MAXG query heads); a block of 4 warps reads each key
// and value row of its chunk once for all the query heads that share it.
// L = D/8 lanes hold one key row (8 elements each, one 16-byte load).
// Partial results (max, sum, unnormalised output) go to part_ml/part_o and
// attn_decode_combine merges them.

#define DEC_MAXG 8
#define DEC_U 4  // keys each lane group loads before using them

DEV void unpack8(uint4 v, float* f) {
  unpack2(v.x, f[0], f[1]);
  unpack2(v.y, f[2], f[3]);
  unpack2(v.z, f[4], f[5]);
  unpack2(v.w, f[6], f[7]);
}

// The block is (kvh, split, head group gz) of one sequence whose partials
// are `splits` slots apart per head.
template <int D>
DEV void attn_decode(const act* __restrict__ q, const act* __restrict__ k, const act* __restrict__ v,
                     float* __restrict__ part_o, float* __restrict__ part_ml, int nk, int H, int KVH, int chunk,
                     float scale_log2, int kvh, int split, int gz, int splits) {
  const int L = D / 8, GPW = 32 / L, NG = 4 * GPW;
  __shared__ float s_ml[NG][DEC_MAXG][2];
  __shared__ float s_acc[NG][DEC_MAXG][D];
  const int G = H / KVH;
  const int g0 = gz * DEC_MAXG;
  const int ng = min(DEC_MAXG, G - g0);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int grp = warp * GPW + lane / L;
  const int sub = lane % L;
  const int j0 = split * chunk;
  const int j1 = min(nk, j0 + chunk);
  const long kstride = (long)KVH * D;
  const act* kp = k + (long)kvh * D + sub * 8;
  const act* vp = v + (long)kvh * D + sub * 8;

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

  // Each iteration a warp takes GPW·DEC_U consecutive keys; lane group
  // lane/L takes keys jb + lane/L + u·GPW, all loads issued first.
  for (int jb = j0 + warp * GPW * DEC_U; jb < j1; jb += NG * DEC_U) {
    uint4 kr[DEC_U], vr[DEC_U];
    bool ok[DEC_U];
#pragma unroll
    for (int u = 0; u < DEC_U; u++) {
      const int j = jb + lane / L + u * GPW;
      ok[u] = j < j1;
      const long jj = ok[u] ? j : j0;
      kr[u] = *(const uint4*)(kp + jj * kstride);
      vr[u] = *(const uint4*)(vp + jj * kstride);
    }
#pragma unroll
    for (int g = 0; g < DEC_MAXG; g++) {
      if (g < ng) {
        float s[DEC_U];
#pragma unroll
        for (int u = 0; u < DEC_U; u++) {
          float kf[8];
          unpack8(kr[u], kf);
          float t = 0.f;
#pragma unroll
          for (int e = 0; e < 8; e++) t += qf[g][e] * kf[e];
          s[u] = t;
        }
#pragma unroll
        for (int o = L / 2; o > 0; o >>= 1)
#pragma unroll
          for (int u = 0; u < DEC_U; u++) s[u] += __shfl_xor_sync(0xffffffffu, s[u], o);
        float mx = m[g];
#pragma unroll
        for (int u = 0; u < DEC_U; u++)
          if (ok[u]) mx = fmaxf(mx, s[u]);
        if (mx != NEG_INF) {
          float c = exp2f(m[g] - mx);
          l[g] *= c;
#pragma unroll
          for (int e = 0; e < 8; e++) acc[g][e] *= c;
#pragma unroll
          for (int u = 0; u < DEC_U; u++) {
            if (ok[u]) {
              float p = exp2f(s[u] - mx);
              float vf[8];
              unpack8(vr[u], vf);
              l[g] += p;
#pragma unroll
              for (int e = 0; e < 8; e++) acc[g][e] += p * vf[e];
            }
          }
          m[g] = mx;
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

// DecodeSeq is one sequence of a batched decode step (BatchAttention):
// its cache, its length, and the chunk and split count that decoding it
// alone would use. 32 bytes, as attention.go writes them.
struct DecodeSeq {
  const act* k;
  const act* v;
  int nk, chunk, splits, pad;
};

// Entry points attn_decode_d<D> (one sequence: grid (KVH, splits, head
// groups)) and attn_decode_batch_d<D> (grid (KVH, stride, head groups ×
// sequences): sequence b's query row is q + b·H·D, its partials are at
// b·H·stride slots, and blocks past its own splits return at once).
#define DECODE_KERNEL(D)                                                                                       \
  extern "C" __global__ void __launch_bounds__(128)                                                            \
      attn_decode_d##D(const act* q, const act* k, const act* v, float* part_o, float* part_ml, int nk, int H, \
                       int KVH, int chunk, float scale_log2) {                                                 \
    attn_decode<D>(q, k, v, part_o, part_ml, nk, H, KVH, chunk, scale_log2, blockIdx.x, blockIdx.y,            \
                   blockIdx.z, gridDim.y);                                                                     \
  }                                                                                                            \
  extern "C" __global__ void __launch_bounds__(128)                                                            \
      attn_decode_batch_d##D(const act* q, const DecodeSeq* seqs, float* part_o, float* part_ml, int H,        \
                             int KVH, int hg, int stride, float scale_log2) {                                  \
    const int b = blockIdx.z / hg;                                                                             \
    const DecodeSeq s = seqs[b];                                                                               \
    if ((int)blockIdx.y >= s.splits) return;                                                                   \
    const long head0 = (long)b * H;                                                                            \
    attn_decode<D>(q + head0 * D, s.k, s.v, part_o + head0 * stride * D, part_ml + head0 * stride * 2, s.nk,   \
                   H, KVH, s.chunk, scale_log2, blockIdx.x, blockIdx.y, blockIdx.z - b * hg, stride);          \
  }

DECODE_KERNEL(8)
DECODE_KERNEL(16)
DECODE_KERNEL(32)
DECODE_KERNEL(64)
DECODE_KERNEL(128)
DECODE_KERNEL(256)

#endif  // SDTP_F32

// attn_decode_combine merges the splits of each head: grid H, 256 threads.
// The split weights exp2(m_s - M) go to shared memory once; then groups of
// D/4 threads (one float4 of the head each) sum disjoint sets of splits,
// and the groups' sums are added in shared memory.
#define COMB_MAX_SPLITS 2048
// decode_combine merges the `splits` partials of one head (part_o,
// part_ml point at its first) into its output o (D values).
DEV void decode_combine(act* o, const float* part_o, const float* part_ml, int splits, int D) {
  __shared__ float w[COMB_MAX_SPLITS];
  __shared__ float scratch[33];
  __shared__ float4 red[256];
  const int tid = threadIdx.x;
  const float* ml = part_ml;
  float M = NEG_INF;
  for (int s = tid; s < splits; s += blockDim.x) M = fmaxf(M, ml[2 * s]);
  M = block_max(M, scratch);
  const float base = M == NEG_INF ? 0.f : M;
  float tot = 0.f;
  for (int s = tid; s < splits; s += blockDim.x) {
    float ws = exp2f(ml[2 * s] - base);
    w[s] = ws;
    tot += ws * ml[2 * s + 1];
  }
  tot = block_sum(tot, scratch);  // its barriers also publish w[]
  const int tpg = D / 4, groups = blockDim.x / tpg;
  const int grp = tid / tpg, d4 = tid - grp * tpg;
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  if (grp < groups) {
    const float4* po = (const float4*)part_o + d4;
#pragma unroll 4
    for (int s = grp; s < splits; s += groups) {
      float4 x = po[(long)s * tpg];
      float ws = w[s];
      acc.x += ws * x.x;
      acc.y += ws * x.y;
      acc.z += ws * x.z;
      acc.w += ws * x.w;
    }
  }
  red[tid] = acc;
  __syncthreads();
  if (tid < tpg) {
    float4 a = red[tid];
    for (int g = 1; g < groups; g++) {
      float4 b = red[g * tpg + tid];
      a.x += b.x;
      a.y += b.y;
      a.z += b.z;
      a.w += b.w;
    }
    float inv = tot > 0.f ? 1.f / tot : 0.f;
    act* out = o + tid * 4;
    out[0] = f2a(a.x * inv);
    out[1] = f2a(a.y * inv);
    out[2] = f2a(a.z * inv);
    out[3] = f2a(a.w * inv);
  }
}

// attn_decode_combine merges one sequence's splits: grid H, 256 threads.
extern "C" __global__ void __launch_bounds__(256) attn_decode_combine(act* o, const float* part_o,
                                                                       const float* part_ml, int splits, int D) {
  const long h = blockIdx.x;
  decode_combine(o + h * D, part_o + h * splits * D, part_ml + h * splits * 2, splits, D);
}

#ifndef SDTP_F32
// attn_decode_combine_batch merges a batched step's splits: grid (H,
// sequences), 256 threads; sequence b's partials are stride slots apart
// per head, of which its own split count are used.
extern "C" __global__ void __launch_bounds__(256) attn_decode_combine_batch(act* o, const float* part_o,
                                                                             const float* part_ml,
                                                                             const DecodeSeq* seqs, int H,
                                                                             int stride, int D) {
  const long head = (long)blockIdx.y * H + blockIdx.x;
  decode_combine(o + head * D, part_o + head * stride * D, part_ml + head * stride * 2, seqs[blockIdx.y].splits, D);
}
#endif  // SDTP_F32

// ---------------------------------------------------------------------
// Generic fallback for any head size: one warp per (query, head), query
// and accumulator in shared memory (2·D floats per warp, dynamic).
extern "C" __global__ void attn_generic(const act* q, const act* k, const act* v, act* o, int nq, int nk, int H,
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
    sq[d] = a2f(q[(long)i * qstride + (long)h * D + d]) * scale_log2;
    sacc[d] = 0.f;
  }
  __syncwarp();
  float m = NEG_INF, l = 0.f;
  const int last = nk - nq + i;
  for (int j = 0; j <= last; j++) {
    const act* kr = k + (long)j * kstride + (long)kvh * D;
    const act* vr = v + (long)j * kstride + (long)kvh * D;
    float s = 0.f;
    for (int d = lane; d < D; d += 32) s += sq[d] * a2f(kr[d]);
    s = warp_sum(s);
    float mn = fmaxf(m, s);
    float c = exp2f(m - mn), p = exp2f(s - mn);
    l = l * c + p;
    for (int d = lane; d < D; d += 32) sacc[d] = sacc[d] * c + p * a2f(vr[d]);
    m = mn;
  }
  __syncwarp();
  for (int d = lane; d < D; d += 32) o[(long)i * qstride + (long)h * D + d] = f2a(sacc[d] / l);
}

#ifndef SDTP_F32
// ---------------------------------------------------------------------
// Decode on tensor cores: one query token, the G query heads that share a
// key/value head stacked as the 16 rows of an mma tile (rows ≥ G are
// zero). Grid (KVH, splits, ⌈G/16⌉), one warp per block: each warp walks
// its chunk of the cache in BN-key tiles through an ST-stage cp.async
// pipeline, so many tiles are in flight per SM with few registers.
// Partials go to part_o/part_ml (in log2 units) for attn_decode_combine.
template <int D, int BN, int ST>
DEV void decode_mma(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                    float* __restrict__ part_o, float* __restrict__ part_ml, int nk, int H, int KVH, int chunk,
                    float sl, int kvh, int split, int gz, int splits) {
  const int STR = D + 8, CH = D / 8;
  extern __shared__ __align__(16) unsigned char dm_smem[];
  bf16* sQ = (bf16*)dm_smem;
  bf16* sK = sQ + 16 * STR;
  bf16* sV = sK + ST * BN * STR;
  const int G = H / KVH, g0 = gz * 16;
  const int ng = min(16, G - g0);
  const int lane = threadIdx.x;
  const int j0 = split * chunk, j1 = min(nk, j0 + chunk);
  const long kstride = (long)KVH * D;
  const bf16* kg = k + (long)kvh * D;
  const bf16* vg = v + (long)kvh * D;
  const int ntiles = (j1 - j0 + BN - 1) / BN;

  for (int c = lane; c < 16 * CH; c += 32) {
    int r = c / CH, cc = c - r * CH;
    bool ok = r < ng;
    cp_async16(sQ + r * STR + cc * 8, q + (long)(kvh * G + g0 + (ok ? r : 0)) * D + cc * 8, ok ? 16 : 0);
  }
#define DM_LOAD(buf, row0)                                                          \
  for (int c = lane; c < BN * CH; c += 32) {                                        \
    int r = c / CH, cc = c - r * CH, gr = (row0) + r;                               \
    bool ok = gr < j1;                                                              \
    long src = (long)(ok ? gr : j0) * kstride + cc * 8;                             \
    cp_async16(sK + ((buf) * BN + r) * STR + cc * 8, kg + src, ok ? 16 : 0);       \
    cp_async16(sV + ((buf) * BN + r) * STR + cc * 8, vg + src, ok ? 16 : 0);       \
  }
#pragma unroll
  for (int st = 0; st < ST - 1; st++) {
    if (st < ntiles) DM_LOAD(st, j0 + st * BN)
    cp_commit();  // possibly empty: keeps the group count uniform
  }

  u32 qf[D / 16][4];
  float oacc[D / 8][4];
#pragma unroll
  for (int j = 0; j < D / 8; j++) oacc[j][0] = oacc[j][1] = oacc[j][2] = oacc[j][3] = 0.f;
  float mrow[2] = {NEG_INF, NEG_INF}, lrow[2] = {0.f, 0.f};

  for (int t = 0; t < ntiles; t++) {
    const int buf = t % ST;
    cp_wait<ST - 2>();
    __syncwarp();
    if (t == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; kk++) {
        int row = (lane & 7) + (((lane >> 3) & 1) << 3);
        int col = kk * 16 + ((lane >> 4) << 3);
        ldsm_x4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], smem_u32(sQ + row * STR + col));
      }
    }
    const bf16* Kb = sK + buf * BN * STR;
    const bf16* Vb = sV + buf * BN * STR;
    float s[BN / 8][4];
#pragma unroll
    for (int j = 0; j < BN / 8; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
#pragma unroll
      for (int nn = 0; nn < BN / 16; nn++) {
        u32 b0, b1, b2, b3;
        int key = nn * 16 + (lane & 7) + ((lane >> 4) << 3);
        int col = kk * 16 + (((lane >> 3) & 1) << 3);
        ldsm_x4(b0, b1, b2, b3, smem_u32(Kb + key * STR + col));
        mma16816(s[2 * nn], qf[kk], b0, b1);
        mma16816(s[2 * nn + 1], qf[kk], b2, b3);
      }
    }
    const int kbase = j0 + t * BN;
#pragma unroll
    for (int r = 0; r < 2; r++) {
      float mx = NEG_INF;
#pragma unroll
      for (int j = 0; j < BN / 8; j++) {
#pragma unroll
        for (int e = 2 * r; e < 2 * r + 2; e++) {
          int key = kbase + j * 8 + (lane & 3) * 2 + (e & 1);
          if (key >= j1) s[j][e] = NEG_INF;
          mx = fmaxf(mx, s[j][e]);
        }
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      float mnew = fmaxf(mrow[r], mx);
      float base = mnew == NEG_INF ? 0.f : mnew * sl;
      float corr = fast_exp2(mrow[r] * sl - base);
      mrow[r] = mnew;
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < BN / 8; j++) {
        float p0 = fast_exp2(fmaf(s[j][2 * r], sl, -base));
        float p1 = fast_exp2(fmaf(s[j][2 * r + 1], sl, -base));
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
    for (int kk = 0; kk < BN / 16; kk++) {
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
    __syncwarp();  // every lane is done with buffer buf before it refills
    const int nt = t + ST - 1;
    if (nt < ntiles) DM_LOAD(nt % ST, j0 + nt * BN)
    cp_commit();
  }
#undef DM_LOAD

#pragma unroll
  for (int r = 0; r < 2; r++) {
    float l = lrow[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    int g = (lane >> 2) + r * 8;
    if (g < ng) {
      long slot = (long)(kvh * G + g0 + g) * splits + split;
#pragma unroll
      for (int j = 0; j < D / 8; j++) {
        int col = j * 8 + (lane & 3) * 2;
        *(float2*)(part_o + slot * D + col) = make_float2(oacc[j][2 * r], oacc[j][2 * r + 1]);
      }
      if ((lane & 3) == 0) {
        part_ml[slot * 2] = mrow[r] == NEG_INF ? NEG_INF : mrow[r] * sl;
        part_ml[slot * 2 + 1] = l;
      }
    }
  }
}

// Entry points decode_mma_d<D>[_n<BN>_s<ST>], and NAME_batch for the
// variants the backend uses by default (decodeKernel.batch; laid out as
// attn_decode_batch_d<D>); shared memory is (16 + 2·ST·BN)·(D+8)·2 bytes
// (decodeKernel.smem in attention.go).
#define DECODE_MMA(NAME, D, BN, ST)                                                                             \
  extern "C" __global__ void __launch_bounds__(32) NAME(const bf16* q, const bf16* k, const bf16* v,            \
                                                        float* part_o, float* part_ml, int nk, int H, int KVH,  \
                                                        int chunk, float scale_log2) {                          \
    decode_mma<D, BN, ST>(q, k, v, part_o, part_ml, nk, H, KVH, chunk, scale_log2, blockIdx.x, blockIdx.y,     \
                          blockIdx.z, gridDim.y);                                                               \
  }
#define DECODE_MMA_BATCH(NAME, D, BN, ST)                                                                       \
  extern "C" __global__ void __launch_bounds__(32)                                                              \
      NAME##_batch(const bf16* q, const DecodeSeq* seqs, float* part_o, float* part_ml, int H, int KVH, int hg,  \
                   int stride, float scale_log2) {                                                              \
    const int b = blockIdx.z / hg;                                                                              \
    const DecodeSeq s = seqs[b];                                                                                \
    if ((int)blockIdx.y >= s.splits) return;                                                                    \
    const long head0 = (long)b * H;                                                                             \
    decode_mma<D, BN, ST>(q + head0 * D, s.k, s.v, part_o + head0 * stride * D, part_ml + head0 * stride * 2,  \
                          s.nk, H, KVH, s.chunk, scale_log2, blockIdx.x, blockIdx.y, blockIdx.z - b * hg,       \
                          stride);                                                                              \
  }

DECODE_MMA(decode_mma_d64, 64, 32, 2)
DECODE_MMA(decode_mma_d128, 128, 32, 2)
DECODE_MMA(decode_mma_d128_n32_s3, 128, 32, 3)
DECODE_MMA(decode_mma_d128_n32_s4, 128, 32, 4)
DECODE_MMA(decode_mma_d128_n64_s2, 128, 64, 2)
DECODE_MMA(decode_mma_d128_n64_s3, 128, 64, 3)
DECODE_MMA_BATCH(decode_mma_d64, 64, 32, 2)
DECODE_MMA_BATCH(decode_mma_d128_n64_s3, 128, 64, 3)

#endif  // SDTP_F32
