/*
 * The ISA variants of the fused integer kernels (kernels/mve/, kernels/dsp/,
 * kernels/x86/, kernels/neon/) and the one place that picks them (see
 * kernels/isa.h): at build time for Cortex-M and AArch64, at run time (CPU
 * feature test) on x86-64 hosts.
 *
 * Every variant takes the parameters its reference kernel has already
 * checked, returns false without writing anything when the call does not
 * qualify (dtype, layout, a zero point or shift it has no exact fast form
 * for), and otherwise writes exactly what the reference writes, bit for bit:
 * same int32 accumulator (where the reference proves it cannot overflow),
 * same TOSA requantization (requantize.h). None needs scratch memory beyond
 * a small fixed block of stack.
 *
 * The reference files call PTEC_Q_VARIANT_<OP>(...), which is `false` in a
 * build without variants, so each call site is one line.
 */
#ifndef PTEC_KERNELS_QUANTIZED_VARIANTS_H
#define PTEC_KERNELS_QUANTIZED_VARIANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/isa.h"
#include "kernels/quantized/conv2d.h"
#include "kernels/quantized/pool2d.h"
#if PTEC_KERNELS_X86
#include "kernels/x86/cpu_features.h"
#endif

/*
 * int8 rows times int8 weights (quantized_linear's and quantized_matmul's
 * int32 path): for r < rows, j < n,
 *   y[r * y_row + j * y_col] = requantize(sum_k (x[r * x_row + k] - in_zp)
 *       * (w[j * w_row + k] - w_zp), bias[j] (0 if NULL), multiplier[j * step],
 *       shift[j * step], out_zp, act_min, act_max)
 * with k < depth <= PTEC_Q_MAX_TERMS_I32 contiguous in both x and w.
 */
typedef struct ptec_qfc_s8 {
  const int8_t *x, *w;
  const int32_t *bias;              /* NULL: no bias */
  const int32_t *multiplier, *shift;
  int8_t *y;
  int32_t rows, depth, n;
  ptrdiff_t x_row, w_row, y_row, y_col;
  int32_t scale_step;               /* 0: per tensor, 1: per output */
  int32_t in_zp, w_zp, out_zp, act_min, act_max;
  uint32_t cpu_features;            /* PTEC_CPU_* bits: which variant may run (ptec.h) */
} ptec_qfc_s8;

/* quantized_add's parameters (op_quantized_add.c has the formula). */
typedef struct ptec_qadd_params {
  int32_t a_zp, a_m, a_s, b_zp, b_m, b_s, out_zp, out_m, out_s, act_min, act_max;
} ptec_qadd_params;

/* quantized_mul's parameters (op_quantized_mul.c). */
typedef struct ptec_qmul_params {
  int32_t a_zp, b_zp, m, s, out_zp, act_min, act_max;
} ptec_qmul_params;

/*
 * Elementwise runs: y[j] = op(a[j * sa], b[j * sb]) for j < count, int8,
 * y contiguous; sa and sb are 1 or 0 (a broadcast scalar).
 */
bool ptec_qadd_s8_mve(const ptec_qadd_params *p, const int8_t *a, ptrdiff_t sa,
                      const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count);
bool ptec_qmul_s8_mve(const ptec_qmul_params *p, const int8_t *a, ptrdiff_t sa,
                      const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count);
bool ptec_qadd_s8_dsp(const ptec_qadd_params *p, const int8_t *a, ptrdiff_t sa,
                      const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count);
bool ptec_qmul_s8_dsp(const ptec_qmul_params *p, const int8_t *a, ptrdiff_t sa,
                      const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count);

/* Convolution (not depthwise), depthwise convolution, fully connected. */
bool ptec_qconv_s8_mve(const ptec_qconv *p);
bool ptec_qconv_depthwise_s8_mve(const ptec_qconv *p);
bool ptec_qfc_s8_mve(const ptec_qfc_s8 *p);
bool ptec_qconv_s8_dsp(const ptec_qconv *p);
bool ptec_qconv_depthwise_s8_dsp(const ptec_qconv *p);
bool ptec_qfc_s8_dsp(const ptec_qfc_s8 *p);

