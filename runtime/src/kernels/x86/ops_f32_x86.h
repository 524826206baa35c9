/*
 * x86-64 variants of the float32 operators around the convolutions (issue 12): pooling,
 * elementwise rows, normalization and softmax. Each takes what its portable reference
 * kernel has already checked and returns false, writing nothing, when the call does not
 * qualify; the reference then runs. Selection is the same as the other x86 variants'
 * (docs/kernels-cpu.md, "Selection"): a run-time CPU feature test per call.
 *
 * Results: pooling, relu/clamp and add/sub/mul/div rows equal the reference bit for bit
 * (the same IEEE operations per element, comparisons in the same order, NaN propagated
 * the same way). gelu and softmax approximate erf / exp, layer norm sums in another order;
 * they agree within the tolerances stated in docs/kernels-cpu.md ("fp32 operators").
 */
#ifndef PTEC_KERNELS_X86_OPS_F32_X86_H
#define PTEC_KERNELS_X86_OPS_F32_X86_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/isa.h"
#include "kernels/portable/pool.h"

struct ptec_parallel_for;

/* max_pool2d_with_indices on float32 (pool_body.h's MAX_POOL): input, output and
 * indices rows contiguous, dilation 1, stride along rows 1 or 2, H * W < 2^31. */
bool ptec_max_pool2d_f32_avx512(const float *x, float *y, int64_t *yi, view4 X,
                                const pool_params *pp, const struct ptec_parallel_for *par);
bool ptec_max_pool2d_f32_avx2(const float *x, float *y, int64_t *yi, view4 X,
                              const pool_params *pp, const struct ptec_parallel_for *par);

/* o[i] = in[i] < 0 ? 0 : in[i] (relu) and min(max(in[i], lo), hi) (clamp, hardtanh), as
 * op_activation.c's rows: NaN stays NaN, -0 stays -0. Always take the row. */
void ptec_relu_row_f32_avx512(float *o, const float *in, int64_t n);
void ptec_clamp_row_f32_avx512(float *o, const float *in, int64_t n, float lo, float hi);

/* A row of elementwise.c's binary_row_f32 for ADD/SUB (a +- alpha * b, alpha * b rounded
 * first), MUL and DIV: o and a contiguous, b contiguous or one value (sb 0). `op` is
 * ptec_binary_op's value. False for other ops and strides. */
bool ptec_binary_row_f32_avx512(int op, float *o, int64_t so, const float *a, int64_t sa,
                                const float *b, int64_t sb, int64_t n, float alpha);

/* gelu's rows (op_activation.c): approximate "none" (erf) or "tanh". Always take the row. */
void ptec_gelu_row_f32_avx512(float *o, const float *in, int64_t n, bool tanh_approx);

/* _softmax along a contiguous row of n >= 1 values, y may not overlap x but as x itself. */
void ptec_softmax_row_f32_avx512(const float *x, float *y, int64_t n);

/* native_layer_norm over `rows` contiguous rows of `width` values (in, out, the weight and
 * bias, each NULL or `width` contiguous values, and one mean and rstd per row). */
void ptec_layer_norm_rows_f32_avx512(const float *x, float *y, const float *w, const float *b,
                                     float *mean_out, float *rstd_out, int64_t rows,
                                     int64_t width, double eps);

/* A row of eq/ne/lt/le/gt/ge on float32 into bool bytes (elementwise.c's compare_f32), a
 * and b contiguous or one value each; false for other ops, strides or n < 16. */
bool ptec_compare_row_f32_avx512(int op, uint8_t *o, const float *a, int64_t sa, const float *b,
                                 int64_t sb, int64_t n);

/* The sum in double of n contiguous float32 values (op_reduce.c's slice_sum). */
double ptec_sum_row_f32_avx512(const float *x, int64_t n);

/* The calls the portable kernels make: on x86-64 builds with ISA kernels, the variant
 * when the CPU has AVX-512 (F/BW/VL, tested with VNNI as the other *_avx512.c files), for
 * max pool the AVX2 one on AVX2-only CPUs (the other rows: the reference, which GCC
 * vectorises with SSE);
 * elsewhere nothing (the variants are not compiled: kernels/x86/ is x86-64 only). */
#if PTEC_KERNELS_X86
#include "kernels/x86/cpu_features.h"
#define PTEC_F_VARIANT_MAX_POOL(...)                                         \
  ((ptec_x86_has_avx512_vnni() && ptec_max_pool2d_f32_avx512(__VA_ARGS__)) || \
   (ptec_x86_has_avx2_fma() && ptec_max_pool2d_f32_avx2(__VA_ARGS__)))
#define PTEC_F_VARIANT_RELU_ROW(o, in, n) \
  (ptec_x86_has_avx512_vnni() && (ptec_relu_row_f32_avx512(o, in, n), true))
#define PTEC_F_VARIANT_CLAMP_ROW(o, in, n, lo, hi) \
  (ptec_x86_has_avx512_vnni() && (ptec_clamp_row_f32_avx512(o, in, n, lo, hi), true))
#define PTEC_F_VARIANT_BINARY_ROW(...) \
  (ptec_x86_has_avx512_vnni() && ptec_binary_row_f32_avx512(__VA_ARGS__))
#define PTEC_F_VARIANT_GELU_ROW(o, in, n, t) \
  (ptec_x86_has_avx512_vnni() && (ptec_gelu_row_f32_avx512(o, in, n, t), true))
#define PTEC_F_VARIANT_SOFTMAX_ROW(x, y, n) \
  (ptec_x86_has_avx512_vnni() && (ptec_softmax_row_f32_avx512(x, y, n), true))
#define PTEC_F_VARIANT_LAYER_NORM_ROWS(...) \
  (ptec_x86_has_avx512_vnni() && (ptec_layer_norm_rows_f32_avx512(__VA_ARGS__), true))
#define PTEC_F_VARIANT_COMPARE_ROW(...) \
  (ptec_x86_has_avx512_vnni() && ptec_compare_row_f32_avx512(__VA_ARGS__))
#define PTEC_F_VARIANT_SUM_ROW(x, n, sum) \
  (ptec_x86_has_avx512_vnni() && (*(sum) = ptec_sum_row_f32_avx512(x, n), true))
#else
#define PTEC_F_VARIANT_MAX_POOL(...) false
#define PTEC_F_VARIANT_RELU_ROW(o, in, n) false
#define PTEC_F_VARIANT_CLAMP_ROW(o, in, n, lo, hi) false
#define PTEC_F_VARIANT_BINARY_ROW(...) false
#define PTEC_F_VARIANT_GELU_ROW(o, in, n, t) false
#define PTEC_F_VARIANT_SOFTMAX_ROW(x, y, n) false
#define PTEC_F_VARIANT_LAYER_NORM_ROWS(...) false
#define PTEC_F_VARIANT_COMPARE_ROW(...) false
#define PTEC_F_VARIANT_SUM_ROW(x, n, sum) false
#endif

#endif /* PTEC_KERNELS_X86_OPS_F32_X86_H */
