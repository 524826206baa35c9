/*
 * AVX-512 float32 convolution, groups 1, "same" stride-1 layers (output
 * plane as large as the input: ResNet's 3x3 layers), as an implicit GEMM:
 * the pixel vectors of the GEMM are masked loads of the input planes
 * themselves (conv2d_f32_same_avx512.h), so nothing is copied. The im2col
 * strip it replaces (conv2d_f32_avx2.c's drivers) cost about half the
 * instructions of a 64-channel 3x3 layer.
 *
 * Microkernel: eight output channels by 32 flattened output pixels (two
 * vectors, across rows), sixteen FMA accumulators over the whole of
 * K = C * KH * KW (channel by channel, tap by tap: one FMA chain per
 * output, the same whatever the thread count), filter values broadcast into
 * the FMAs, the bias added at the end. Windows of 2 or more taps only. Sums in another order than the
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

/* Where the 32 pixels of a block read each tap. */
typedef struct taps {
  uint32_t m[MAXT][2];
  int64_t off[MAXT];
} taps;

/* Filters [oc, oc + mr) by the block at q (taps `tp`) of image n. */
static void tile(const ptec_conv_f32 *p, const taps *tp, int64_t n, int64_t q, int64_t oc,
                 int64_t mr) {
  const int64_t T = p->kh * p->kw, ldw = p->ws[0], left = p->h * p->w_ - q;
  const float *wr[MR];
  for (int r = 0; r < MR; r++) wr[r] = p->w + (oc + (r < mr ? r : 0)) * ldw;
  const float *w0 = wr[0], *w1 = wr[1], *w2 = wr[2], *w3 = wr[3], *w4 = wr[4], *w5 = wr[5],
              *w6 = wr[6], *w7 = wr[7];
  PTEC_ACC_8X32;
  const float *xn = p->x + n * p->xs[0]; /* tp->off counts from the plane's start */
  for (int64_t ic = 0, k = 0; ic < p->c; ic++) {
    const float *xc = xn + ic * p->xs[1];
    for (int64_t t = 0; t < T; t++, k++) {
      /* Masked lanes are not read: the address may lie outside the plane. */
      const float *src = xc + tp->off[t];
      const __m512 b0 = _mm512_maskz_loadu_ps((__mmask16)tp->m[t][0], src);
      const __m512 b1 = _mm512_maskz_loadu_ps((__mmask16)tp->m[t][1], src + 16);
      PTEC_FMA_8X32(k, b0, b1);
    }
  }
  const __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
  const __mmask16 m1 = left >= 32 ? (__mmask16)0xFFFF
                       : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : (__mmask16)0;
  PTEC_ACC_ARRAY_8X32(c);
  float *y = p->y + n * p->ys[0] + oc * p->ys[1] + q;
  for (int64_t r = 0; r < mr; r++) {
    const __m512 bias = _mm512_set1_ps(p->b ? p->b[oc + r] : 0.0f);
    _mm512_mask_storeu_ps(y + r * p->ys[1], m0, _mm512_add_ps(c[r][0], bias));
    _mm512_mask_storeu_ps(y + r * p->ys[1] + 16, m1, _mm512_add_ps(c[r][1], bias));
  }
}

static void block_taps(const ptec_conv_f32 *p, int64_t q, taps *tp) {
  ptec_avx512_same_taps(p, q, &tp->m[0][0], 2, tp->off, 1);
  int64_t unused[MAXT];
  ptec_avx512_same_taps(p, q + 16, &tp->m[0][1], 2, unused, 1);
}

/* Small banks: units are (image, block) pairs, each running every filter group. */
static void by_block(const void *arg, int64_t u0, int64_t u1) {
  const ptec_conv_f32 *p = arg;
  const int64_t blocks = (p->h * p->w_ + NB - 1) / NB;
  taps tp;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n = u / blocks, q = u % blocks * NB;
    block_taps(p, q, &tp);
    for (int64_t oc = 0; oc < p->oc; oc += MR) tile(p, &tp, n, q, oc, p->oc - oc < MR ? p->oc - oc : MR);
  }
}

/* Large banks: units are (filter group, image, block), filter group outermost. */
static void by_filters(const void *arg, int64_t u0, int64_t u1) {
  const ptec_conv_f32 *p = arg;
  const int64_t blocks = (p->h * p->w_ + NB - 1) / NB, per = p->n * blocks;
  taps tp;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t oc = u / per * MR, n = u % per / blocks, q = u % blocks * NB;
    block_taps(p, q, &tp);
    tile(p, &tp, n, q, oc, p->oc - oc < MR ? p->oc - oc : MR);
  }
}

bool ptec_avx512_conv_f32_implicit(const ptec_conv_f32 *p) {
  const int64_t T = p->kh * p->kw;
  /* 1x1 layers read their planes in place in conv2d_f32_avx2.c already, or
   * copy a short strip: here the input and output planes' vectors of a block
   * (MobileNetV2's 112 x 112 planes: 49 KiB apart, 16 cache sets apart) fall
   * into the same few L1 sets and evict each other (2.5x slower measured). */
  if (p->groups != 1 || T < 2 || T > MAXT || !ptec_avx512_same_plane(p) || p->ws[3] != 1 ||
      p->ws[2] != p->kw || p->ws[1] != T)
    return false;
  const int64_t blocks = p->n * ((p->h * p->w_ + NB - 1) / NB);
  if (p->oc * p->c * T * (int64_t)sizeof(float) <= BIG_BANK)
    ptec_parallel_range(p->parallel, by_block, p, blocks);
  else
    ptec_parallel_range(p->parallel, by_filters, p, (p->oc + MR - 1) / MR * blocks);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
