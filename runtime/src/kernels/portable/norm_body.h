/* Batch norm (inference) and layer norm, a template (half.h): the includer defines LD,
 * ST and the names CHECK_PARAM, CHANNEL_VALUE, BATCH_NORM, LAYER_NORM. Both compute in
 * float32 and store once per element (PyTorch's CPU kernels for the half types do the
 * same), any dim orders. */
#include <math.h>

#include "kernels/portable/iter.h"

/* A per-channel parameter: NULL (use `fallback`) or a [C] tensor of the input's dtype. */
static ptec_status CHECK_PARAM(ptec_kernel_context *ctx, const ptec_tensor *t, int dtype,
                               int64_t C, const char *name) {
  if (!t) return PTEC_STATUS_OK;
  PTEC_TRY(ptec_check_dtype(ctx, t, dtype, name));
  int64_t want[1] = {C};
  return ptec_check_shape(ctx, t, want, 1, name);
}

static float CHANNEL_VALUE(const ptec_tensor *t, int64_t c, float fallback, bool bf) {
  (void)bf;
  return t ? LD(t->data, c) : fallback;
}

/* _native_batch_norm_legit_no_training.out(Tensor input, Tensor? weight, Tensor? bias,
 *   Tensor running_mean, Tensor running_var, float momentum, float eps, *,
 *   Tensor(a!) out0, Tensor(b!) out1, Tensor(c!) out2)
 * out1 and out2 (save_mean, save_invstd) are empty in inference and are not
 * written. */
static ptec_status BATCH_NORM(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  const ptec_tensor *weight = ptec_arg_opt_tensor(ctx, 1), *bias = ptec_arg_opt_tensor(ctx, 2);
  const ptec_tensor *mean = ptec_arg_tensor(ctx, 3), *var = ptec_arg_tensor(ctx, 4);
  ptec_tensor *out = ptec_arg_tensor(ctx, 7);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  bool bf = out->dtype == PTEC_DTYPE_BFLOAT16;
  PTEC_CHECK(ctx, in->rank >= 2, PTEC_STATUS_SHAPE_MISMATCH,
             "input must have at least 2 dims (N, C, ...)");
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out0"));
  int64_t C = in->sizes[1];
  PTEC_TRY(CHECK_PARAM(ctx, weight, in->dtype, C, "weight"));
  PTEC_TRY(CHECK_PARAM(ctx, bias, in->dtype, C, "bias"));
  PTEC_TRY(CHECK_PARAM(ctx, mean, in->dtype, C, "running_mean"));
  PTEC_TRY(CHECK_PARAM(ctx, var, in->dtype, C, "running_var"));
  float eps = (float)ptec_arg_double(ctx, 6);

  int64_t strides[2][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides[0]);
  ptec_tensor_strides(out, strides[1]);
  ptec_tensor_sizes64(in, sizes);
  sizes[1] = 1; /* iterate positions; channels are the inner loop below */
  ptec_iter it;
  ptec_iter_init(&it, in->rank, sizes, in->dim_order, 2, (const int64_t(*)[PTEC_MAX_RANK])strides,
                 NULL);
  int64_t sx = strides[0][1], sy = strides[1][1];
  const void *x = in->data;
  void *y = out->data;
  /* PyTorch's inference transform: y = x * alpha + beta, with alpha and
   * beta folded per channel in float, a block of channels at a time. The
   * innermost loop runs along whichever of channels (NHWC) or positions
   * (NCHW) is contiguous. */
  enum { BLOCK = 64 };
  float alpha[BLOCK], beta[BLOCK];
  for (int64_t c0 = 0; c0 < C; c0 += BLOCK) {
    int64_t nb = C - c0 < BLOCK ? C - c0 : BLOCK;
    for (int64_t k = 0; k < nb; k++) {
      float invstd = 1.0f / sqrtf(CHANNEL_VALUE(var, c0 + k, 1.0f, bf) + eps);
      alpha[k] = invstd * CHANNEL_VALUE(weight, c0 + k, 1.0f, bf);
      beta[k] = CHANNEL_VALUE(bias, c0 + k, 0.0f, bf) -
                CHANNEL_VALUE(mean, c0 + k, 0.0f, bf) * alpha[k];
    }
    for (ptec_iter_restart(&it, NULL); !it.done; ptec_iter_next(&it)) {
      int64_t xr = it.offset[0] + c0 * sx, yr = it.offset[1] + c0 * sy;
      int64_t n = it.count, px = it.step[0], py = it.step[1];
      if (sx == 1 && sy == 1) {
        for (int64_t j = 0; j < n; j++)
          for (int64_t k = 0; k < nb; k++)
            ST(y, yr + j * py + k, LD(x, xr + j * px + k) * alpha[k] + beta[k]);
      } else {
        for (int64_t k = 0; k < nb; k++)
          for (int64_t j = 0; j < n; j++)
            ST(y, yr + j * py + k * sy, LD(x, xr + j * px + k * sx) * alpha[k] + beta[k]);
      }
    }
  }
  return PTEC_STATUS_OK;
}

/* native_layer_norm.out(Tensor input, SymInt[] normalized_shape, Tensor? weight,
 *   Tensor? bias, float eps, *, Tensor(a!) out0, Tensor(b!) out1, Tensor(c!) out2)
 * out1 / out2 are the mean and rstd, shaped like input with the normalized
 * dims set to 1. */
