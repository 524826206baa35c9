/* maximum, minimum (NaN-propagating) and pow.Tensor_Scalar_out. */
#include "kernels/portable/elementwise.h"
#include "kernels/portable/ops_decl.h"

/* maximum.out(Tensor self, Tensor other, *, Tensor(a!) out) */
ptec_status ptec_kernel_maximum_out(ptec_kernel_context *ctx) {
  return ptec_binary(ctx, PTEC_BINARY_MAXIMUM, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1),
                     ptec_arg_tensor(ctx, 2), 1.0);
}

/* minimum.out(Tensor self, Tensor other, *, Tensor(a!) out) */
ptec_status ptec_kernel_minimum_out(ptec_kernel_context *ctx) {
  return ptec_binary(ctx, PTEC_BINARY_MINIMUM, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1),
                     ptec_arg_tensor(ctx, 2), 1.0);
}

/* pow.Tensor_Scalar_out(Tensor self, Scalar exponent, *, Tensor(a!) out) */
ptec_status ptec_kernel_pow_tensor_scalar_out(ptec_kernel_context *ctx) {
  ptec_scalar_tensor exponent;
  ptec_scalar_tensor_init(&exponent, ctx, 1);
  return ptec_binary(ctx, PTEC_BINARY_POW, ptec_arg_tensor(ctx, 0), &exponent.t,
                     ptec_arg_tensor(ctx, 2), 1.0);
}
