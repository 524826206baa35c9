/*
 * The int8 matrix microkernels shared by the NEON convolution and fully
 * connected variants: up to four rows of activations times every row of
 * the weights, each a dot product over k contiguous int8 values, then
 * requantized (requantize_neon.h):
 *
 *   y[r][j * y_col] = requantize(sum_k (x[r][k] - in_zp) * (w[j * w_row + k] - w_zp), j)
 *
 * The dot products of a 4x4 block (four rows by four output channels) come
 * from ptec_neon_dot_s8_4x4, which one of two files defines, by the build's
 * target (kernels/isa.h):
 *   dot_s8_neon.c     Armv8-A: SMLAL on int16 lanes of (x - in_zp) and (w - w_zp)
 *   dot_s8_dotprod.c  Armv8.2-A dotprod (Cortex-A76 and later): SDOT on the raw
 *                     int8 values, zero points applied afterwards
 * Both give the exact int32 sums for k <= PTEC_Q_MAX_TERMS_I32 (qparams.h), as
 * the reference's int32 path does. Weights are read in place (OHWI: each
 * output channel's filter is one contiguous run), so nothing is packed.
 */
#ifndef PTEC_KERNELS_NEON_GEMM_S8_NEON_H
#define PTEC_KERNELS_NEON_GEMM_S8_NEON_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/neon/requantize_neon.h"

/* out[r * 4 + j] = sum_k (x[r][k] - in_zp) * (w[j][k] - w_zp), r, j < 4. */
void ptec_neon_dot_s8_4x4(const ptec_gemm_s8 *g, const int8_t *const x[4],
                          const int8_t *const w[4], int32_t out[16]);

/* out[j] = sum_k (x[k] - in_zp) * (w[j][k] - w_zp), j < 4: one row (a linear
 * layer on a single vector) without repeating it through the 4x4 block. */
void ptec_neon_dot_s8_1x4(const ptec_gemm_s8 *g, const int8_t *x, const int8_t *const w[4],
                          int32_t out[4]);

/* A ptec_gemm_s8_rows_fn (quantized/gemm_s8.h). */
void ptec_neon_gemm_s8_rows(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                            int8_t *const y[4], ptrdiff_t y_col);

#endif /* PTEC_KERNELS_NEON_GEMM_S8_NEON_H */
