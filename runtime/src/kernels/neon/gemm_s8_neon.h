/*
 * The int8 matrix microkernels shared by the NEON convolution and fully
 * connected variants: up to four rows of activations times every row of
 * the weights, each a dot product over k contiguous int8 values, then
 * requantized (requantize_neon.h):
 *
 *   y[r][j * y_col] = requantize(sum_k (x[r][k] - in_zp) * (w[j * w_row + k] - w_zp), j)
 *
 * The dot products of a 4x4 block (four rows by four output channels) and of
 * a 1x4 block (one row) come in three versions, each in its own file and all
 * in every AArch64 build; which one runs is chosen per call from the CPU's
 * features (ptec_neon_gemm_s8_pick):
 *   dot_s8_neon.c     Armv8-A: SMLAL on int16 lanes of (x - in_zp) and (w - w_zp)
 *   dot_s8_dotprod.c  dotprod (Cortex-A76 and later): SDOT on the raw int8 values,
 *                     zero points applied afterwards (compiled with +dotprod)
 *   dot_s8_i8mm.c     i8mm (Cortex-A510/A710/X2, Neoverse V1/N2 and later): SMMLA,
 *                     2x8 by 8x2 blocks, zero points as in SDOT's (+dotprod+i8mm;
 *                     its 1x4 block is SDOT's)
 * All give the exact int32 sums for k <= PTEC_Q_MAX_TERMS_I32 (qparams.h), as
 * the reference's int32 path does. Weights are read in place (OHWI: each
 * output channel's filter is one contiguous run), so nothing is packed: the
 * i8mm block pairs rows in registers (ZIP1/ZIP2 on 64-bit lanes).
 */
#ifndef PTEC_KERNELS_NEON_GEMM_S8_NEON_H
#define PTEC_KERNELS_NEON_GEMM_S8_NEON_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/neon/requantize_neon.h"

/* out[r * 4 + j] = sum_k (x[r][k] - in_zp) * (w[j][k] - w_zp), r, j < 4. */
typedef void (*ptec_neon_dot_4x4_fn)(const ptec_gemm_s8 *g, const int8_t *const x[4],
                                     const int8_t *const w[4], int32_t out[16]);
/* out[j] = sum_k (x[k] - in_zp) * (w[j][k] - w_zp), j < 4: one row (a linear
 * layer on a single vector) without repeating it through the 4x4 block. */
typedef void (*ptec_neon_dot_1x4_fn)(const ptec_gemm_s8 *g, const int8_t *x,
                                     const int8_t *const w[4], int32_t out[4]);

void ptec_neon_dot_s8_4x4_smlal(const ptec_gemm_s8 *g, const int8_t *const x[4],
                                const int8_t *const w[4], int32_t out[16]);
void ptec_neon_dot_s8_1x4_smlal(const ptec_gemm_s8 *g, const int8_t *x,
                                const int8_t *const w[4], int32_t out[4]);
/* Run only when the build or the CPU has dotprod (PTEC_CPU_ARM_DOTPROD). */
void ptec_neon_dot_s8_4x4_sdot(const ptec_gemm_s8 *g, const int8_t *const x[4],
                               const int8_t *const w[4], int32_t out[16]);
void ptec_neon_dot_s8_1x4_sdot(const ptec_gemm_s8 *g, const int8_t *x,
                               const int8_t *const w[4], int32_t out[4]);
/* Run only when it has dotprod and i8mm (PTEC_CPU_ARM_I8MM). */
void ptec_neon_dot_s8_4x4_i8mm(const ptec_gemm_s8 *g, const int8_t *const x[4],
                               const int8_t *const w[4], int32_t out[16]);

/* ptec_gemm_s8_rows_fn (quantized/gemm_s8.h) of each version. */
void ptec_neon_gemm_s8_rows_smlal(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                                  int8_t *const y[4], ptrdiff_t y_col);
void ptec_neon_gemm_s8_rows_sdot(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                                 int8_t *const y[4], ptrdiff_t y_col);
void ptec_neon_gemm_s8_rows_i8mm(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                                 int8_t *const y[4], ptrdiff_t y_col);

/* The zero points applied to raw sums, four rows at once: out[4r + j] =
 * xw[r][j] - wzp sx[r] - izp sw[j] + k izp wzp, with sx[r] = sum_k x[r][k] and
 * sw[j] = sum_k w[j][k] by lane. Every term is below 2^30 in magnitude for
 * k <= PTEC_Q_MAX_TERMS_I32 and the result fits int32, so wrapping int32 lanes
 * give it exactly (the SDOT and SMMLA blocks). */
static inline void ptec_neon_dot_s8_correct_4x4(const ptec_gemm_s8 *g, const int32x4_t xw[4],
                                                int32x4_t sx, int32x4_t sw, int32_t out[16]) {
  const int32x4_t corr = vsubq_s32(vmulq_n_s32(sw, g->in_zp),
                                   vdupq_n_s32((int32_t)((int64_t)g->k * g->in_zp * g->w_zp)));
  const int32x4_t wsx = vmulq_n_s32(sx, g->w_zp);
  vst1q_s32(out, vsubq_s32(vsubq_s32(xw[0], corr), vdupq_laneq_s32(wsx, 0)));
  vst1q_s32(out + 4, vsubq_s32(vsubq_s32(xw[1], corr), vdupq_laneq_s32(wsx, 1)));
  vst1q_s32(out + 8, vsubq_s32(vsubq_s32(xw[2], corr), vdupq_laneq_s32(wsx, 2)));
  vst1q_s32(out + 12, vsubq_s32(vsubq_s32(xw[3], corr), vdupq_laneq_s32(wsx, 3)));
}

/* Four vectors' lane sums as one vector: [sum a, sum b, sum c, sum d]. */
static inline int32x4_t ptec_neon_sum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

/* The fastest version that `cpu_features` (PTEC_CPU_* bits, ptec.h) and the
 * build's own target allow. */
ptec_gemm_s8_rows_fn ptec_neon_gemm_s8_pick(uint32_t cpu_features);

#endif /* PTEC_KERNELS_NEON_GEMM_S8_NEON_H */
