/*
 * The 4x4 int8 dot-product block of gemm_s8_neon.h with the Armv8.2-A
 * dot-product instructions (Cortex-A76 and later; compiled with +dotprod in every
 * AArch64 build and run when the CPU has it: gemm_s8_neon.h).
 * SDOT multiplies the raw int8 values, four products into each int32 lane,
 * sixteen values of k per instruction: a 4x4 block takes 16 SDOT per 16
 * values of k (256 MACs), plus 8 SDOT against ones for the row sums sum_k x
 * and the filter sums sum_k w that the zero points need:
 *
 *   sum (x - izp)(w - wzp) = sum x w - wzp sum x - izp sum w + k izp wzp
 *
 * Every term is below 2^30 in magnitude for k <= PTEC_Q_MAX_TERMS_I32
 * (128 * 128 * 33025 < 2^30) and the result fits int32, so the 4x4 block's
 * wrapping int32 lanes (ptec_neon_dot_s8_correct_4x4) and the 1x4 block's
 * int64 arithmetic both give the reference's int32 accumulator exactly. The k % 16 tail is copied
 * into zero-padded blocks: zeros add nothing to any of the raw sums.
 *
 * A single row (a linear layer on one vector) takes the 1x4 block: the same
 * sums without repeating the row four times (5 SDOT per 64 MACs + 4 for the
 * filter sums, against the 4x4 block's 24 per 256 of which 3/4 dropped).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON_DOTPROD
#include <string.h>

#include "kernels/neon/gemm_s8_neon.h"

/* Row X against the four filters' blocks b0..b3: its sum and four products. */
#define ROW(X, SX, C0, C1, C2, C3)                                                         \
  do {                                                                                     \
    int8x16_t a = vld1q_s8(X);                                                             \
    SX = vdotq_s32(SX, a, ones);                                                           \
    C0 = vdotq_s32(C0, a, b0); C1 = vdotq_s32(C1, a, b1);                                  \
    C2 = vdotq_s32(C2, a, b2); C3 = vdotq_s32(C3, a, b3);                                  \
  } while (0)

/* The filters' blocks at W0..W3, their sums, then ROWS (ROW calls). */
#define WITH_FILTERS(W0, W1, W2, W3, ROWS)                                                 \
  do {                                                                                     \
    int8x16_t b0 = vld1q_s8(W0), b1 = vld1q_s8(W1), b2 = vld1q_s8(W2), b3 = vld1q_s8(W3); \
    ROWS;                                                                                  \
    sw0 = vdotq_s32(sw0, b0, ones); sw1 = vdotq_s32(sw1, b1, ones);                        \
    sw2 = vdotq_s32(sw2, b2, ones); sw3 = vdotq_s32(sw3, b3, ones);                        \
  } while (0)

#define STEP(X0, X1, X2, X3, W0, W1, W2, W3)                                               \
  WITH_FILTERS(W0, W1, W2, W3, ROW(X0, sx0, c00, c01, c02, c03);                          \
               ROW(X1, sx1, c10, c11, c12, c13); ROW(X2, sx2, c20, c21, c22, c23);         \
               ROW(X3, sx3, c30, c31, c32, c33))

void ptec_neon_dot_s8_4x4_sdot(const ptec_gemm_s8 *g, const int8_t *const x[4],
                               const int8_t *const w[4], int32_t out[16]) {
  const int8x16_t ones = vdupq_n_s8(1);
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
            c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00,
            c31 = c00, c32 = c00, c33 = c00;
  int32x4_t sx0 = c00, sx1 = c00, sx2 = c00, sx3 = c00, sw0 = c00, sw1 = c00, sw2 = c00,
            sw3 = c00;
  const int32_t k = g->k;
  int32_t i = 0;
  for (; i + 16 <= k; i += 16)
    STEP(x0 + i, x1 + i, x2 + i, x3 + i, w0 + i, w1 + i, w2 + i, w3 + i);
  if (i < k) {
    int8_t xt[4][16], wt[4][16];
    size_t rest = (size_t)(k - i);
    for (int r = 0; r < 4; r++) {
      memset(xt[r], 0, 16);
      memcpy(xt[r], x[r] + i, rest);
      memset(wt[r], 0, 16);
      memcpy(wt[r], w[r] + i, rest);
    }
    STEP(xt[0], xt[1], xt[2], xt[3], wt[0], wt[1], wt[2], wt[3]);
  }
  const int32x4_t xw[4] = {ptec_neon_sum4(c00, c01, c02, c03), ptec_neon_sum4(c10, c11, c12, c13),
                           ptec_neon_sum4(c20, c21, c22, c23), ptec_neon_sum4(c30, c31, c32, c33)};
  ptec_neon_dot_s8_correct_4x4(g, xw, ptec_neon_sum4(sx0, sx1, sx2, sx3),
                               ptec_neon_sum4(sw0, sw1, sw2, sw3), out);
}

#define STEP1(X, W0, W1, W2, W3) WITH_FILTERS(W0, W1, W2, W3, ROW(X, sx0, c00, c01, c02, c03))

void ptec_neon_dot_s8_1x4_sdot(const ptec_gemm_s8 *g, const int8_t *x, const int8_t *const w[4],
                               int32_t out[4]) {
  const int8x16_t ones = vdupq_n_s8(1);
  const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00;
  int32x4_t sx0 = c00, sw0 = c00, sw1 = c00, sw2 = c00, sw3 = c00;
  const int32_t k = g->k;
  int32_t i = 0;
  for (; i + 16 <= k; i += 16) STEP1(x + i, w0 + i, w1 + i, w2 + i, w3 + i);
  if (i < k) {
    int8_t xt[16] = {0}, wt[4][16] = {{0}};
    size_t rest = (size_t)(k - i);
    memcpy(xt, x + i, rest);
    for (int r = 0; r < 4; r++) memcpy(wt[r], w[r] + i, rest);
    STEP1(xt, wt[0], wt[1], wt[2], wt[3]);
  }
  int32_t xw[4];
  vst1q_s32(xw, vpaddq_s32(vpaddq_s32(c00, c01), vpaddq_s32(c02, c03)));
  const int64_t izp = g->in_zp, wzp = g->w_zp, kzz = (int64_t)k * izp * wzp;
  const int64_t sx = vaddvq_s32(sx0);
  const int64_t sw[4] = {vaddvq_s32(sw0), vaddvq_s32(sw1), vaddvq_s32(sw2), vaddvq_s32(sw3)};
  for (int j = 0; j < 4; j++) out[j] = (int32_t)(xw[j] - wzp * sx - izp * sw[j] + kzz);
}

#endif /* PTEC_KERNELS_NEON_DOTPROD */
