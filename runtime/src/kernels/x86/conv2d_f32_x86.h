/*
 * The float32 GEMM microkernels of the x86 convolution variant
 * (conv2d_f32_avx2.c's drivers): the AVX2 4x16 one lives there, the
 * AVX-512 8x32 one in conv2d_f32_avx512.c, chosen by ptec_x86_has_avx512_vnni().
 *
 *   y[r * ldy + j] (+)= sum_k w[r * ldw + k] * b[k * ldb + j]   r < mr, j < nb
 *
 * `add` keeps y's values as the start, `bias` (NULL: none) is added at the
 * end, bias[r] to row r.
 */
#ifndef PTEC_KERNELS_X86_CONV2D_F32_X86_H
#define PTEC_KERNELS_X86_CONV2D_F32_X86_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/x86/cpu_features.h"

#define PTEC_F32_MAX_NR 32

typedef void (*ptec_f32_kernel)(const float *w, int64_t ldw, int64_t mr, const float *b,
                                int64_t ldb, int64_t k, float *y, int64_t ldy, int64_t nb,
                                bool add, const float *bias);

/* mr <= 8, nb <= 32; AVX-512F (run only when ptec_x86_has_avx512_vnni()). */
void ptec_avx512_f32_kernel_8x32(const float *w, int64_t ldw, int64_t mr, const float *b,
                                 int64_t ldb, int64_t k, float *y, int64_t ldy, int64_t nb,
                                 bool add, const float *bias);

/* Groups 1, stride 1, output plane as large as the input, NCHW rows and
 * OIHW filters contiguous: the implicit GEMM of conv2d_f32_implicit_avx512.c
 * (AVX-512F); false when it declines. */
struct ptec_conv_f32;
bool ptec_avx512_conv_f32_implicit(const struct ptec_conv_f32 *p);

/* Depthwise float32 (groups == C == OC), AVX-512F: false when it declines. */
bool ptec_avx512_depthwise_f32(const struct ptec_conv_f32 *p);
/* The part of it that reads the input planes in place (stride 1 or 2, rows
 * contiguous, taps up to 16 x 16); depthwise_conv2d_f32_direct_avx512.c. */
bool ptec_avx512_depthwise_f32_direct(const struct ptec_conv_f32 *p);

#endif