static ptec_status LAYER_NORM(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  const ptec_tensor *weight = ptec_arg_opt_tensor(ctx, 2), *bias = ptec_arg_opt_tensor(ctx, 3);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  ptec_tensor *mean_out = ptec_arg_tensor(ctx, 6), *rstd_out = ptec_arg_tensor(ctx, 7);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_TRY(ptec_check_dtype(ctx, mean_out, out->dtype, "out1"));
  PTEC_TRY(ptec_check_dtype(ctx, rstd_out, out->dtype, "out2"));
  bool bf = out->dtype == PTEC_DTYPE_BFLOAT16;
  (void)bf;
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out0"));
  uint32_t nnorm;
  const int64_t *norm = ptec_arg_int_list(ctx, 1, &nnorm);
  PTEC_CHECK(ctx, nnorm >= 1 && nnorm <= in->rank, PTEC_STATUS_SHAPE_MISMATCH,
             "normalized_shape has %u dims but input has %u", (unsigned)nnorm,
             (unsigned)in->rank);
  uint32_t axis = in->rank - nnorm;
  for (uint32_t k = 0; k < nnorm; k++)
    PTEC_CHECK(ctx, norm[k] == in->sizes[axis + k], PTEC_STATUS_SHAPE_MISMATCH,
               "normalized_shape does not match the input's trailing dims");
  int64_t stat_shape[PTEC_MAX_RANK];
  for (uint32_t d = 0; d < in->rank; d++) stat_shape[d] = d < axis ? in->sizes[d] : 1;
  PTEC_TRY(ptec_check_shape(ctx, mean_out, stat_shape, in->rank, "out1"));
  PTEC_TRY(ptec_check_shape(ctx, rstd_out, stat_shape, in->rank, "out2"));
  const ptec_tensor *params[2] = {weight, bias};
  for (int k = 0; k < 2; k++)
    if (params[k]) {
      PTEC_TRY(ptec_check_dtype(ctx, params[k], out->dtype, k ? "bias" : "weight"));
      PTEC_TRY(ptec_check_shape(ctx, params[k], norm, nnorm, k ? "bias" : "weight"));
    }
  double eps = ptec_arg_double(ctx, 4);

  /* Inner iteration over the normalized dims: in, out, weight, bias (a missing one
   * iterates with stride 0 and is not read). */
  int64_t strides[4][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides[0]);
  ptec_tensor_strides(out, strides[1]);
  int64_t ps[2][PTEC_MAX_RANK] = {{0}};
  if (weight) ptec_tensor_strides(weight, ps[0]);
  if (bias) ptec_tensor_strides(bias, ps[1]);
  for (uint32_t d = 0; d < in->rank; d++) {
    sizes[d] = d < axis ? 1 : in->sizes[d];
    strides[2][d] = d < axis ? 0 : ps[0][d - axis];
    strides[3][d] = d < axis ? 0 : ps[1][d - axis];
  }
  ptec_iter inner;
  ptec_iter_init(&inner, in->rank, sizes, NULL, 4, (const int64_t(*)[PTEC_MAX_RANK])strides, NULL);
  int64_t mean_strides[PTEC_MAX_RANK], rstd_strides[PTEC_MAX_RANK];
  ptec_tensor_strides(mean_out, mean_strides);
  ptec_tensor_strides(rstd_out, rstd_strides);
  int64_t rows = 1, width = 1;
  for (uint32_t d = 0; d < in->rank; d++) {
    if (d < axis) rows *= in->sizes[d];
    else width *= in->sizes[d];
  }

#ifdef LAYER_NORM_VARIANT /* an ISA variant of the whole call (op_norm.c) */
  if (LAYER_NORM_VARIANT(in, out, weight, bias, mean_out, rstd_out, rows, width, eps))
    return PTEC_STATUS_OK;
#endif
  const void *x = in->data;
  void *y = out->data;
  for (int64_t r = 0; r < rows; r++) {
    /* Row r in logical order: unravel it into offsets of each tensor. */
    int64_t base[4] = {0, 0, 0, 0}, mo = 0, ro = 0, rem = r;
    for (int d = (int)axis - 1; d >= 0; d--) {
      int64_t i = rem % in->sizes[d];
      rem /= in->sizes[d];
      base[0] += i * strides[0][d];
      base[1] += i * strides[1][d];
      mo += i * mean_strides[d];
      ro += i * rstd_strides[d];
    }
    double sum = 0.0, sq = 0.0;
    for (ptec_iter_restart(&inner, base); !inner.done; ptec_iter_next(&inner))
      for (int64_t k = 0; k < inner.count; k++) sum += LD(x, inner.offset[0] + k * inner.step[0]);
    double mean = width ? sum / (double)width : 0.0;
    for (ptec_iter_restart(&inner, base); !inner.done; ptec_iter_next(&inner))
      for (int64_t k = 0; k < inner.count; k++) {
        double dv = LD(x, inner.offset[0] + k * inner.step[0]) - mean;
        sq += dv * dv;
      }
    double var = width ? sq / (double)width : 0.0;
    float rstd = (float)(1.0 / sqrt(var + eps));
    float meanf = (float)mean, shift = -rstd * meanf;
    ST(mean_out->data, mo, meanf);
    ST(rstd_out->data, ro, rstd);
    for (ptec_iter_restart(&inner, base); !inner.done; ptec_iter_next(&inner))
      for (int64_t k = 0; k < inner.count; k++) {
        float v = LD(x, inner.offset[0] + k * inner.step[0]) * rstd + shift;
        float wv = weight ? LD(weight->data, inner.offset[2] + k * inner.step[2]) : 1.0f;
        float bv = bias ? LD(bias->data, inner.offset[3] + k * inner.step[3]) : 0.0f;
        ST(y, inner.offset[1] + k * inner.step[1], v * wv + bv);
      }
  }
  return PTEC_STATUS_OK;
}
