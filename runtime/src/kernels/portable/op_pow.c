/* pow: tensor ** scalar, tensor ** tensor, scalar ** tensor. */
#include "kernels/portable/elementwise.h"
#include "kernels/ops_decl.h"

/* pow.Tensor_Scalar_out(Tensor self, Scalar exponent, *, Tensor(a!) out) */
ptec_status ptec_kernel_pow_tensor_scalar_out(ptec_kernel_context *ctx) {
  ptec_scalar_tensor exponent;
  ptec_scalar_tensor_init(&exponent, ctx, 1);
  return ptec_binary(ctx, PTEC_BINARY_POW, ptec_arg_tensor(ctx, 0), &exponent.t,
                     ptec_arg_tensor(ctx, 2), 1.0);
}

/* pow.Tensor_Tensor_out(Tensor self, Tensor exponent, *, Tensor(a!) out) */
ptec_status ptec_kernel_pow_tensor_tensor_out(ptec_kernel_context *ctx) {
  return ptec_binary(ctx, PTEC_BINARY_POW, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1),
                     ptec_arg_tensor(ctx, 2), 1.0);
}

/* pow.Scalar_out(Scalar self, Tensor exponent, *, Tensor(a!) out) */
ptec_status ptec_kernel_pow_scalar_out(ptec_kernel_context *ctx) {
  ptec_scalar_tensor base;
  ptec_scalar_tensor_init(&base, ctx, 0);
  return ptec_binary(ctx, PTEC_BINARY_POW, &base.t, ptec_arg_tensor(ctx, 1),
                     ptec_arg_tensor(ctx, 2), 1.0);
}
