/*
 * The int8 matrix microkernels shared by the AVX2 convolution and fully
 * connected variants: up to four rows of activations times every row of
 * the weights, each a dot product over k contiguous int8 values, then
 * requantized (requantize_avx2.h):
 *
 *   y[r][j * y_col] = requantize(sum_k (x[r][k] - in_zp) * (w[j * w_row + k] - w_zp), j)
 *
 * Products use VPMADDWD on int16 lanes: (x - in_zp) and (w - w_zp) lie in
 * [-255, 255], so each pair sum fits int32 and never saturates; the int32
 * sums are exact for k <= PTEC_Q_MAX_TERMS_I32 (qparams.h), as in the
 * reference's int32 path. Weights are read in place (OHWI: each output
 * channel's filter is one contiguous run), so nothing is packed.
 */
#ifndef PTEC_KERNELS_X86_GEMM_S8_AVX2_H
#define PTEC_KERNELS_X86_GEMM_S8_AVX2_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/x86/requantize_avx2.h"

/* A ptec_gemm_s8_rows_fn (quantized/gemm_s8.h). */
void ptec_avx2_gemm_s8_rows(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                            int8_t *const y[4], ptrdiff_t y_col);

#endif
