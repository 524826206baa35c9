/* Batch norm (inference) and layer norm, float32, any dim orders. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* A per-channel parameter: NULL (use `fallback`) or a float32 [C] tensor. */
static ptec_status check_channel_param(ptec_kernel_context *ctx, const ptec_tensor *t, int64_t C,
                                       const char *name) {
  if (!t) return PTEC_STATUS_OK;
  PTEC_TRY(ptec_check_dtype(ctx, t, PTEC_DTYPE_FLOAT32, name));
  int64_t want[1] = {C};
  return ptec_check_shape(ctx, t, want, 1, name);
}

static float channel_value(const ptec_tensor *t, int64_t c, float fallback) {
  return t ? ((const float *)t->data)[c] : fallback;
}

/* _native_batch_norm_legit_no_training.out(Tensor input, Tensor? weight, Tensor? bias,
 *   Tensor running_mean, Tensor running_var, float momentum, float eps, *,
 *   Tensor(a!) out0, Tensor(b!) out1, Tensor(c!) out2)
 * out1 and out2 (save_mean, save_invstd) are empty in inference and are not
 * written. */
ptec_status ptec_kernel_native_batch_norm_legit_no_training_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  const ptec_tensor *weight = ptec_arg_opt_tensor(ctx, 1), *bias = ptec_arg_opt_tensor(ctx, 2);
  const ptec_tensor *mean = ptec_arg_tensor(ctx, 3), *var = ptec_arg_tensor(ctx, 4);
  ptec_tensor *out = ptec_arg_tensor(ctx, 7);
  PTEC_TRY(ptec_check_f32(ctx, in, out));
  PTEC_CHECK(ctx, in->rank >= 2, PTEC_STATUS_SHAPE_MISMATCH,
             "input must have at least 2 dims (N, C, ...)");
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out0"));
  int64_t C = in->sizes[1];
  PTEC_TRY(check_channel_param(ctx, weight, C, "weight"));
  PTEC_TRY(check_channel_param(ctx, bias, C, "bias"));
  PTEC_TRY(check_channel_param(ctx, mean, C, "running_mean"));
  PTEC_TRY(check_channel_param(ctx, var, C, "running_var"));
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
  const float *x = in->data;
  float *y = out->data;
  /* PyTorch's inference transform: y = x * alpha + beta, with alpha and
   * beta folded per channel in float, a block of channels at a time. The
   * innermost loop runs along whichever of channels (NHWC) or positions
   * (NCHW) is contiguous. */
  enum { BLOCK = 64 };
  float alpha[BLOCK], beta[BLOCK];
  for (int64_t c0 = 0; c0 < C; c0 += BLOCK) {
    int64_t nb = C - c0 < BLOCK ? C - c0 : BLOCK;
    for (int64_t k = 0; k < nb; k++) {
      float invstd = 1.0f / sqrtf(channel_value(var, c0 + k, 1.0f) + eps);
      alpha[k] = invstd * channel_value(weight, c0 + k, 1.0f);
      beta[k] = channel_value(bias, c0 + k, 0.0f) - channel_value(mean, c0 + k, 0.0f) * alpha[k];
    }
    for (ptec_iter_restart(&it, NULL); !it.done; ptec_iter_next(&it)) {
      const float *xr = x + it.offset[0] + c0 * sx;
      float *yr = y + it.offset[1] + c0 * sy;
      int64_t n = it.count, px = it.step[0], py = it.step[1];
      if (sx == 1 && sy == 1) {
        for (int64_t j = 0; j < n; j++)
          for (int64_t k = 0; k < nb; k++) yr[j * py + k] = xr[j * px + k] * alpha[k] + beta[k];
      } else {
        for (int64_t k = 0; k < nb; k++)
          for (int64_t j = 0; j < n; j++)
            yr[j * py + k * sy] = xr[j * px + k * sx] * alpha[k] + beta[k];
      }
    }
  }
  return PTEC_STATUS_OK;
}

/* native_layer_norm.out(Tensor input, SymInt[] normalized_shape, Tensor? weight,
 *   Tensor? bias, float eps, *, Tensor(a!) out0, Tensor(b!) out1, Tensor(c!) out2)
 * out1 / out2 are the mean and rstd, shaped like input with the normalized
 * dims set to 1. */
ptec_status ptec_kernel_native_layer_norm_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  const ptec_tensor *weight = ptec_arg_opt_tensor(ctx, 2), *bias = ptec_arg_opt_tensor(ctx, 3);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  ptec_tensor *mean_out = ptec_arg_tensor(ctx, 6), *rstd_out = ptec_arg_tensor(ctx, 7);
  PTEC_TRY(ptec_check_f32(ctx, in, out));
  PTEC_TRY(ptec_check_dtype(ctx, mean_out, PTEC_DTYPE_FLOAT32, "out1"));
  PTEC_TRY(ptec_check_dtype(ctx, rstd_out, PTEC_DTYPE_FLOAT32, "out2"));
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
      PTEC_TRY(ptec_check_dtype(ctx, params[k], PTEC_DTYPE_FLOAT32, k ? "bias" : "weight"));
      PTEC_TRY(ptec_check_shape(ctx, params[k], norm, nnorm, k ? "bias" : "weight"));
    }
  double eps = ptec_arg_double(ctx, 4);

  /* Inner iteration over the normalized dims: in, out, weight, bias. A
   * missing weight or bias reads a constant through stride 0. */
  static const float one = 1.0f, zero = 0.0f;
  const float *w = weight ? weight->data : &one, *b = bias ? bias->data : &zero;
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

  const float *x = in->data;
  float *y = out->data;
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
      for (int64_t k = 0; k < inner.count; k++) sum += x[inner.offset[0] + k * inner.step[0]];
    double mean = width ? sum / (double)width : 0.0;
    for (ptec_iter_restart(&inner, base); !inner.done; ptec_iter_next(&inner))
      for (int64_t k = 0; k < inner.count; k++) {
        double dv = x[inner.offset[0] + k * inner.step[0]] - mean;
        sq += dv * dv;
      }
    double var = width ? sq / (double)width : 0.0;
    float rstd = (float)(1.0 / sqrt(var + eps));
    float meanf = (float)mean, shift = -rstd * meanf;
    ((float *)mean_out->data)[mo] = meanf;
    ((float *)rstd_out->data)[ro] = rstd;
    for (ptec_iter_restart(&inner, base); !inner.done; ptec_iter_next(&inner))
      for (int64_t k = 0; k < inner.count; k++) {
        float v = x[inner.offset[0] + k * inner.step[0]] * rstd + shift;
        y[inner.offset[1] + k * inner.step[1]] =
            v * w[inner.offset[2] + k * inner.step[2]] + b[inner.offset[3] + k * inner.step[3]];
      }
  }
  return PTEC_STATUS_OK;
}
