/*
 * ptec::quantized_layer_norm.out(Tensor input, int[] normalized_shape,
 *   Tensor? weight, Tensor? bias, float eps, float input_scale, int input_zp,
 *   float output_scale, int output_zp, int activation_min,
 *   int activation_max, *, Tensor(a!) out) -> Tensor(a!)
 *
 * Layer norm of an int8/int16 tensor over its trailing dims, to the same
 * dtype. The row's statistics are exact integers: with q = x - input_zp,
 * S1 = sum q and S2 = sum q^2 (int64), mean = S1 / n and
 * var = (n * S2 - S1^2) / n^2 in units of input_scale. The rest is double:
 *
 *   y   = (q - mean) * input_scale / sqrt(var * input_scale^2 + eps)
 *         * weight + bias                       (weight, bias: float32)
 *   out = clamp(rint(y / output_scale) + output_zp, act_min, act_max)
 *
 * (rint: to nearest, ties to even, as PyTorch's quantize rounds). Computed
 * this way the result is the fake-quantized model's layer norm evaluated
 * exactly, up to double rounding, so quantization noise does not depend on
 * float32 summation order. Input and out must be contiguous (the trailing
 * dims innermost); weight and bias have the normalized shape.
 */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/qparams.h"
#include "kernels/quantized/variants.h"

enum {
  ARG_INPUT, ARG_SHAPE, ARG_WEIGHT, ARG_BIAS, ARG_EPS, ARG_IN_SCALE, ARG_IN_ZP, ARG_OUT_SCALE,
  ARG_OUT_ZP, ARG_ACT_MIN, ARG_ACT_MAX, ARG_OUT
};

typedef struct layer_norm {
  const ptec_tensor *in, *weight, *bias;
  ptec_tensor *out;
  int64_t rows, width;
  double eps, in_scale, out_scale;
  int32_t in_zp, out_zp, act_min, act_max;
} layer_norm;

static ptec_status check_scale(ptec_kernel_context *ctx, double scale, const char *name) {
  PTEC_CHECK(ctx, scale > 0.0 && isfinite(scale), PTEC_STATUS_OUT_OF_RANGE,
             "%s must be positive and finite", name);
  return PTEC_STATUS_OK;
}

static ptec_status setup(ptec_kernel_context *ctx, layer_norm *p) {
  p->in = ptec_arg_tensor(ctx, ARG_INPUT);
  p->weight = ptec_arg_opt_tensor(ctx, ARG_WEIGHT);
  p->bias = ptec_arg_opt_tensor(ctx, ARG_BIAS);
  p->out = ptec_arg_tensor(ctx, ARG_OUT);
  const ptec_tensor *in = p->in;
  PTEC_TRY(ptec_q_check_activation_dtype(ctx, in, "input"));
  PTEC_TRY(ptec_check_same_dtype(ctx, in, p->out, "input", "out"));
  PTEC_TRY(ptec_check_same_shape(ctx, in, p->out, "input", "out"));
  PTEC_CHECK(ctx, ptec_tensor_is_contiguous(in) && ptec_tensor_is_contiguous(p->out),
             PTEC_STATUS_NOT_SUPPORTED, "input and out must be contiguous");
  uint32_t nnorm;
  const int64_t *norm = ptec_arg_int_list(ctx, ARG_SHAPE, &nnorm);
  PTEC_CHECK(ctx, nnorm >= 1 && nnorm <= in->rank, PTEC_STATUS_SHAPE_MISMATCH,
             "normalized_shape has %u dims but input has %u", (unsigned)nnorm,
             (unsigned)in->rank);
  uint32_t axis = in->rank - nnorm;
  p->rows = 1;
  p->width = 1;
  for (uint32_t d = 0; d < in->rank; d++) {
    if (d < axis) p->rows *= in->sizes[d];
    else p->width *= in->sizes[d];
  }
  for (uint32_t k = 0; k < nnorm; k++)
    PTEC_CHECK(ctx, norm[k] == in->sizes[axis + k], PTEC_STATUS_SHAPE_MISMATCH,
               "normalized_shape does not match the input's trailing dims");
  const ptec_tensor *params[2] = {p->weight, p->bias};
  for (int k = 0; k < 2; k++)
    if (params[k]) {
      PTEC_TRY(ptec_check_dtype(ctx, params[k], PTEC_DTYPE_FLOAT32, k ? "bias" : "weight"));
      PTEC_TRY(ptec_check_shape(ctx, params[k], norm, nnorm, k ? "bias" : "weight"));
    }
  p->eps = ptec_arg_double(ctx, ARG_EPS);
  PTEC_CHECK(ctx, p->eps >= 0.0 && isfinite(p->eps), PTEC_STATUS_OUT_OF_RANGE,
             "eps must be finite and not negative");
  p->in_scale = ptec_arg_double(ctx, ARG_IN_SCALE);
  p->out_scale = ptec_arg_double(ctx, ARG_OUT_SCALE);
  PTEC_TRY(check_scale(ctx, p->in_scale, "input_scale"));
  PTEC_TRY(check_scale(ctx, p->out_scale, "output_scale"));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_IN_ZP, in->dtype, "input_zp", &p->in_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUT_ZP, in->dtype, "output_zp", &p->out_zp));
  return ptec_q_activation_range(ctx, ARG_ACT_MIN, in->dtype, &p->act_min, &p->act_max);
}

