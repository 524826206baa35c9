/*
 * The 4x4 int8 dot-product block of gemm_s8_neon.h for Armv8-A NEON (any
 * AArch64 CPU; the version run on CPUs without dotprod): eight values of k
 * per step, (x - in_zp) and (w - w_zp) widened to int16 (both in
 * [-255, 255]), SMLAL/SMLAL2 into sixteen int32x4 accumulators (128 MACs per 32 multiply-accumulates).
 * The k % 8 tail is copied into padded blocks: activations padded with
 * in_zp and weights with w_zp, which contribute zero. A single row takes
 * the 1x4 block (the same steps without repeating the row four times).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <string.h>

#include "kernels/neon/gemm_s8_neon.h"

static inline int16x8_t load8(const int8_t *p, int16x8_t zp) {
  return vsubq_s16(vmovl_s8(vld1_s8(p)), zp);
}

#define MAC(c, a, b)                                      \
  do {                                                    \
    c = vmlal_s16(c, vget_low_s16(a), vget_low_s16(b));   \
    c = vmlal_high_s16(c, a, b);                          \
  } while (0)

#define STEP(X0, X1, X2, X3, W0, W1, W2, W3)                                   \
  do {                                                                         \
    int16x8_t b0 = load8(W0, wzp), b1 = load8(W1, wzp), b2 = load8(W2, wzp),   \
              b3 = load8(W3, wzp);                                             \
    int16x8_t a = load8(X0, izp);                                              \
    MAC(c00, a, b0); MAC(c01, a, b1); MAC(c02, a, b2); MAC(c03, a, b3);        \
    a = load8(X1, izp);                                                        \
    MAC(c10, a, b0); MAC(c11, a, b1); MAC(c12, a, b2); MAC(c13, a, b3);        \
    a = load8(X2, izp);                                                        \
    MAC(c20, a, b0); MAC(c21, a, b1); MAC(c22, a, b2); MAC(c23, a, b3);        \
    a = load8(X3, izp);                                                        \
    MAC(c30, a, b0); MAC(c31, a, b1); MAC(c32, a, b2); MAC(c33, a, b3);        \
  } while (0)

void ptec_neon_dot_s8_4x4_smlal(const ptec_gemm_s8 *g, const int8_t *const x[4],
                                const int8_t *const w[4], int32_t out[16]) {
  const int16x8_t izp = vdupq_n_s16((int16_t)g->in_zp), wzp = vdupq_n_s16((int16_t)g->w_zp);
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
            c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00,
            c31 = c00, c32 = c00, c33 = c00;
  const int32_t k = g->k;
  int32_t i = 0;
  for (; i + 8 <= k; i += 8)
    STEP(x0 + i, x1 + i, x2 + i, x3 + i, w0 + i, w1 + i, w2 + i, w3 + i);
  if (i < k) {
    int8_t xt[4][8], wt[4][8];
    size_t rest = (size_t)(k - i);
    for (int r = 0; r < 4; r++) {
      memset(xt[r], (int8_t)g->in_zp, 8);
      memcpy(xt[r], x[r] + i, rest);
      memset(wt[r], (int8_t)g->w_zp, 8);
      memcpy(wt[r], w[r] + i, rest);
    }
    STEP(xt[0], xt[1], xt[2], xt[3], wt[0], wt[1], wt[2], wt[3]);
  }
  int32x4_t row0 = vpaddq_s32(vpaddq_s32(c00, c01), vpaddq_s32(c02, c03));
  int32x4_t row1 = vpaddq_s32(vpaddq_s32(c10, c11), vpaddq_s32(c12, c13));
  int32x4_t row2 = vpaddq_s32(vpaddq_s32(c20, c21), vpaddq_s32(c22, c23));
  int32x4_t row3 = vpaddq_s32(vpaddq_s32(c30, c31), vpaddq_s32(c32, c33));
  vst1q_s32(out, row0);
  vst1q_s32(out + 4, row1);
  vst1q_s32(out + 8, row2);
  vst1q_s32(out + 12, row3);
}

#define STEP1(X, W0, W1, W2, W3)                                               \
  do {                                                                         \
    int16x8_t b0 = load8(W0, wzp), b1 = load8(W1, wzp), b2 = load8(W2, wzp),   \
              b3 = load8(W3, wzp);                                             \
    int16x8_t a = load8(X, izp);                                               \
    MAC(c00, a, b0); MAC(c01, a, b1); MAC(c02, a, b2); MAC(c03, a, b3);        \
  } while (0)

void ptec_neon_dot_s8_1x4_smlal(const ptec_gemm_s8 *g, const int8_t *x,
                                const int8_t *const w[4], int32_t out[4]) {
  const int16x8_t izp = vdupq_n_s16((int16_t)g->in_zp), wzp = vdupq_n_s16((int16_t)g->w_zp);
  const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00;
  const int32_t k = g->k;
  int32_t i = 0;
  for (; i + 8 <= k; i += 8) STEP1(x + i, w0 + i, w1 + i, w2 + i, w3 + i);
  if (i < k) {
    int8_t xt[8], wt[4][8];
    size_t rest = (size_t)(k - i);
    memset(xt, (int8_t)g->in_zp, 8);
    memcpy(xt, x + i, rest);
    for (int r = 0; r < 4; r++) {
      memset(wt[r], (int8_t)g->w_zp, 8);
      memcpy(wt[r], w[r] + i, rest);
    }
    STEP1(xt, wt[0], wt[1], wt[2], wt[3]);
  }
  vst1q_s32(out, vpaddq_s32(vpaddq_s32(c00, c01), vpaddq_s32(c02, c03)));
}

#endif /* PTEC_KERNELS_NEON */
