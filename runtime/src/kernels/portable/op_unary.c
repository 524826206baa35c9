/* Pointwise math: neg, abs, floor, ceil, round, trunc. Float math in
 * float32 like PyTorch; the table-made ops (exp, acos, isnan, ...) are in
 * unary_ops.def. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/complex.h"
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
  if (ptec_dtype_is_complex(ptec_arg_tensor(ctx, 0)->dtype))
    return ptec_complex_abs(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1));
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), abs_f32, abs_i64,
                    NULL);
}

static void bitwise_not_i64(int64_t *o, const int64_t *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) o[i] = ~in[i];
}
static void logical_not_i64(int64_t *o, const int64_t *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) o[i] = !in[i];
}

/* bitwise_not.out(Tensor self, *, Tensor(a!) out): integers and bools only
 * (of a bool it is the logical not, as in PyTorch). */
ptec_status ptec_kernel_bitwise_not_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, !ptec_dtype_is_float(in->dtype), PTEC_STATUS_TYPE_MISMATCH,
             "bitwise_not takes integer or bool tensors, not %s", ptec_dtype_name(in->dtype));
  return ptec_unary(ctx, in, ptec_arg_tensor(ctx, 1), abs_f32,
                    in->dtype == PTEC_DTYPE_BOOL ? logical_not_i64 : bitwise_not_i64, NULL);
}
