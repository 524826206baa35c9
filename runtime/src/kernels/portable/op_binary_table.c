/* The binary kernels of binary_ops.def, expanded. */
#include "kernels/portable/common.h"
#include "kernels/portable/elementwise.h"
#include "kernels/ops_decl.h"

#define PTEC_BINARY_TENSOR(kernel, op)                                                     \
  ptec_status kernel(ptec_kernel_context *ctx) {                                          \
    return ptec_binary(ctx, op, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1),         \
                       ptec_arg_tensor(ctx, 2), 1.0);                                     \
  }
#define PTEC_BINARY_SCALAR(kernel, op)                                                     \
  ptec_status kernel(ptec_kernel_context *ctx) {                                          \
    ptec_scalar_tensor other;                                                              \
    ptec_scalar_tensor_init(&other, ctx, 1);                                               \
    return ptec_binary(ctx, op, ptec_arg_tensor(ctx, 0), &other.t, ptec_arg_tensor(ctx, 2), \
                       1.0);                                                               \
  }

#include "kernels/portable/binary_ops.def"
