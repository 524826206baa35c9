/*
 * The float32 GEMM microkernels of the x86 convolution variant
 * (conv2d_f32_avx2.c's drivers): the AVX2 4x16 one lives there, the
 * AVX-512 8x32 one in conv2d_f32_avx512.c, chosen by ptec_x86_has_avx512_vnni().
 *
 *   y[r * ldy + j] (+)= sum_k w[r * ldw + k * ks] * b[k * ldb + j]   r < mr, j < nb
 *
 * (ldw, ks) = (K, 1) for OIHW filters, (1, 8) for the compiler's panels
 * (ptec_f32_filters). `add` keeps y's values as the start; `last` (NULL: a
 * chunk of K before the last, partial sums stored as they are) adds bias[r]
 * to row r and clamps to [lo, hi] (a fused relu / hardtanh; -inf, inf when
 * none: max(lo, v) and min(hi, v) return v when it is NaN).
 */
#ifndef PTEC_KERNELS_X86_CONV2D_F32_X86_H
#define PTEC_KERNELS_X86_CONV2D_F32_X86_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernels/portable/variants.h"
#include "kernels/x86/cpu_features.h"

#define PTEC_F32_MAX_NR 32
/* Filters per panel of ptec_conv_f32.packed. */
#define PTEC_F32_PANEL 8

typedef struct ptec_f32_epilogue {
  const float *bias; /* NULL: none */
  float lo, hi;      /* -inf, inf when nothing is fused */
} ptec_f32_epilogue;

typedef void (*ptec_f32_kernel)(const float *w, int64_t ldw, int64_t ks, int64_t mr,
                                const float *b, int64_t ldb, int64_t k, float *y, int64_t ldy,
                                int64_t nb, bool add, const ptec_f32_epilogue *last);

/* mr <= 8, nb <= 32; AVX-512F (run only when ptec_x86_has_avx512_vnni()). */
void ptec_avx512_f32_kernel_8x32(const float *w, int64_t ldw, int64_t ks, int64_t mr,
                                 const float *b, int64_t ldb, int64_t k, float *y, int64_t ldy,
                                 int64_t nb, bool add, const ptec_f32_epilogue *last);

/* Filter oc's value k0 (groups 1) and the (ldw, ks) steps to the next filter
 * and the next value: the compiler's panels when the call has them (one
 * stream of 8 filters' values side by side), else the OIHW weight. */
static inline const float *ptec_f32_filters(const ptec_conv_f32 *p, int64_t oc, int64_t k0,
                                            int64_t *ldw, int64_t *ks) {
  if (p->packed) {
    const int64_t K = p->c * p->kh * p->kw;
    *ldw = 1;
    *ks = PTEC_F32_PANEL;
    return p->packed + oc / PTEC_F32_PANEL * PTEC_F32_PANEL * K + oc % PTEC_F32_PANEL +
           k0 * PTEC_F32_PANEL;
  }
  *ldw = p->ws[0];
  *ks = 1;
  return p->w + oc * p->ws[0] + k0;
}

/* The epilogue of filters [oc, ...) of a call. */
static inline ptec_f32_epilogue ptec_f32_epilogue_of(const ptec_conv_f32 *p, int64_t oc) {
  return (ptec_f32_epilogue){p->b ? p->b + oc : NULL, p->clamp ? p->lo : -INFINITY,
                             p->clamp ? p->hi : INFINITY};
}

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
