/* div (true, "trunc" and "floor" rounding), floor_divide and remainder. */
#include "kernels/portable/common.h"
#include "kernels/portable/complex.h"
#include "kernels/portable/elementwise.h"
#include "kernels/ops_decl.h"

/* The op for a `str? rounding_mode` argument. */
static ptec_status rounding_op(ptec_kernel_context *ctx, uint32_t arg, ptec_binary_op *op) {
  if (ptec_arg_is_none(ctx, arg)) *op = PTEC_BINARY_DIV;
  else if (ptec_arg_string_equals(ctx, arg, "trunc")) *op = PTEC_BINARY_DIV_TRUNC;
  else if (ptec_arg_string_equals(ctx, arg, "floor")) *op = PTEC_BINARY_DIV_FLOOR;
  else return ptec_kernel_fail(ctx, PTEC_STATUS_NOT_SUPPORTED, "unknown rounding_mode");
  return PTEC_STATUS_OK;
}

/* div.out(Tensor self, Tensor other, *, Tensor(a!) out) */
ptec_status ptec_kernel_div_out(ptec_kernel_context *ctx) {
  const ptec_tensor *a = ptec_arg_tensor(ctx, 0), *b = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  if (ptec_any_complex(a, b, out)) return ptec_complex_binary(ctx, PTEC_BINARY_DIV, a, b, out, 1.0);
  return ptec_binary(ctx, PTEC_BINARY_DIV, a, b, out, 1.0);
}

/* div.Scalar_out(Tensor self, Scalar other, *, Tensor(a!) out) */
ptec_status ptec_kernel_div_scalar_out(ptec_kernel_context *ctx) {
  PTEC_TRY(ptec_refuse_complex_scalar(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 2)));
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return ptec_binary(ctx, PTEC_BINARY_DIV, ptec_arg_tensor(ctx, 0), &other.t,
                     ptec_arg_tensor(ctx, 2), 1.0);
}

/* div.out_mode(Tensor self, Tensor other, *, str? rounding_mode, Tensor(a!) out) */
ptec_status ptec_kernel_div_out_mode(ptec_kernel_context *ctx) {
  ptec_binary_op op = PTEC_BINARY_DIV;
  PTEC_TRY(rounding_op(ctx, 2, &op));
  return ptec_binary(ctx, op, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1),
                     ptec_arg_tensor(ctx, 3), 1.0);
}

/* div.Scalar_mode_out(Tensor self, Scalar other, *, str? rounding_mode, Tensor(a!) out) */
ptec_status ptec_kernel_div_scalar_mode_out(ptec_kernel_context *ctx) {
  ptec_binary_op op = PTEC_BINARY_DIV;
  PTEC_TRY(rounding_op(ctx, 2, &op));
  PTEC_TRY(ptec_refuse_complex_scalar(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 3)));
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return ptec_binary(ctx, op, ptec_arg_tensor(ctx, 0), &other.t, ptec_arg_tensor(ctx, 3), 1.0);
}

/* floor_divide.out(Tensor self, Tensor other, *, Tensor(a!) out) */
ptec_status ptec_kernel_floor_divide_out(ptec_kernel_context *ctx) {
  return ptec_binary(ctx, PTEC_BINARY_DIV_FLOOR, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1),
                     ptec_arg_tensor(ctx, 2), 1.0);
}

/* remainder.Tensor_out(Tensor self, Tensor other, *, Tensor(a!) out) */
ptec_status ptec_kernel_remainder_tensor_out(ptec_kernel_context *ctx) {
  return ptec_binary(ctx, PTEC_BINARY_REMAINDER, ptec_arg_tensor(ctx, 0),
                     ptec_arg_tensor(ctx, 1), ptec_arg_tensor(ctx, 2), 1.0);
}

/* remainder.Scalar_out(Tensor self, Scalar other, *, Tensor(a!) out) */
ptec_status ptec_kernel_remainder_scalar_out(ptec_kernel_context *ctx) {
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return ptec_binary(ctx, PTEC_BINARY_REMAINDER, ptec_arg_tensor(ctx, 0), &other.t,
                     ptec_arg_tensor(ctx, 2), 1.0);
}