ptec_status ptec_prepare_quantized_layer_norm_out(ptec_kernel_context *ctx) {
  layer_norm p;
  return setup(ctx, &p);
}

/* The row's mean and 1 / std from its exact sums (shared by the AVX-512 rows,
 * so that both compute them with the same operations). */
static void row_stats(const layer_norm *p, int64_t n, int64_t s1, int64_t s2, double *mean,
                      double *rstd) {
  *mean = (double)s1 / (double)n;
  double var = ((double)n * (double)s2 - (double)s1 * (double)s1) / ((double)n * (double)n);
  *rstd = 1.0 / sqrt(var * p->in_scale * p->in_scale + p->eps);
}

static void normalize_row(const layer_norm *p, int64_t r) {
  int dtype = p->in->dtype;
  int64_t n = p->width, base = r * n, s1 = 0, s2 = 0;
  double mean, rstd;
#if PTEC_KERNELS_X86 /* the same values, in vectors (kernels/x86/layer_norm_s8_avx512.c) */
  if (dtype == PTEC_DTYPE_INT8 && ptec_x86_has_avx512_vnni()) {
    const int8_t *x = (const int8_t *)p->in->data + base;
    if (ptec_layer_norm_s8_sums_avx512(x, n, p->in_zp, &s1, &s2)) {
      row_stats(p, n, s1, s2, &mean, &rstd);
      const ptec_layer_norm_s8_row row = {mean, rstd, p->in_scale, p->out_scale, p->in_zp,
                                          p->out_zp, p->act_min, p->act_max};
      ptec_layer_norm_s8_row_avx512(x, (int8_t *)p->out->data + base, n,
                                    p->weight ? p->weight->data : NULL,
                                    p->bias ? p->bias->data : NULL, &row);
      return;
    }
  }
#endif
  for (int64_t i = 0; i < n; i++) {
    int64_t q = ptec_q_load(p->in->data, dtype, base + i) - p->in_zp;
    s1 += q;
    s2 += q * q;  /* |q| < 2^16, n < 2^31 elements: no overflow */
  }
  row_stats(p, n, s1, s2, &mean, &rstd);
  const float *w = p->weight ? p->weight->data : NULL, *b = p->bias ? p->bias->data : NULL;
  for (int64_t i = 0; i < n; i++) {
    int64_t q = ptec_q_load(p->in->data, dtype, base + i) - p->in_zp;
    double y = ((double)q - mean) * p->in_scale * rstd;
    if (w) y *= (double)w[i];
    if (b) y += (double)b[i];
    double code = rint(y / p->out_scale) + (double)p->out_zp;
    /* Written so that NaN (a zero-variance row with eps 0, or NaN weights)
     * clamps to act_min instead of reaching an undefined conversion. */
    code = !(code >= p->act_min) ? p->act_min : code > p->act_max ? p->act_max : code;
    ptec_q_store(p->out->data, dtype, base + i, (int32_t)code);
  }
}

ptec_status ptec_kernel_quantized_layer_norm_out(ptec_kernel_context *ctx) {
  layer_norm p;
  PTEC_TRY(setup(ctx, &p));
  for (int64_t r = 0; r < p.rows; r++) normalize_row(&p, r);
  return PTEC_STATUS_OK;
}
