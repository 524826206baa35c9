/*
 * The ISA variants of the float32 portable kernels (kernels/x86/, kernels/neon/) and the
 * one place that picks them (kernels/isa.h). Like the integer variants
 * (quantized/variants.h), each takes the parameters its reference kernel
 * has already checked and returns false, writing nothing, when the call
 * does not qualify. Float variants sum in another order (SIMD lanes,
 * fused multiply-add), so they agree with the reference within a stated
 * tolerance, not bit for bit (docs/kernels-cpu.md).
 */
#ifndef PTEC_KERNELS_PORTABLE_VARIANTS_H
#define PTEC_KERNELS_PORTABLE_VARIANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/isa.h"
#if PTEC_KERNELS_X86
#include "kernels/x86/cpu_features.h"
#endif

/* convolution.out, float32, as op_convolution.c checked it: N, C, H, W
 * (H = 1 for 1-D), element strides of x [N, C, H, W], w [OC, C/groups, KH,
 * KW] and y [N, OC, OH, OW]; b NULL or OC contiguous values. */
typedef struct ptec_conv_f32 {
  const float *x, *w, *b;
  float *y;
  int64_t n, c, h, w_, oc, kh, kw, oh, ow, groups;
  int64_t stride[2], pad[2], dil[2];
  int64_t xs[4], ws[4], ys[4];
  const struct ptec_parallel_for *parallel; /* NULL: one thread (kernels/parallel.h) */
  /* ptec::conv2d_f32 (op_convolution.c): outputs clamped to [lo, hi] when
   * `clamp` (a fused relu / hardtanh), and, groups 1 only, the filters also
   * packed (NULL: none) as panels [ceil(oc / 8)][c * kh * kw][8], zeros past oc. */
  bool clamp;
  float lo, hi;
  const float *packed;
} ptec_conv_f32;

/* Clamps the outputs of p to [p->lo, p->hi] (a variant that does not fuse it). */
void ptec_conv_f32_clamp_out(const ptec_conv_f32 *p);

/* C = alpha * (A @ B) + beta * D (op_matmul.c's matmul_f32), float32; an
 * element (r, c) of X is X.p[r * X.rs + c * X.cs]. d is NULL or beta 0:
 * no D. */
typedef struct ptec_matmul_f32 {
  float *c;
  const float *a, *b, *d;
  int64_t c_rs, c_cs, a_rs, a_cs, b_rs, b_cs, d_rs, d_cs;
  int64_t m, n, k;
  float alpha, beta;
} ptec_matmul_f32;

bool ptec_conv_f32_avx2(const ptec_conv_f32 *p);
bool ptec_matmul_f32_avx2(const ptec_matmul_f32 *p);
bool ptec_conv_f32_neon(const ptec_conv_f32 *p);
bool ptec_matmul_f32_neon(const ptec_matmul_f32 *p);

#if PTEC_KERNELS_X86
#define PTEC_F_VARIANT_CONV(p) (ptec_x86_has_avx2_fma() && ptec_conv_f32_avx2(p))
#define PTEC_F_VARIANT_MATMUL(p) (ptec_x86_has_avx2_fma() && ptec_matmul_f32_avx2(p))
#elif PTEC_KERNELS_NEON
#define PTEC_F_VARIANT_CONV(p) ptec_conv_f32_neon(p)
#define PTEC_F_VARIANT_MATMUL(p) ptec_matmul_f32_neon(p)
#else
#define PTEC_F_VARIANT_CONV(p) ((void)(p), false)
#define PTEC_F_VARIANT_MATMUL(p) ((void)(p), false)
#endif

#endif /* PTEC_KERNELS_PORTABLE_VARIANTS_H */
