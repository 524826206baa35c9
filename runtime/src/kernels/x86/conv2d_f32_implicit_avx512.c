/*
 * AVX-512 float32 convolution, groups 1, NCHW rows contiguous, as an
 * implicit GEMM: the pixel vectors of the GEMM are masked loads of the input
 * planes themselves, so nothing is copied. The im2col strip it replaces
 * (conv2d_f32_avx2.c's drivers) cost about half the instructions of a
 * 64-channel 3x3 layer.
 *
 *   - "same" stride-1 windows of 2+ taps (ResNet's 3x3 layers): blocks of 32
 *     outputs along the flattened plane, across rows (conv2d_f32_same_avx512.h);
 *   - other stride-1 windows of 2+ taps with rows of 32 outputs or more
 *     ("valid" or asymmetric padding): blocks of 32 outputs of one output row.
 *
 * Microkernel: eight output channels by 32 output pixels (two vectors),
 * sixteen FMA accumulators over the whole of
 * K = C * KH * KW (channel by channel, tap by tap: one FMA chain per
 * output, the same whatever the thread count), filter values broadcast into
 * the FMAs (from the compiler's panels when the call has them: one stream),
 * the bias added and a fused relu / hardtanh applied at the store. Windows of 2 or more taps only. Sums in another order than the
 * reference's, with fused multiply-adds: within the float tolerance of
 * docs/kernels-cpu.md.
 *
 * Order of the work: when the filters are small (<= 1 MiB) each block of 32
 * pixels runs every group of eight filters (the pixels' inputs stay in L1/L2);
 * larger banks (ResNet-18's 512-channel layers: 9.4 MB) run each group of
 * eight filters over every block (their 8 x K values stay in L2), where the
 * block-by-block order had read the whole bank from memory per block.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/parallel.h"
#include "kernels/portable/variants.h"
#include "kernels/x86/conv2d_f32_same_avx512.h"
#include "kernels/x86/conv2d_f32_x86.h"
#include "kernels/x86/fma_8x32_avx512.h"

enum { MAXT = 64, MR = 8, NB = 32 };
#define BIG_BANK (1 << 20)

/* A block of up to 32 outputs of image n: where its inputs start in each
 * channel plane for each tap, which lanes are read, where its outputs go in
 * a plane and how many. */
typedef struct block {
  uint64_t m[MAXT];
  int64_t off[MAXT];
  int64_t n, at, left;
} block;

/* Filters [oc, oc + mr) by the block bl. */
static void tile(const ptec_conv_f32 *p, const block *bl, int64_t oc, int64_t mr) {
  const int64_t T = p->kh * p->kw, left = bl->left;
  int64_t ldw, ks;
  const float *w = ptec_f32_filters(p, oc, 0, &ldw, &ks), *wr[MR];
  for (int r = 0; r < MR; r++) wr[r] = w + (r < mr ? r : 0) * ldw;
  const float *w0 = wr[0], *w1 = wr[1], *w2 = wr[2], *w3 = wr[3], *w4 = wr[4], *w5 = wr[5],
              *w6 = wr[6], *w7 = wr[7];
  PTEC_ACC_8X32;
  const float *xn = p->x + bl->n * p->xs[0];
  for (int64_t ic = 0, k = 0; ic < p->c; ic++) {
    const float *xc = xn + ic * p->xs[1];
    for (int64_t t = 0; t < T; t++, k += ks) {
      /* Masked lanes are not read: the address may lie outside the plane. */
      const float *src = xc + bl->off[t];
      const __m512 b0 = _mm512_maskz_loadu_ps((__mmask16)bl->m[t], src);
      const __m512 b1 = _mm512_maskz_loadu_ps((__mmask16)(bl->m[t] >> 16), src + 16);
      PTEC_FMA_8X32(k, b0, b1);
    }
  }
  const __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
  const __mmask16 m1 = left >= 32 ? (__mmask16)0xFFFF
                       : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : (__mmask16)0;
  PTEC_ACC_ARRAY_8X32(c);
  float *y = p->y + bl->n * p->ys[0] + oc * p->ys[1] + bl->at;
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, oc);
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  for (int64_t r = 0; r < mr; r++) {
    const __m512 bias = _mm512_set1_ps(e.bias ? e.bias[r] : 0.0f);
    _mm512_mask_storeu_ps(y + r * p->ys[1], m0, ptec_f32_epi512(c[r][0], bias, lo, hi));
    _mm512_mask_storeu_ps(y + r * p->ys[1] + 16, m1, ptec_f32_epi512(c[r][1], bias, lo, hi));
  }
}

