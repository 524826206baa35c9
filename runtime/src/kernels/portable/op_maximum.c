/* maximum and minimum, NaN-propagating like PyTorch. */
#include "kernels/portable/elementwise.h"
#include "kernels/ops_decl.h"

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
