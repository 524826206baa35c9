/* add, sub and rsub: tensor and scalar overloads, with alpha. */
#include "kernels/portable/common.h"
#include "kernels/portable/elementwise.h"
#include "kernels/ops_decl.h"

/* PyTorch refuses a float alpha when the result is integral. */
static ptec_status add_like(ptec_kernel_context *ctx, ptec_binary_op op, const ptec_tensor *a,
                            const ptec_tensor *b, uint32_t alpha_arg, ptec_tensor *out) {
  PTEC_CHECK(ctx, out->dtype == PTEC_DTYPE_FLOAT32 || ptec_arg_scalar_is_integral(ctx, alpha_arg),
             PTEC_STATUS_TYPE_MISMATCH, "alpha must be an integer for a %s out",
             ptec_dtype_name(out->dtype));
  return ptec_binary(ctx, op, a, b, out, ptec_arg_double(ctx, alpha_arg));
}

/* add.out(Tensor self, Tensor other, *, Scalar alpha=1, Tensor(a!) out) */
ptec_status ptec_kernel_add_out(ptec_kernel_context *ctx) {
  return add_like(ctx, PTEC_BINARY_ADD, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), 2,
                  ptec_arg_tensor(ctx, 3));
}

/* add.Scalar_out(Tensor self, Scalar other, Scalar alpha=1, *, Tensor(a!) out) */
ptec_status ptec_kernel_add_scalar_out(ptec_kernel_context *ctx) {
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
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return add_like(ctx, PTEC_BINARY_SUB, ptec_arg_tensor(ctx, 0), &other.t, 2,
                  ptec_arg_tensor(ctx, 3));
}

/* rsub.Scalar_out(Tensor self, Scalar other, Scalar alpha=1, *, Tensor(a!) out):
 * other - alpha * self. */
ptec_status ptec_kernel_rsub_scalar_out(ptec_kernel_context *ctx) {
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return add_like(ctx, PTEC_BINARY_SUB, &other.t, ptec_arg_tensor(ctx, 0), 2,
                  ptec_arg_tensor(ctx, 3));
}
