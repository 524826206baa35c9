/*
 * AVX-512 float32 convolution, groups 1, stride 2 x 2 (ResNet's 7 x 7 stem
 * on 3 channels, and stride-2 layers with rows of 24+ outputs and a small
 * bank), NCHW rows contiguous.
 *
 * The im2col strip it replaces (conv2d_f32_avx2.c) was filled value by
 * value of k for every 32 outputs: 147 rows of the stem's strip per block.
 * Here, per output row, each input row a filter row reads is split once into
 * its even and odd columns, zero-padded (a "phase" row of RW floats):
 *
 *     P[c][ky][ph][j] = x[c][2 oy - pad_t + ky][2 j + ph - pad_l]   (0 outside)
 *
 * so that tap kx = 2 a + ph of outputs ox .. ox + 15 is the contiguous
 * P[c][ky][ph][ox + a ..], one unmasked load. The row's outputs then run the
 * register blocks of the implicit GEMM (fma_8x32_avx512.h): eight filters by
 * 48 or 32 outputs, one FMA chain per output over k in OIHW order (c, ky,
 * kx), the bias and a fused relu / hardtanh at the store. The split rows are
 * on the stack (at most BUF floats: the stem's 3 x 7 rows take 19 KiB).
 * Sums in another order than the reference's, with fused multiply-adds:
 * within the float tolerance of docs/kernels-cpu.md.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/parallel.h"
#include "kernels/portable/variants.h"
#include "kernels/x86/conv2d_f32_same_avx512.h"
#include "kernels/x86/conv2d_f32_stem_avx512.h"
#include "kernels/x86/conv2d_f32_x86.h"
#include "kernels/x86/fma_8x32_avx512.h"

/* Split rows (floats) and values of k per call at most; banks larger than
 * BANK bytes keep the strip path (its K-chunked order keeps them in cache),
 * and so do rows under MIN_OW outputs (mostly empty blocks) and 1x1 windows
 * (ResNet-18's 1x1 downsample layers: 8% slower here). */
enum { BUF = 12288, MAXK = 2048, MR = 8, MIN_OW = 24 };
#define BANK (1 << 20)

typedef struct stem {
  const ptec_conv_f32 *p;
  int64_t rw;        /* floats per phase row, a multiple of 16 */
  int32_t off[MAXK]; /* value k's phase row (from P) and its column shift a */
} stem;

/* The phase rows of output row oy of image n into P. */
static void split_rows(const stem *s, int64_t n, int64_t oy, float *P) {
  const ptec_conv_f32 *p = s->p;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t c = 0; c < p->c; c++)
    for (int64_t ky = 0; ky < p->kh; ky++) {
      float *e = P + (c * p->kh + ky) * 2 * s->rw, *o = e + s->rw;
      const int64_t iy = 2 * oy - p->pad[0] + ky;
      const bool in = iy >= 0 && iy < p->h;
      const float *row = p->x + n * p->xs[0] + c * p->xs[1] + (in ? iy : 0) * p->xs[2];
      for (int64_t j = 0; j < s->rw; j += 16) {
        /* Input columns 2 j - pad_l .. + 31; masked lanes are not read. */
        const int64_t base = 2 * j - p->pad[1];
        const uint64_t m = in ? ptec_avx512_cols_inside(base, 32, p->w_) : 0;
        const __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m, row + base);
        const __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), row + base + 16);
        _mm512_storeu_ps(e + j, _mm512_permutex2var_ps(lo, even, hi));
        _mm512_storeu_ps(o + j, _mm512_permutex2var_ps(lo, odd, hi));
      }
    }
}

/* Filters [oc, oc + mr) by outputs ox .. ox + 16 nv - 1 of a row (nv 2 or 3;
 * `left` of them stored), from the phase rows P, into y (the row's start). */
