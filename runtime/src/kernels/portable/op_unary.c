/* Pointwise math: neg, abs, exp, log, sqrt, rsqrt, reciprocal, erf,
 * sigmoid, tanh, sin, cos, floor, ceil, round, trunc. Float math in float32
 * like PyTorch. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/elementwise.h"
#include "kernels/ops_decl.h"

#define FLOAT_ROW(name, expr)                                                     \
  static void name(float *o, const float *in, int64_t n, const void *params) {    \
    for (int64_t i = 0; i < n; i++) {                                             \
      float x = in[i];                                                            \
      o[i] = (expr);                                                              \
    }                                                                             \
  }

FLOAT_ROW(neg_f32, -x)
FLOAT_ROW(abs_f32, fabsf(x))
FLOAT_ROW(exp_f32, expf(x))
FLOAT_ROW(log_f32, logf(x))
FLOAT_ROW(sqrt_f32, sqrtf(x))
FLOAT_ROW(rsqrt_f32, 1.0f / sqrtf(x))
FLOAT_ROW(reciprocal_f32, 1.0f / x)
FLOAT_ROW(erf_f32, erff(x))
FLOAT_ROW(sigmoid_f32, 1.0f / (1.0f + expf(-x)))
FLOAT_ROW(tanh_f32, tanhf(x))
FLOAT_ROW(sin_f32, sinf(x))
FLOAT_ROW(cos_f32, cosf(x))
FLOAT_ROW(floor_f32, floorf(x))
FLOAT_ROW(ceil_f32, ceilf(x))
FLOAT_ROW(round_f32, nearbyintf(x)) /* halves to even, like torch.round */
FLOAT_ROW(trunc_f32, truncf(x))

static void neg_i64(int64_t *o, const int64_t *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) o[i] = (int64_t)(0 - (uint64_t)in[i]);
}
static void identity_i64(int64_t *o, const int64_t *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) o[i] = in[i];
}
static void abs_i64(int64_t *o, const int64_t *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) o[i] = in[i] < 0 ? (int64_t)(0 - (uint64_t)in[i]) : in[i];
}

/* Ops whose result is float32 whatever the input (exp of an int is float). */
#define FLOAT_KERNEL(kernel, row)                                               \
  ptec_status kernel(ptec_kernel_context *ctx) {                               \
    return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), row, NULL, NULL); \
  }

FLOAT_KERNEL(ptec_kernel_exp_out, exp_f32)
FLOAT_KERNEL(ptec_kernel_log_out, log_f32)
FLOAT_KERNEL(ptec_kernel_sqrt_out, sqrt_f32)
FLOAT_KERNEL(ptec_kernel_rsqrt_out, rsqrt_f32)
FLOAT_KERNEL(ptec_kernel_reciprocal_out, reciprocal_f32)
FLOAT_KERNEL(ptec_kernel_erf_out, erf_f32)
FLOAT_KERNEL(ptec_kernel_sigmoid_out, sigmoid_f32)
FLOAT_KERNEL(ptec_kernel_tanh_out, tanh_f32)
FLOAT_KERNEL(ptec_kernel_sin_out, sin_f32)
FLOAT_KERNEL(ptec_kernel_cos_out, cos_f32)

/* Rounding keeps integers as they are. */
#define ROUNDING_KERNEL(kernel, row)                                                  \
  ptec_status kernel(ptec_kernel_context *ctx) {                                     \
    return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), row,     \
                      identity_i64, NULL);                                            \
  }

ROUNDING_KERNEL(ptec_kernel_floor_out, floor_f32)
ROUNDING_KERNEL(ptec_kernel_ceil_out, ceil_f32)
ROUNDING_KERNEL(ptec_kernel_round_out, round_f32)
ROUNDING_KERNEL(ptec_kernel_trunc_out, trunc_f32)

/* neg.out(Tensor self, *, Tensor(a!) out) */
ptec_status ptec_kernel_neg_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, in->dtype != PTEC_DTYPE_BOOL, PTEC_STATUS_TYPE_MISMATCH,
             "negation of a bool tensor is not supported");
  return ptec_unary(ctx, in, ptec_arg_tensor(ctx, 1), neg_f32, neg_i64, NULL);
}

/* abs.out(Tensor self, *, Tensor(a!) out) */
ptec_status ptec_kernel_abs_out(ptec_kernel_context *ctx) {
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), abs_f32, abs_i64,
                    NULL);
}
