/* mul: tensor and scalar overloads. */
#include "kernels/portable/complex.h"
#include "kernels/portable/elementwise.h"
#include "kernels/ops_decl.h"

/* mul.out(Tensor self, Tensor other, *, Tensor(a!) out) */
ptec_status ptec_kernel_mul_out(ptec_kernel_context *ctx) {
  const ptec_tensor *a = ptec_arg_tensor(ctx, 0), *b = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  if (ptec_any_complex(a, b, out)) return ptec_complex_binary(ctx, PTEC_BINARY_MUL, a, b, out, 1.0);
  return ptec_binary(ctx, PTEC_BINARY_MUL, a, b, out, 1.0);
}

/* mul.Scalar_out(Tensor self, Scalar other, *, Tensor(a!) out) */
ptec_status ptec_kernel_mul_scalar_out(ptec_kernel_context *ctx) {
  PTEC_TRY(ptec_refuse_complex_scalar(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 2)));
  ptec_scalar_tensor other;
  ptec_scalar_tensor_init(&other, ctx, 1);
  return ptec_binary(ctx, PTEC_BINARY_MUL, ptec_arg_tensor(ctx, 0), &other.t,
                     ptec_arg_tensor(ctx, 2), 1.0);
}
