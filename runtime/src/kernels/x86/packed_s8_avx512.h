/*
 * The packed int8 microkernel of the AVX-512 VNNI variants, shared by the
 * convolution (conv2d_s8_avx512.c: weights packed by the compiler, or small
 * banks per call) and the fully connected layers (fully_connected_s8_avx512.c:
 * small banks packed per call). Panels of 32 filters, four values of k per
 * filter side by side, k padded to a multiple of 4 with zeros
 * (quantized/conv2d.h, ptec_qconv_packed):
 *
 *   panel[b][k / 4][c][k % 4] = w[32 b + c][k]      (c < 32)
 *
 * Tiles of 8 rows (pixel windows or input rows, as x + 128 bytes, kp apart)
 * times one panel: sixteen accumulators starting from -corr (the per-filter
 * (128 + in_zp) sum w, minus the bias when it folds), then the requantization
 * (requantize_avx512.h) and stores of sixteen channels. Included only by
 * *_avx512.c files.
 */
#ifndef PTEC_KERNELS_X86_PACKED_S8_AVX512_H
#define PTEC_KERNELS_X86_PACKED_S8_AVX512_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/quantized/conv2d.h"
#include "kernels/x86/requantize_avx512.h"
#include "kernels/x86/vnni_s8_avx512.h"

enum { PTEC_PK_MR = PTEC_QCONV_PACK_MR, PTEC_PK_NR = PTEC_QCONV_PACK_NR };

/* How a tile's sums become outputs. */
typedef struct ptec_avx512_panel_q {
  const int32_t *bias, *mul, *sh; /* bias NULL: none */
  int32_t scale_step, n;          /* n filters */
  int32_t out_zp, act_min, act_max;
  int64_t y_col;                  /* channel stride of the outputs */
  bool bias_folded;               /* corr holds the bias (ptec_qconv_packed_folds_bias) */
  bool short_requant;             /* every shift >= 32: requantize16s */
} ptec_avx512_panel_q;

/* The tile's rows times a panel's first `halves` sixteen channels, the sums
 * starting from init, into acc. The accumulators are locals written out once
 * at the end (vnni_s8_avx512.h). With one half (a panel of <= 16 filters,
 * MobileNetV2's 16-channel layers) the other half's products are not taken. */
static inline __attribute__((always_inline)) void ptec_avx512_dot_tile(
    const uint8_t *rows, size_t kp, const int8_t *w, const __m512i init[2], int halves,
    __m512i acc[PTEC_PK_MR][2]) {
  __m512i c0[PTEC_PK_MR], c1[PTEC_PK_MR];
  for (int r = 0; r < PTEC_PK_MR; r++) c0[r] = init[0], c1[r] = init[1];
  for (size_t i = 0; i < kp; i += 4, w += 4 * PTEC_PK_NR) {
    const __m512i w0 = _mm512_loadu_si512(w);
    const __m512i w1 = halves == 2 ? _mm512_loadu_si512(w + 64) : w0;
#pragma GCC unroll 8
    for (int r = 0; r < PTEC_PK_MR; r++) {
      int32_t g;
      memcpy(&g, rows + (size_t)r * kp + i, 4);
      const __m512i a = _mm512_set1_epi32(g);
      c0[r] = ptec_avx512_dpbusd(c0[r], a, w0);
      if (halves == 2) c1[r] = ptec_avx512_dpbusd(c1[r], a, w1);
    }
  }
  for (int r = 0; r < PTEC_PK_MR; r++) acc[r][0] = c0[r], acc[r][1] = c1[r];
}

/* Panel b of `panels` (n filters, kp values each) times the tile, minus corr. */
static inline void ptec_avx512_panel_dot(const uint8_t *rows, size_t kp, const int8_t *panels,
                                         const int32_t *corr, int32_t n, int32_t b,
                                         __m512i acc[PTEC_PK_MR][2]) {
  const int8_t *w = panels + (size_t)b * kp * PTEC_PK_NR;
  const __m512i zero = _mm512_setzero_si512();
  const __m512i init[2] = {_mm512_sub_epi32(zero, _mm512_loadu_si512(corr + b * PTEC_PK_NR)),
                           _mm512_sub_epi32(zero, _mm512_loadu_si512(corr + b * PTEC_PK_NR + 16))};
  if (n - b * PTEC_PK_NR > 16) ptec_avx512_dot_tile(rows, kp, w, init, 2, acc);
  else ptec_avx512_dot_tile(rows, kp, w, init, 1, acc);
}

