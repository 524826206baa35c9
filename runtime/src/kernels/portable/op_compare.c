/* eq, ne, lt, le, gt, ge (tensor and scalar overloads) and the logical ops. */
#include "kernels/portable/common.h"
#include "kernels/portable/elementwise.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* <op>.Tensor_out(Tensor self, Tensor other, *, Tensor(a!) out) and
 * <op>.Scalar_out(Tensor self, Scalar other, *, Tensor(a!) out). */
#define COMPARE_KERNELS(name, op)                                                          \
  ptec_status ptec_kernel_##name##_tensor_out(ptec_kernel_context *ctx) {                 \
    return ptec_binary(ctx, op, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1),         \
                       ptec_arg_tensor(ctx, 2), 1.0);                                     \
  }                                                                                        \
  ptec_status ptec_kernel_##name##_scalar_out(ptec_kernel_context *ctx) {                 \
    ptec_scalar_tensor other;                                                              \
    ptec_scalar_tensor_init(&other, ctx, 1);                                               \
    return ptec_binary(ctx, op, ptec_arg_tensor(ctx, 0), &other.t, ptec_arg_tensor(ctx, 2), \
                       1.0);                                                               \
  }

COMPARE_KERNELS(eq, PTEC_BINARY_EQ)
COMPARE_KERNELS(ne, PTEC_BINARY_NE)
COMPARE_KERNELS(lt, PTEC_BINARY_LT)
COMPARE_KERNELS(le, PTEC_BINARY_LE)
COMPARE_KERNELS(gt, PTEC_BINARY_GT)
COMPARE_KERNELS(ge, PTEC_BINARY_GE)

/* logical_and.out / logical_or.out / logical_xor.out(Tensor self, Tensor other, *,
 *   Tensor(a!) out) */
ptec_status ptec_kernel_logical_and_out(ptec_kernel_context *ctx) {
  return ptec_binary(ctx, PTEC_BINARY_LOGICAL_AND, ptec_arg_tensor(ctx, 0),
                     ptec_arg_tensor(ctx, 1), ptec_arg_tensor(ctx, 2), 1.0);
}
ptec_status ptec_kernel_logical_or_out(ptec_kernel_context *ctx) {
  return ptec_binary(ctx, PTEC_BINARY_LOGICAL_OR, ptec_arg_tensor(ctx, 0),
                     ptec_arg_tensor(ctx, 1), ptec_arg_tensor(ctx, 2), 1.0);
}
ptec_status ptec_kernel_logical_xor_out(ptec_kernel_context *ctx) {
  return ptec_binary(ctx, PTEC_BINARY_LOGICAL_XOR, ptec_arg_tensor(ctx, 0),
                     ptec_arg_tensor(ctx, 1), ptec_arg_tensor(ctx, 2), 1.0);
}

/* logical_not.out(Tensor self, *, Tensor(a!) out): any dtype in, any out. */
ptec_status ptec_kernel_logical_not_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype) && ptec_dtype_is_supported(out->dtype),
             PTEC_STATUS_NOT_SUPPORTED, "dtypes %s -> %s not supported",
             ptec_dtype_name(in->dtype), ptec_dtype_name(out->dtype));
  const ptec_tensor *inputs[1] = {in};
  ptec_iter it;
  PTEC_TRY(ptec_iter_broadcast(ctx, &it, out, inputs, 1)); /* out must have in's shape */
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      /* Loading as float keeps NaN (true) and any nonzero integer nonzero. */
      float x = ptec_load_f32(in->data, in->dtype, it.offset[1] + j * it.step[1]);
      ptec_store_i64(out->data, out->dtype, it.offset[0] + j * it.step[0], x == 0.0f);
    }
  return PTEC_STATUS_OK;
}