/* x86-64 AVX2 (kernels/x86/), run only when ptec_x86_has_avx2_fma(). */
bool ptec_qconv_s8_avx2(const ptec_qconv *p);
bool ptec_qconv_depthwise_s8_avx2(const ptec_qconv *p);
bool ptec_qfc_s8_avx2(const ptec_qfc_s8 *p);
/* x86-64 AVX-512 VNNI (kernels/x86/, files ending _avx512), run only when ptec_x86_has_avx512_vnni(). */
bool ptec_qconv_s8_avx512(const ptec_qconv *p);
bool ptec_qconv_depthwise_s8_avx512(const ptec_qconv *p);
bool ptec_qadd_s8_avx512(const ptec_qadd_params *p, const int8_t *a, ptrdiff_t sa,
                         const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count);
bool ptec_qmax_pool_s8_avx512(const ptec_qpool *w, int32_t lo, int32_t hi);
/* quantize_per_tensor's float32 -> int8 row (op_quantize.c), lo/hi its quant range. */
void ptec_quantize_s8_avx512(const float *x, int8_t *y, int64_t n, float inv_scale, int32_t zp,
                             int32_t lo, int32_t hi);
bool ptec_qfc_s8_avx512(const ptec_qfc_s8 *p);
/* ptec::rescale's int8 -> int8 per-tensor dense run (op_rescale.c), lo/hi the out range. */
void ptec_rescale_s8_avx512(const int8_t *x, int8_t *y, int64_t n, int32_t in_zp,
                            int32_t multiplier, int32_t shift, int32_t out_zp, int32_t lo,
                            int32_t hi);
/* quantized_layer_norm's int8 rows (op_quantized_layer_norm.c): the exact row sums (false
 * past 2^18 values), then the row from its mean and rstd. */
typedef struct ptec_layer_norm_s8_row {
  double mean, rstd, in_scale, out_scale;
  int32_t in_zp, out_zp, act_min, act_max;
} ptec_layer_norm_s8_row;
bool ptec_layer_norm_s8_sums_avx512(const int8_t *x, int64_t n, int32_t in_zp, int64_t *s1,
                                    int64_t *s2);
void ptec_layer_norm_s8_row_avx512(const int8_t *x, int8_t *y, int64_t n, const float *w,
                                   const float *b, const ptec_layer_norm_s8_row *r);
/* The same row on Helium (kernels/mve/quantize_s8_mve.c). */
void ptec_quantize_s8_mve(const float *x, int8_t *y, int64_t n, float inv_scale, int32_t zp,
                          int32_t lo, int32_t hi);

/* AArch64 NEON, SMLAL or SDOT by build (kernels/neon/). */
bool ptec_qconv_s8_neon(const ptec_qconv *p);
bool ptec_qconv_depthwise_s8_neon(const ptec_qconv *p);
bool ptec_qfc_s8_neon(const ptec_qfc_s8 *p);
bool ptec_qadd_s8_neon(const ptec_qadd_params *p, const int8_t *a, ptrdiff_t sa,
                       const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count);

/* Pooling over NHWC int8 (activation range [lo, hi]). */
bool ptec_qavg_pool_s8_mve(const ptec_qpool *w, int32_t in_zp, int32_t out_zp, int32_t lo,
                           int32_t hi);
bool ptec_qmax_pool_s8_mve(const ptec_qpool *w, int32_t lo, int32_t hi);

#if PTEC_KERNELS_MVE
#define PTEC_Q_VARIANT_CONV(p) ptec_qconv_s8_mve(p)
#define PTEC_Q_VARIANT_DEPTHWISE(p) ptec_qconv_depthwise_s8_mve(p)
#define PTEC_Q_VARIANT_FC(p) ptec_qfc_s8_mve(p)
#define PTEC_Q_VARIANT_ADD(p, a, sa, b, sb, y, n) ptec_qadd_s8_mve(p, a, sa, b, sb, y, n)
#define PTEC_Q_VARIANT_MUL(p, a, sa, b, sb, y, n) ptec_qmul_s8_mve(p, a, sa, b, sb, y, n)
#define PTEC_Q_VARIANT_AVG_POOL(w, izp, ozp, lo, hi) ptec_qavg_pool_s8_mve(w, izp, ozp, lo, hi)
#define PTEC_Q_VARIANT_MAX_POOL(w, lo, hi) ptec_qmax_pool_s8_mve(w, lo, hi)
#elif PTEC_KERNELS_DSP
#define PTEC_Q_VARIANT_CONV(p) ptec_qconv_s8_dsp(p)
#define PTEC_Q_VARIANT_DEPTHWISE(p) ptec_qconv_depthwise_s8_dsp(p)
#define PTEC_Q_VARIANT_FC(p) ptec_qfc_s8_dsp(p)
#define PTEC_Q_VARIANT_ADD(p, a, sa, b, sb, y, n) ptec_qadd_s8_dsp(p, a, sa, b, sb, y, n)
#define PTEC_Q_VARIANT_MUL(p, a, sa, b, sb, y, n) ptec_qmul_s8_dsp(p, a, sa, b, sb, y, n)
#elif PTEC_KERNELS_X86
/* Chosen at run time: the CPU feature test first (kernels/x86/cpu_features.h). */
#define PTEC_Q_VARIANT_CONV(p)                                  \
  ((ptec_x86_has_avx512_vnni() && ptec_qconv_s8_avx512(p)) || \
   (ptec_x86_has_avx2_fma() && ptec_qconv_s8_avx2(p)))