/* Sixteen channels c0... of one output (`lanes` of them): one store when
 * channels are adjacent, else byte by byte at the channel stride (DS-CNN's
 * first layer writes NCHW). */
static inline void ptec_avx512_store16(int8_t *y, int32_t c0, int64_t sc, __mmask16 lanes,
                                       __m128i v) {
  if (sc == 1) {
    _mm_mask_storeu_epi8(y + c0, lanes, v);
    return;
  }
  int8_t b[16];
  _mm_storeu_si128((__m128i *)b, v);
  for (int l = 0; l < 16 && (lanes >> l & 1); l++) y[(c0 + l) * sc] = b[l];
}

/* The lanes of channels c0... that exist (of n). */
static inline __mmask16 ptec_avx512_panel_lanes(const ptec_avx512_panel_q *p, int32_t c0) {
  const int32_t valid = p->n - c0 < 16 ? p->n - c0 : 16;
  return (__mmask16)((1u << valid) - 1);
}

/* The multipliers and shifts of channels c0... into q->m, q->s. */
static inline void ptec_avx512_panel_scales(const ptec_avx512_panel_q *p, int32_t c0,
                                            __mmask16 lanes, ptec_avx512_q16 *q) {
  if (p->scale_step) {
    /* Lanes past n get shift 32 (any value in the short form's range). */
    q->m = _mm512_maskz_loadu_epi32(lanes, p->mul + c0);
    q->s = _mm512_mask_loadu_epi32(_mm512_set1_epi32(32), lanes, p->sh + c0);
  } else {
    q->m = _mm512_set1_epi32(p->mul[0]);
    q->s = _mm512_set1_epi32(p->sh[0]);
  }
}

/* The first `count` rows of sums of panel b, requantized into y[r] + channel. */
static inline void ptec_avx512_panel_out(const ptec_avx512_panel_q *p,
                                         __m512i c[PTEC_PK_MR][2], int count, int32_t b,
                                         int8_t *const y[PTEC_PK_MR]) {
  const __m512i zp = _mm512_set1_epi32(p->out_zp);
  const __m512i lo = _mm512_set1_epi64((int64_t)p->act_min - p->out_zp);
  const __m512i hi = _mm512_set1_epi64((int64_t)p->act_max - p->out_zp);
  const __m128i lo8 = _mm_set1_epi8((char)p->act_min), hi8 = _mm_set1_epi8((char)p->act_max);
  for (int h = 0; h < 2; h++) {
    const int32_t c0 = b * PTEC_PK_NR + h * 16;
    if (c0 >= p->n) break;
    const __mmask16 lanes = ptec_avx512_panel_lanes(p, c0);
    ptec_avx512_q16 q;
    ptec_avx512_panel_scales(p, c0, lanes, &q);
    q.bias = p->bias && !p->bias_folded ? _mm512_maskz_loadu_epi32(lanes, p->bias + c0)
                                        : _mm512_setzero_si512();
    if (p->short_requant) {
      const ptec_avx512_q16s qs = ptec_avx512_q16s_make(q.m, q.s);
      for (int r = 0; r < count; r++) {
        __m512i v = c[r][h];
        if (!p->bias_folded) v = ptec_avx512_sat_add_i32(v, q.bias);
        ptec_avx512_store16(y[r], c0, p->y_col, lanes,
                            ptec_avx512_requantize16s(v, &qs, zp, lo8, hi8));
      }
      continue;
    }
    for (int r = 0; r < count; r++) {
      __m512i v = p->bias_folded ? ptec_avx512_requantize16_nobias(c[r][h], &q, zp, lo, hi)
                                 : ptec_avx512_requantize16(c[r][h], &q, zp, lo, hi);
      ptec_avx512_store16(y[r], c0, p->y_col, lanes, _mm512_cvtepi32_epi8(v));
    }
  }
}

