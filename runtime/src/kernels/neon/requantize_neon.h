/*
 * TOSA requantization (qparams.h: ptec_q_requantize) on four int32 lanes
 * with AArch64 NEON, bit for bit:
 *
 *   v   = sat32(acc + bias)                  SQADD (acc is already exact int32)
 *   r   = (v * m + 2^(s-1)) >> s             SMULL into 64-bit lanes, then SRSHL by -s:
 *                                            the rounding shift adds 2^(s-1) and
 *                                            shifts arithmetically, in one step, exactly
 *   out = clamp(sat32(r) + zp, lo, hi)       SQXTN, SQADD, SMAX, SMIN
 *
 * |v * m| < 2^62, so the 64-bit lanes never wrap; a sum saturated by the
 * last SQADD lands on the same int8 bound as the reference's 64-bit add.
 *
 * Included only by kernels/neon/ files (AArch64 builds).
 */
#ifndef PTEC_KERNELS_NEON_REQUANTIZE_NEON_H
#define PTEC_KERNELS_NEON_REQUANTIZE_NEON_H

#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/quantized/gemm_s8.h"


static inline int32x4_t ptec_neon_requantize4(int32x4_t acc, int32x4_t bias, int32x4_t m,
                                              int32x4_t s, int32x4_t zp, int32x4_t lo,
                                              int32x4_t hi) {
  int32x4_t v = vqaddq_s32(acc, bias);
  int32x4_t ns = vnegq_s32(s);
  int64x2_t p0 = vrshlq_s64(vmull_s32(vget_low_s32(v), vget_low_s32(m)),
                            vmovl_s32(vget_low_s32(ns)));
  int64x2_t p1 = vrshlq_s64(vmull_high_s32(v, m), vmovl_high_s32(ns));
  int32x4_t r = vcombine_s32(vqmovn_s64(p0), vqmovn_s64(p1));
  r = vqaddq_s32(r, zp);
  return vminq_s32(vmaxq_s32(r, lo), hi);
}

/* y[j * y_col] = requantize(acc[j]) with channel c0 + j's parameters, for
 * j < count. */
static inline void ptec_neon_requantize_run(const ptec_qout_s8 *q, const int32_t *acc,
                                            int32_t c0, int32_t count, int8_t *y,
                                            ptrdiff_t y_col) {
  const int32x4_t zp = vdupq_n_s32(q->out_zp);
  const int32x4_t lo = vdupq_n_s32(q->act_min), hi = vdupq_n_s32(q->act_max);
  const int32_t step = q->scale_step;
  int32x4_t m = vdupq_n_s32(q->multiplier[0]), s = vdupq_n_s32(q->shift[0]);
  int32x4_t b = vdupq_n_s32(0);
  int32_t j = 0;
  for (; j + 4 <= count; j += 4) {
    int32_t c = c0 + j;
    if (step) {
      m = vld1q_s32(q->multiplier + c);
      s = vld1q_s32(q->shift + c);
    }
    if (q->bias) b = vld1q_s32(q->bias + c);
    int32x4_t r = ptec_neon_requantize4(vld1q_s32(acc + j), b, m, s, zp, lo, hi);
    int32_t t[4];
    vst1q_s32(t, r);
    for (int i = 0; i < 4; i++) y[(j + i) * y_col] = (int8_t)t[i];
  }
  if (j < count) { /* the last 1..3: padded copies (lane 0's channel repeated) */
    int32_t a[4], bb[4], mm[4], ss[4], t[4];
    int32_t n = count - j;
    for (int i = 0; i < 4; i++) {
      int32_t c = c0 + j + (i < n ? i : 0);
      a[i] = i < n ? acc[j + i] : 0;
      bb[i] = q->bias ? q->bias[c] : 0;
      mm[i] = q->multiplier[c * step];
      ss[i] = q->shift[c * step];
    }
    vst1q_s32(t, ptec_neon_requantize4(vld1q_s32(a), vld1q_s32(bb), vld1q_s32(mm),
                                       vld1q_s32(ss), zp, lo, hi));
    for (int32_t i = 0; i < n; i++) y[(j + i) * y_col] = (int8_t)t[i];
  }
}

/* Sixteen channels' int32 parameters from c0 on, as four vectors: loaded in
 * place when all sixteen exist (valid == 16), else copied with channel c0's
 * past `valid` (lanes the caller drops). step 0: one value for all. */
static inline void ptec_neon_params16(const int32_t *v, int32_t step, int32_t c0, int32_t valid,
                                      int32x4_t out[4]) {
  if (step == 0) {
    out[0] = out[1] = out[2] = out[3] = vdupq_n_s32(v[0]);
    return;
  }
  int32_t t[16];
  const int32_t *src = v + c0;
  if (valid < 16) {
    for (int32_t j = 0; j < 16; j++) t[j] = v[c0 + (j < valid ? j : 0)];
    src = t;
  }
  for (int q = 0; q < 4; q++) out[q] = vld1q_s32(src + 4 * q);
}

/* Sixteen requantized lanes (already within int8) stored as bytes: the first
 * `valid` to y. */
static inline void ptec_neon_store16(int8_t *y, const int32x4_t v[4], int32_t valid) {
  const int8x16_t out = vcombine_s8(vmovn_s16(vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]))),
                                    vmovn_s16(vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]))));
  if (valid == 16) {
    vst1q_s8(y, out);
  } else {
    int8_t t[16];
    vst1q_s8(t, out);
    memcpy(y, t, (size_t)valid);
  }
}

#endif /* PTEC_KERNELS_NEON_REQUANTIZE_NEON_H */
