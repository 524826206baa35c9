/*
 * The int8 GEMM of the AVX-512 VNNI variants (gemm_s8_avx512.c), a
 * ptec_gemm_s8_rows_fn (quantized/gemm_s8.h) for weights with w_zp == 0.
 *
 * VPDPBUSD multiplies unsigned by signed bytes, so the activations go in as
 * x + 128 (their sign bit flipped) and the weights as they are:
 *
 *   sum_k (x - in_zp) * w = sum_k (x + 128) * w - (128 + in_zp) * sum_k w
 *
 * The last term is one int32 per filter, w_corr, computed once per call by
 * ptec_avx512_gemm_s8_corr; with w_corr NULL (rows must then be 1: a fully
 * connected layer on one vector) the kernel sums each filter as it reads it. Every term is at most 255 * 128 * k in
 * magnitude, below 2^31 for k <= PTEC_Q_MAX_TERMS_I32 (33025), and
 * VPDPBUSD does not saturate, so the sums equal the reference's int32 sums.
 *
 * Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni (and AVX2); run
 * only when ptec_x86_has_avx512_vnni().
 */
#ifndef PTEC_KERNELS_X86_GEMM_S8_AVX512_H
#define PTEC_KERNELS_X86_GEMM_S8_AVX512_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/x86/requantize_avx2.h"

/* Filters a variant takes: w_corr lives on its stack. */
#define PTEC_AVX512_GEMM_MAX_N 4096

void ptec_avx512_gemm_s8_rows(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                              int8_t *const y[4], ptrdiff_t y_col);

/* corr[j] = (128 + in_zp) * sum_k w[j][k] for j < g->n. */
void ptec_avx512_gemm_s8_corr(const ptec_gemm_s8 *g, int32_t *corr);

#endif