/* panel_out's common case as straight-line code: all MR rows, the short
 * requantization, the bias in the correction, channels adjacent. Inlined
 * after the products, the accumulators stay in registers; the general loop
 * over a variable row count kept them on the stack and read its flags again
 * per row (on MobileNetV2's small-k 1x1 layers the requantization is most
 * of the kernel: 10-13% there). Folding the zero point into the rounding
 * terms and leaving out clamps that cannot cut (three operations of
 * thirteen) measured no faster on top of this, so the short form stays as
 * it is. */
static inline bool ptec_avx512_panel_full_fits(const ptec_avx512_panel_q *p) {
  return p->short_requant && p->bias_folded && p->y_col == 1;
}

static inline __attribute__((always_inline)) void ptec_avx512_panel_out_full(
    const ptec_avx512_panel_q *p, __m512i c[PTEC_PK_MR][2], int32_t b,
    int8_t *const y[PTEC_PK_MR]) {
  const __m512i zp = _mm512_set1_epi32(p->out_zp);
  const __m128i lo8 = _mm_set1_epi8((char)p->act_min), hi8 = _mm_set1_epi8((char)p->act_max);
  for (int h = 0; h < 2; h++) {
    const int32_t c0 = b * PTEC_PK_NR + h * 16;
    if (c0 >= p->n) break;
    const __mmask16 lanes = ptec_avx512_panel_lanes(p, c0);
    ptec_avx512_q16 q;
    ptec_avx512_panel_scales(p, c0, lanes, &q);
    const ptec_avx512_q16s qs = ptec_avx512_q16s_make(q.m, q.s);
#pragma GCC unroll 8
    for (int r = 0; r < PTEC_PK_MR; r++)
      _mm_mask_storeu_epi8(y[r] + c0, lanes, ptec_avx512_requantize16s(c[r][h], &qs, zp, lo8, hi8));
  }
}

/* The first `count` rows of sums of panel b into y: panel_out_full when
 * `full` (ptec_avx512_panel_full_fits, worked out once per call) and the
 * tile is whole, else panel_out. */
static inline __attribute__((always_inline)) void ptec_avx512_panel_store(
    const ptec_avx512_panel_q *p, __m512i c[PTEC_PK_MR][2], int count, int32_t b,
    int8_t *const y[PTEC_PK_MR], bool full) {
  if (full && count == PTEC_PK_MR) ptec_avx512_panel_out_full(p, c, b, y);
  else ptec_avx512_panel_out(p, c, count, b, y);
}

/* Filters w[j][0, k) (rows w_row apart), j < n, into panels of
 * np = n rounded up to 32 and kp = k rounded up to 4 (zeros past k and n). */
static inline void ptec_avx512_pack_panels(const int8_t *w, ptrdiff_t w_row, int32_t k,
                                           int32_t n, int8_t *panels) {
  const int32_t kp = (k + 3) / 4 * 4, np = (n + PTEC_PK_NR - 1) / PTEC_PK_NR * PTEC_PK_NR;
  const int32_t whole = k / 4;
  memset(panels, 0, (size_t)np * (size_t)kp);
  for (int32_t j = 0; j < n; j++) {
    int8_t *dst = panels + (size_t)(j / PTEC_PK_NR) * (size_t)kp * PTEC_PK_NR + (j % PTEC_PK_NR) * 4;
    const int8_t *src = w + j * w_row;
    for (int32_t i = 0; i < whole; i++) memcpy(dst + (size_t)i * PTEC_PK_NR * 4, src + 4 * i, 4);
    memcpy(dst + (size_t)whole * PTEC_PK_NR * 4, src + 4 * whole, (size_t)(k - 4 * whole));
  }
}

#endif /* PTEC_KERNELS_X86_PACKED_S8_AVX512_H */