/* Block b of image n. "Same" stride-1 planes: 32 outputs along the flattened
 * plane (conv2d_f32_same_avx512.h); otherwise 32 outputs of one output row. */
static void make_block(const ptec_conv_f32 *p, bool same, int64_t n, int64_t b, block *bl) {
  bl->n = n;
  if (same) {
    uint32_t m[2][MAXT];
    int64_t unused[MAXT];
    bl->at = b * NB;
    bl->left = p->h * p->w_ - bl->at < NB ? p->h * p->w_ - bl->at : NB;
    ptec_avx512_same_taps(p, bl->at, m[0], 1, bl->off, 1);
    ptec_avx512_same_taps(p, bl->at + 16, m[1], 1, unused, 1);
    for (int64_t t = 0; t < p->kh * p->kw; t++) bl->m[t] = m[0][t] | (uint64_t)m[1][t] << 16;
    return;
  }
  const int64_t chunks = (p->ow + NB - 1) / NB, oy = b / chunks, ox = b % chunks * NB;
  bl->at = oy * p->ys[2] + ox;
  bl->left = p->ow - ox < NB ? p->ow - ox : NB;
  for (int64_t ky = 0; ky < p->kh; ky++) {
    const int64_t iy = oy * p->stride[0] - p->pad[0] + ky * p->dil[0];
    const bool in = iy >= 0 && iy < p->h;
    for (int64_t kx = 0; kx < p->kw; kx++) {
      const int64_t t = ky * p->kw + kx, ix = ox - p->pad[1] + kx * p->dil[1];
      bl->m[t] = in ? ptec_avx512_cols_inside(ix, bl->left, p->w_) : 0;
      bl->off[t] = in ? iy * p->xs[2] + ix : 0;
    }
  }
}

typedef struct job {
  const ptec_conv_f32 *p;
  bool same;
  int64_t blocks; /* per image */
} job;

/* Small banks: units are (image, block) pairs, each running every filter group. */
static void by_block(const void *arg, int64_t u0, int64_t u1) {
  const job *j = arg;
  const ptec_conv_f32 *p = j->p;
  block bl;
  for (int64_t u = u0; u < u1; u++) {
    make_block(p, j->same, u / j->blocks, u % j->blocks, &bl);
    for (int64_t oc = 0; oc < p->oc; oc += MR)
      tile(p, &bl, oc, p->oc - oc < MR ? p->oc - oc : MR);
  }
}

/* Large banks: units are (filter group, image, block), filter group outermost. */
static void by_filters(const void *arg, int64_t u0, int64_t u1) {
  const job *j = arg;
  const ptec_conv_f32 *p = j->p;
  const int64_t per = p->n * j->blocks;
  block bl;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t oc = u / per * MR;
    make_block(p, j->same, u % per / j->blocks, u % j->blocks, &bl);
    tile(p, &bl, oc, p->oc - oc < MR ? p->oc - oc : MR);
  }
}

bool ptec_avx512_conv_f32_implicit(const ptec_conv_f32 *p) {
  const int64_t T = p->kh * p->kw;
  if (p->groups != 1 || T > MAXT ||
      (!p->packed && (p->ws[3] != 1 || p->ws[2] != p->kw || p->ws[1] != T)) ||
      p->xs[3] != 1 || p->ys[3] != 1)
    return false;
  const bool same = ptec_avx512_same_plane(p);
  /* 1x1 stride-1 layers read their planes in place in conv2d_f32_avx2.c, or
   * copy a short strip: here the input and output planes' vectors of a block
   * (MobileNetV2's 112 x 112 planes: 49 KiB apart, 16 cache sets apart) fall
   * into the same few L1 sets and evict each other (2.5x slower measured). */
  if (T < 2) return false;
  /* Row by row: stride 1 along rows, rows of 32 outputs or more. Blocks of
   * shorter rows are mostly empty, and stride 2 (64 loads' worth of lanes
   * and two permutes per 32 outputs) measured 1.3-3.6x slower than the
   * im2col strip on ResNet-18's stride-2 layers (28 to 7 columns). */
  if (!same && (p->stride[1] != 1 || p->ow < NB)) return false;
  const job j = {p, same,
                 same ? (p->h * p->w_ + NB - 1) / NB : p->oh * ((p->ow + NB - 1) / NB)};
  if (p->oc * p->c * T * (int64_t)sizeof(float) <= BIG_BANK)
    ptec_parallel_range(p->parallel, by_block, &j, p->n * j.blocks);
  else
    ptec_parallel_range(p->parallel, by_filters, &j, (p->oc + MR - 1) / MR * p->n * j.blocks);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