#define PTEC_Q_VARIANT_DEPTHWISE(p)                                       \
  ((ptec_x86_has_avx512_vnni() && ptec_qconv_depthwise_s8_avx512(p)) || \
   (ptec_x86_has_avx2_fma() && ptec_qconv_depthwise_s8_avx2(p)))
#define PTEC_Q_VARIANT_FC(p)                                  \
  ((ptec_x86_has_avx512_vnni() && ptec_qfc_s8_avx512(p)) || \
   (ptec_x86_has_avx2_fma() && ptec_qfc_s8_avx2(p)))
#define PTEC_Q_VARIANT_ADD(p, a, sa, b, sb, y, n) \
  (ptec_x86_has_avx512_vnni() && ptec_qadd_s8_avx512(p, a, sa, b, sb, y, n))
#define PTEC_Q_VARIANT_MUL(p, a, sa, b, sb, y, n) \
  ((void)(p), (void)(a), (void)(sa), (void)(b), (void)(sb), (void)(y), (void)(n), false)
#define PTEC_Q_VARIANT_AVG_POOL(w, izp, ozp, lo, hi) \
  ((void)(w), (void)(izp), (void)(ozp), (void)(lo), (void)(hi), false)
#define PTEC_Q_VARIANT_MAX_POOL(w, lo, hi) \
  (ptec_x86_has_avx512_vnni() && ptec_qmax_pool_s8_avx512(w, lo, hi))
#elif PTEC_KERNELS_NEON
#define PTEC_Q_VARIANT_CONV(p) ptec_qconv_s8_neon(p)
#define PTEC_Q_VARIANT_DEPTHWISE(p) ptec_qconv_depthwise_s8_neon(p)
#define PTEC_Q_VARIANT_FC(p) ptec_qfc_s8_neon(p)
#define PTEC_Q_VARIANT_ADD(p, a, sa, b, sb, y, n) ptec_qadd_s8_neon(p, a, sa, b, sb, y, n)
#define PTEC_Q_VARIANT_MUL(p, a, sa, b, sb, y, n) \
  ((void)(p), (void)(a), (void)(sa), (void)(b), (void)(sb), (void)(y), (void)(n), false)
#endif

/* Ops without a variant for this ISA. */
#ifndef PTEC_Q_VARIANT_CONV
#define PTEC_Q_VARIANT_CONV(p) ((void)(p), false)
#define PTEC_Q_VARIANT_DEPTHWISE(p) ((void)(p), false)
#define PTEC_Q_VARIANT_FC(p) ((void)(p), false)
#endif
#ifndef PTEC_Q_VARIANT_ADD
#define PTEC_Q_VARIANT_ADD(p, a, sa, b, sb, y, n) \
  ((void)(p), (void)(a), (void)(sa), (void)(b), (void)(sb), (void)(y), (void)(n), false)
#define PTEC_Q_VARIANT_MUL(p, a, sa, b, sb, y, n) PTEC_Q_VARIANT_ADD(p, a, sa, b, sb, y, n)
#endif
#ifndef PTEC_Q_VARIANT_AVG_POOL
#define PTEC_Q_VARIANT_AVG_POOL(w, izp, ozp, lo, hi) \
  ((void)(w), (void)(izp), (void)(ozp), (void)(lo), (void)(hi), false)
#define PTEC_Q_VARIANT_MAX_POOL(w, lo, hi) ((void)(w), (void)(lo), (void)(hi), false)
#endif

#endif /* PTEC_KERNELS_QUANTIZED_VARIANTS_H */
