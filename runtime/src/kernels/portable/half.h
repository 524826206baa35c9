/*
 * The float16 / bfloat16 variants of the float32-only kernels (convolution,
 * matrix products, softmax, norms, pooling, upsampling): each takes the
 * parameters its float32 kernel has already checked, loads every element
 * to float32, accumulates in float32 and rounds once on store (nearest
 * even), as PyTorch's CPU kernels do for these dtypes (opmath_t = float).
 * They live in op_*_half.c files; a float32 kernel gains only the dtype
 * dispatch to them.
 */
#ifndef PTEC_KERNELS_PORTABLE_HALF_H
#define PTEC_KERNELS_PORTABLE_HALF_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/portable/common.h"

/* Element i of half data (bf: bfloat16, else float16) as float32, and back. */
static inline float ptec_half_ld(const void *p, int64_t i, bool bf) {
  uint16_t h = ((const uint16_t *)p)[i];
  return bf ? ptec_bf16_to_f32(h) : ptec_f16_to_f32(h);
}
static inline void ptec_half_st(void *p, int64_t i, float v, bool bf) {
  ((uint16_t *)p)[i] = bf ? ptec_f32_to_bf16(v) : ptec_f32_to_f16(v);
}

static inline float ptec_half_round(float v, bool bf) {
  return bf ? ptec_bf16_to_f32(ptec_f32_to_bf16(v)) : ptec_f16_to_f32(ptec_f32_to_f16(v));
}

/* Element access for the loop templates (*_body.h): a template is included once with
 * the float32 pair and once, in the op's _half.c file, with the half pair, which reads
 * the dtype flag `bf` in scope. ROUNDS says whether a store rounds, so a template
 * keeps float32 intermediates out of a half output. */
#define PTEC_F32_LD(p, i) (((const float *)(p))[i])
#define PTEC_F32_ST(p, i, v) (((float *)(p))[i] = (v))
#define PTEC_HALF_LD(p, i) ptec_half_ld((p), (i), bf)
#define PTEC_HALF_ST(p, i, v) ptec_half_st((p), (i), (v), bf)
/* v rounded to the element type (where PyTorch keeps an intermediate in it). */
#define PTEC_F32_RND(v) (v)
#define PTEC_HALF_RND(v) ptec_half_round((v), bf)

/* Fails with NOT_SUPPORTED unless out is float32, float16 or bfloat16 and
 * with TYPE_MISMATCH unless `in` (if any) has out's dtype: the float
 * kernels with a half variant check their tensors with this. */
ptec_status ptec_check_float_io(ptec_kernel_context *ctx, const ptec_tensor *in,
                                const ptec_tensor *out);

/* convolution, 1-D to 3-D (1-D and 2-D with leading spatial sizes 1): element strides of
 * x [N, C, D, H, W], w [OC, C/groups, KD, KH, KW], y [N, OC, OD, OH, OW]; b NULL or OC values
 * with stride bs. y = round(sum in float32 + bias). */
typedef struct ptec_conv_half {
  const void *x, *w, *b;
  void *y;
  bool bf;
  int64_t n, c, oc, groups, bs;
  int64_t size[3], k[3], osz[3], stride[3], pad[3], dil[3];
  int64_t xs[5], ws[5], ys[5];
} ptec_conv_half;
void ptec_conv_half_run(const ptec_conv_half *p);

/* C = alpha * (A @ B) + beta * D, each output element a float32 dot product
 * rounded once; element (r, c) of X at X[r * X_rs + c * X_cs]; d NULL: no D. */
typedef struct ptec_matmul_half {
  void *c;
  const void *a, *b, *d;
  bool bf;
  int64_t c_rs, c_cs, a_rs, a_cs, b_rs, b_cs, d_rs, d_cs;
  int64_t m, n, k;
  float alpha, beta;
} ptec_matmul_half;
void ptec_matmul_half_run(const ptec_matmul_half *p);

/* One row of _softmax / _log_softmax (op_softmax.c): n elements at x[xo + k * sx], written
 * to y[yo + k * sy]; `last`: along the input's last dim (softmax_body.h says why). */
void ptec_softmax_row_half(const void *x, int64_t xo, int64_t sx, void *y, int64_t yo,
                           int64_t sy, int64_t n, bool log, bool last, bool bf);
/* The same with half_to_float: half input, float32 output. */
void ptec_softmax_row_half_to_float(const void *x, int64_t xo, int64_t sx, void *y,
                                    int64_t yo, int64_t sy, int64_t n, bool log, bool last,
                                    bool bf);

/* The half-typed batch norm and layer norm kernels (op_norm_half.c), same arguments. */
ptec_status ptec_batch_norm_half(ptec_kernel_context *ctx);
ptec_status ptec_layer_norm_half(ptec_kernel_context *ctx);
/* native_group_norm on the half types (op_group_norm_half.c). */
ptec_status ptec_group_norm_half(ptec_kernel_context *ctx);
/* upsample_bilinear2d's loop on the half types (op_upsample_half.c): scale[2] as
 * op_upsample.c computes it, in/out sizes [N, C, H, W], element strides is / os. */
void ptec_upsample_bilinear2d_half(const void *src, void *dst, const int64_t *isz,
                                   const int64_t *osz, const int64_t *is, const int64_t *os,
                                   const float *scale, bool align, bool bf);

#endif /* PTEC_KERNELS_PORTABLE_HALF_H */
