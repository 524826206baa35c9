/* Training-mode batch norm, float32: _native_batch_norm_legit.out (running stats
 * updated in place with momentum) and .no_stats_out (none kept). As PyTorch's CPU
 * kernel (batch_norm_cpu_update_stats_template): batch mean and biased variance per
 * channel over N and the spatial dims, accumulated in double (its acc_type for float);
 * save_mean = mean, save_invstd = 1 / sqrt(var + eps);
 * running = momentum * batch + (1 - momentum) * running, the variance unbiased there;
 * out = x * alpha + beta with alpha = invstd * weight, beta = bias - mean * alpha. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* A [C] float32 tensor, or NULL (an absent weight or bias, no running stats). */
static ptec_status check_channels(ptec_kernel_context *ctx, const ptec_tensor *t, int64_t C,
                                  const char *name) {
  if (!t) return PTEC_STATUS_OK;
  PTEC_TRY(ptec_check_dtype(ctx, t, PTEC_DTYPE_FLOAT32, name));
  int64_t want[1] = {C};
  return ptec_check_shape(ctx, t, want, 1, name);
}

/* Positions of channel c (every index but dim 1) through `it`, offsets into x and y. */
static void init_positions(const ptec_tensor *in, const ptec_tensor *out, ptec_iter *it,
                           int64_t *sx, int64_t *sy) {
  int64_t strides[2][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides[0]);
  ptec_tensor_strides(out, strides[1]);
  ptec_tensor_sizes64(in, sizes);
  sizes[1] = 1;
  ptec_iter_init(it, in->rank, sizes, in->dim_order, 2, (const int64_t(*)[PTEC_MAX_RANK])strides,
                 NULL);
  *sx = strides[0][1];
  *sy = strides[1][1];
}

/* Both overloads: running_mean / running_var NULL for no_stats. Argument slots differ by
 * the two running-stat tensors, so `at` is the slot of `training`. */
static ptec_status batch_norm_train(ptec_kernel_context *ctx, ptec_tensor *rmean,
                                    ptec_tensor *rvar, uint32_t at) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  const ptec_tensor *weight = ptec_arg_opt_tensor(ctx, 1), *bias = ptec_arg_opt_tensor(ctx, 2);
  bool training = ptec_arg_bool(ctx, at);
  double momentum = ptec_arg_double(ctx, at + 1), eps = ptec_arg_double(ctx, at + 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, at + 3);
  ptec_tensor *save_mean = ptec_arg_tensor(ctx, at + 4);
  ptec_tensor *save_invstd = ptec_arg_tensor(ctx, at + 5);
  PTEC_TRY(ptec_check_dtype(ctx, in, PTEC_DTYPE_FLOAT32, "input"));
  PTEC_TRY(ptec_check_dtype(ctx, out, PTEC_DTYPE_FLOAT32, "out"));
  PTEC_CHECK(ctx, in->rank >= 2, PTEC_STATUS_SHAPE_MISMATCH,
             "input must have at least 2 dims (N, C, ...)");
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  int64_t C = in->sizes[1];
  PTEC_TRY(check_channels(ctx, weight, C, "weight"));
  PTEC_TRY(check_channels(ctx, bias, C, "bias"));
  PTEC_TRY(check_channels(ctx, rmean, C, "running_mean"));
  PTEC_TRY(check_channels(ctx, rvar, C, "running_var"));
  /* Eval mode (only with running stats; PyTorch's no_stats crashes there) normalises
   * with the running stats and returns empty save_mean / save_invstd. */
  PTEC_CHECK(ctx, training || rmean != NULL, PTEC_STATUS_INVALID_ARGUMENT,
             "no_stats batch norm needs training=True (there are no running stats)");
  int64_t saved[1] = {training ? C : 0};
  PTEC_TRY(check_channels(ctx, save_mean, saved[0], "save_mean"));
  PTEC_TRY(check_channels(ctx, save_invstd, saved[0], "save_invstd"));
  int64_t count = C > 0 ? (int64_t)(in->numel / (size_t)C) : 0;
  PTEC_CHECK(ctx, !training || count > 0, PTEC_STATUS_INVALID_ARGUMENT,
             "batch statistics of an empty batch");

  ptec_iter it;
  int64_t sx, sy;
  init_positions(in, out, &it, &sx, &sy);
  const float *x = in->data;
  float *y = out->data;
  for (int64_t c = 0; c < C; c++) {
    double mean, var; /* the biased variance */
    if (training) {
      double sum = 0.0, sq = 0.0;
      for (ptec_iter_restart(&it, NULL); !it.done; ptec_iter_next(&it))
        for (int64_t j = 0; j < it.count; j++) sum += x[it.offset[0] + c * sx + j * it.step[0]];
      mean = sum / (double)count;
      for (ptec_iter_restart(&it, NULL); !it.done; ptec_iter_next(&it))
        for (int64_t j = 0; j < it.count; j++) {
          double d = x[it.offset[0] + c * sx + j * it.step[0]] - mean;
          sq += d * d;
        }
      var = sq / (double)count;
      ((float *)save_mean->data)[c] = (float)mean;
      ((float *)save_invstd->data)[c] = (float)(1.0 / sqrt(var + eps));
      if (rmean) {
        float *rm = rmean->data, *rv = rvar->data;
        double unbiased = count > 1 ? sq / (double)(count - 1) : NAN;
        rm[c] = (float)(momentum * mean + (1.0 - momentum) * rm[c]);
        rv[c] = (float)(momentum * unbiased + (1.0 - momentum) * rv[c]);
      }
    } else {
      mean = ((const float *)rmean->data)[c];
      var = ((const float *)rvar->data)[c];
    }
    float invstd = (float)(1.0 / sqrt(var + eps));
    float alpha = invstd * (weight ? ((const float *)weight->data)[c] : 1.0f);
    float beta = (bias ? ((const float *)bias->data)[c] : 0.0f) - (float)mean * alpha;
    for (ptec_iter_restart(&it, NULL); !it.done; ptec_iter_next(&it))
      for (int64_t j = 0; j < it.count; j++)
        y[it.offset[1] + c * sy + j * it.step[1]] =
            x[it.offset[0] + c * sx + j * it.step[0]] * alpha + beta;
  }
  return PTEC_STATUS_OK;
}

/* _native_batch_norm_legit.out(Tensor input, Tensor? weight, Tensor? bias,
 *   Tensor(a!) running_mean, Tensor(b!) running_var, bool training, float momentum,
 *   float eps, *, Tensor(d!) out, Tensor(e!) save_mean, Tensor(f!) save_invstd) */
ptec_status ptec_kernel_native_batch_norm_legit_out(ptec_kernel_context *ctx) {
  return batch_norm_train(ctx, ptec_arg_tensor(ctx, 3), ptec_arg_tensor(ctx, 4), 5);
}

/* _native_batch_norm_legit.no_stats_out(Tensor input, Tensor? weight, Tensor? bias,
 *   bool training, float momentum, float eps, *, Tensor(a!) out, Tensor(b!) save_mean,
 *   Tensor(c!) save_invstd) */
ptec_status ptec_kernel_native_batch_norm_legit_no_stats_out(ptec_kernel_context *ctx) {
  return batch_norm_train(ctx, NULL, NULL, 3);
}
