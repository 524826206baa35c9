/* add, sub and rsub: tensor and scalar overloads, with alpha. */
#include <float.h>
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/complex.h"
#include "kernels/portable/elementwise.h"
#include "kernels/portable/half.h"
#include "kernels/ops_decl.h"

/* PyTorch refuses a float alpha when the result is integral. For a float16 / bfloat16
 * out it rounds alpha to that type first, as PyTorch does; then a + alpha * b in float32,
 * rounded once. PyTorch's vectorised loop does the same, but its scalar tail (the last
 * n % vector-width elements, or all of a short tensor) rounds alpha * b to the half type
 * before adding: up to 2 ulps apart near zero, where a and alpha * b cancel. Which
 * elements take the tail depends on the host's vector width, so ptec does not imitate it;
 * test_add_sub_fractional_alpha_half states the 2-ulp tolerance. */
static ptec_status add_like(ptec_kernel_context *ctx, ptec_binary_op op, const ptec_tensor *a,
                            const ptec_tensor *b, uint32_t alpha_arg, ptec_tensor *out) {
  if (ptec_any_complex(a, b, out))
    return ptec_complex_binary(ctx, op, a, b, out, ptec_arg_double(ctx, alpha_arg));
  bool half = ptec_dtype_is_half(out->dtype);
  PTEC_CHECK(ctx, out->dtype == PTEC_DTYPE_FLOAT32 || half ||
                      ptec_arg_scalar_is_integral(ctx, alpha_arg),
             PTEC_STATUS_TYPE_MISMATCH, "alpha must be an integer for a %s out",
             ptec_dtype_name(out->dtype));
  double alpha = ptec_arg_double(ctx, alpha_arg);
  if (half) { /* beyond float's range the double-to-float conversion is undefined */
    float f = isnan(alpha) || fabs(alpha) <= FLT_MAX ? (float)alpha
              : alpha > 0                               ? INFINITY
                                                        : -INFINITY;
    alpha = ptec_half_round(f, out->dtype == PTEC_DTYPE_BFLOAT16);
  }
  return ptec_binary(ctx, op, a, b, out, alpha);
}

/* add.out(Tensor self, Tensor other, *, Scalar alpha=1, Tensor(a!) out) */
ptec_status ptec_kernel_add_out(ptec_kernel_context *ctx) {
  return add_like(ctx, PTEC_BINARY_ADD, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), 2,
                  ptec_arg_tensor(ctx, 3));
}

/* add.Scalar_out(Tensor self, Scalar other, Scalar alpha=1, *, Tensor(a!) out) */
ptec_status ptec_kernel_add_scalar_out(ptec_kernel_context *ctx) {
  PTEC_TRY(ptec_refuse_complex_scalar(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 3)));
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return add_like(ctx, PTEC_BINARY_ADD, ptec_arg_tensor(ctx, 0), &other.t, 2,
                  ptec_arg_tensor(ctx, 3));
}

/* sub.out(Tensor self, Tensor other, *, Scalar alpha=1, Tensor(a!) out) */
ptec_status ptec_kernel_sub_out(ptec_kernel_context *ctx) {
  return add_like(ctx, PTEC_BINARY_SUB, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), 2,
                  ptec_arg_tensor(ctx, 3));
}

/* sub.Scalar_out(Tensor self, Scalar other, Scalar alpha=1, *, Tensor(a!) out) */
ptec_status ptec_kernel_sub_scalar_out(ptec_kernel_context *ctx) {
  PTEC_TRY(ptec_refuse_complex_scalar(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 3)));
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return add_like(ctx, PTEC_BINARY_SUB, ptec_arg_tensor(ctx, 0), &other.t, 2,
                  ptec_arg_tensor(ctx, 3));
}

/* rsub.Scalar_out(Tensor self, Scalar other, Scalar alpha=1, *, Tensor(a!) out):
 * other - alpha * self. */
ptec_status ptec_kernel_rsub_scalar_out(ptec_kernel_context *ctx) {
  PTEC_TRY(ptec_refuse_complex_scalar(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 3)));
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return add_like(ctx, PTEC_BINARY_SUB, &other.t, ptec_arg_tensor(ctx, 0), 2,
                  ptec_arg_tensor(ctx, 3));
}