static void tile(const stem *s, const float *P, int64_t oc, int64_t ox, int nv, int64_t left,
                 float *y) {
  const ptec_conv_f32 *p = s->p;
  const int64_t K = p->c * p->kh * p->kw, mr = p->oc - oc < MR ? p->oc - oc : MR;
  int64_t ldw, ks;
  const float *w_ = ptec_f32_filters(p, oc, 0, &ldw, &ks);
  const float *w0 = w_, *w1 = w_ + (1 < mr) * ldw, *w2 = w_ + 2 * (2 < mr) * ldw,
              *w3 = w_ + 3 * (3 < mr) * ldw, *w4 = w_ + 4 * (4 < mr) * ldw,
              *w5 = w_ + 5 * (5 < mr) * ldw, *w6 = w_ + 6 * (6 < mr) * ldw,
              *w7 = w_ + 7 * (7 < mr) * ldw;
  const float *at = P + ox;
  __m512 c[8][3];
  if (nv == 3) {
    PTEC_ACC_8X48;
    for (int64_t k = 0, wk = 0; k < K; k++, wk += ks) {
      const float *src = at + s->off[k];
      const __m512 b0 = _mm512_loadu_ps(src), b1 = _mm512_loadu_ps(src + 16),
                   b2 = _mm512_loadu_ps(src + 32);
      PTEC_FMA_8X48(wk, b0, b1, b2);
    }
    PTEC_ACC_ARRAY_8X48(a);
    for (int r = 0; r < 8; r++)
      for (int v = 0; v < 3; v++) c[r][v] = a[r][v];
  } else {
    PTEC_ACC_8X32;
    for (int64_t k = 0, wk = 0; k < K; k++, wk += ks) {
      const float *src = at + s->off[k];
      const __m512 b0 = _mm512_loadu_ps(src), b1 = _mm512_loadu_ps(src + 16);
      PTEC_FMA_8X32(wk, b0, b1);
    }
    PTEC_ACC_ARRAY_8X32(a);
    for (int r = 0; r < 8; r++) c[r][0] = a[r][0], c[r][1] = a[r][1];
  }
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, oc);
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  for (int64_t r = 0; r < mr; r++) {
    const __m512 bias = _mm512_set1_ps(e.bias ? e.bias[r] : 0.0f);
    for (int v = 0; v < nv; v++) {
      const int64_t n = left - 16 * v;
      const __mmask16 m =
          n >= 16 ? (__mmask16)0xFFFF : n > 0 ? (__mmask16)((1u << n) - 1) : (__mmask16)0;
      _mm512_mask_storeu_ps(y + (oc + r) * p->ys[1] + ox + 16 * v, m,
                            ptec_f32_epi512(c[r][v], bias, lo, hi));
    }
  }
}

/* Units are output rows (image, oy): split its input rows, then every
 * filter group over the row in blocks of 48 or 32 outputs (112 = 48 + 32 +
 * 32: no lane empty). */
static void rows(const void *arg, int64_t u0, int64_t u1) {
  const stem *s = arg;
  const ptec_conv_f32 *p = s->p;
  float P[BUF];
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n = u / p->oh, oy = u % p->oh;
    split_rows(s, n, oy, P);
    float *y = p->y + n * p->ys[0] + oy * p->ys[2];
    for (int64_t oc = 0; oc < p->oc; oc += MR)
      for (int64_t ox = 0; ox < p->ow;) {
        const int64_t left = p->ow - ox, nb = left >= 48 && left != 64 ? 48 : 32;
        tile(s, P, oc, ox, (int)(nb / 16), left < nb ? left : nb, y);
        ox += nb;
      }
  }
}

bool ptec_avx512_conv_f32_stem(const ptec_conv_f32 *p) {
  const int64_t K = p->c * p->kh * p->kw;
  const int64_t rw = (p->ow + 32 + p->kw / 2 + 15) / 16 * 16;
  if (p->groups != 1 || p->stride[0] != 2 || p->stride[1] != 2 || p->dil[0] != 1 ||
      p->dil[1] != 1 || K / p->c < 2 || p->xs[3] != 1 || p->ys[3] != 1 || p->ow < MIN_OW || K > MAXK ||
      p->c * p->kh * 2 * rw > BUF || p->oc * K * (int64_t)sizeof(float) > BANK ||
      (!p->packed && (p->ws[3] != 1 || p->ws[2] != p->kw || p->ws[1] != p->kh * p->kw)))
    return false;
  stem s = {.p = p, .rw = rw};
  for (int64_t c = 0, k = 0; c < p->c; c++)
    for (int64_t ky = 0; ky < p->kh; ky++)
      for (int64_t kx = 0; kx < p->kw; kx++, k++)
        s.off[k] = (int32_t)(((c * p->kh + ky) * 2 + kx % 2) * rw + kx / 2);
  ptec_parallel_range(p->parallel, rows, &s, p->n * p->oh);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
