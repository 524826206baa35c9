/* Copies between dtypes and dim orders: clone, _to_copy, copy, and
 * ExecuTorch's dim order ops. out's dtype and dim order say what to make. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* A `int[]? dim_order` argument, when given, must be out's dim order. */
static ptec_status check_dim_order_arg(ptec_kernel_context *ctx, uint32_t arg,
                                       const ptec_tensor *out) {
  if (ptec_arg_is_none(ctx, arg)) return PTEC_STATUS_OK;
  uint32_t count;
  const int64_t *order = ptec_arg_int_list(ctx, arg, &count);
  bool ok = count == out->rank;
  for (uint32_t k = 0; ok && k < count; k++) ok = order[k] == out->dim_order[k];
  PTEC_CHECK(ctx, ok, PTEC_STATUS_INVALID_ARGUMENT,
             "dim_order argument differs from out's dim order");
  return PTEC_STATUS_OK;
}

/* clone.out(Tensor self, *, MemoryFormat? memory_format=None, Tensor(a!) out) */
ptec_status ptec_kernel_clone_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  return ptec_copy_tensor(ctx, out, in);
}

/* _to_copy.out(Tensor self, *, bool non_blocking=False, MemoryFormat? memory_format=None,
 *   Tensor(a!) out) */
ptec_status ptec_kernel_to_copy_out(ptec_kernel_context *ctx) {
  return ptec_copy_tensor(ctx, ptec_arg_tensor(ctx, 3), ptec_arg_tensor(ctx, 0));
}

/* dim_order_ops::_clone_dim_order.out(Tensor self, *, bool non_blocking=False,
 *   int[]? dim_order=None, Tensor(a!) out) */
ptec_status ptec_kernel_clone_dim_order_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  PTEC_TRY(check_dim_order_arg(ctx, 2, out));
  return ptec_copy_tensor(ctx, out, in);
}

/* dim_order_ops::_empty_dim_order.out(int[] size, *, int[]? dim_order=None,
 *   Tensor(a!) out): ExecuTorch's empty; the contents are undefined. */
ptec_status ptec_kernel_empty_dim_order_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  uint32_t rank;
  const int64_t *size = ptec_arg_int_list(ctx, 0, &rank);
  PTEC_TRY(ptec_check_shape(ctx, out, size, rank, "out"));
  return check_dim_order_arg(ctx, 1, out);
}

/* dim_order_ops::_to_dim_order_copy.out(Tensor self, *, bool non_blocking=False,
 *   int[]? dim_order=None, Tensor(a!) out) */
ptec_status ptec_kernel_to_dim_order_copy_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(check_dim_order_arg(ctx, 2, out));
  return ptec_copy_tensor(ctx, out, ptec_arg_tensor(ctx, 0));
}

/* copy.out(Tensor self, Tensor src, bool non_blocking=False, *, Tensor(a!) out):
 * out has self's shape and takes src's values, broadcast and converted. */
static ptec_status copy_into(ptec_kernel_context *ctx, ptec_tensor *out) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *src_t = ptec_arg_tensor(ctx, 1);
  PTEC_TRY(ptec_check_same_shape(ctx, self, out, "self", "out"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(src_t->dtype) && ptec_dtype_is_supported(out->dtype),
             PTEC_STATUS_NOT_SUPPORTED, "copy from %s to %s not supported",
             ptec_dtype_name(src_t->dtype), ptec_dtype_name(out->dtype));
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(out, sizes);
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, src_t);
  PTEC_CHECK(ctx, ptec_broadcast_strides(src_t, out->rank, sizes, src.strides),
             PTEC_STATUS_SHAPE_MISMATCH, "src does not broadcast to self's shape");
  ptec_copy_block(&dst, &src, out->rank, sizes, out->dim_order);
  return PTEC_STATUS_OK;
}

ptec_status ptec_kernel_copy_out(ptec_kernel_context *ctx) {
  return copy_into(ctx, ptec_arg_tensor(ctx, 3));
}

/* copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!): in place. */
ptec_status ptec_kernel_copy_(ptec_kernel_context *ctx) {
  return copy_into(ctx, ptec_arg_tensor(ctx, 0));
}

/* alias_copy.out / detach_copy.out(Tensor self, *, Tensor(a!) out): plain
 * copies (what an alias or detach becomes once views are copies). */
ptec_status ptec_kernel_alias_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  return ptec_copy_tensor(ctx, out, in);
}

ptec_status ptec_kernel_detach_copy_out(ptec_kernel_context *ctx) {
  return ptec_kernel_alias_copy_out(ctx);
}
