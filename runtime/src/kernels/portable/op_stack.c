/* stack and unbind_copy: each tensor is one index along a new (or removed) dim. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/ops_decl.h"

/* stack.out(Tensor[] tensors, int dim=0, *, Tensor(a!) out) */
ptec_status ptec_kernel_stack_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  uint32_t n = ptec_arg(ctx, 0)->count;
  PTEC_CHECK(ctx, n > 0, PTEC_STATUS_INVALID_ARGUMENT, "stack of no tensors");
  const ptec_tensor *first = ptec_arg_tensor_list_item(ctx, 0, 0);
  PTEC_CHECK(ctx, first != NULL && first->rank < PTEC_MAX_RANK, PTEC_STATUS_SHAPE_MISMATCH,
             "tensors[0] cannot be stacked");
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), first->rank + 1u, &dim));
  int64_t sizes[PTEC_MAX_RANK], inner[PTEC_MAX_RANK];
  ptec_tensor_sizes64(first, inner);
  for (uint32_t d = 0, j = 0; d <= first->rank; d++) sizes[d] = d == dim ? n : inner[j++];
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, first->rank + 1u, "out"));
  for (uint32_t k = 0; k < n; k++) {
    const ptec_tensor *t = ptec_arg_tensor_list_item(ctx, 0, k);
    PTEC_CHECK(ctx, t != NULL, PTEC_STATUS_TYPE_MISMATCH, "tensors[%u] is not a tensor",
               (unsigned)k);
    PTEC_TRY(ptec_check_shape(ctx, t, inner, first->rank, "tensors[k]"));
    PTEC_CHECK(ctx, ptec_dtype_is_supported(t->dtype) && ptec_dtype_is_supported(out->dtype),
               PTEC_STATUS_NOT_SUPPORTED, "dtype %s not supported", ptec_dtype_name(t->dtype));
    ptec_block dst, src;
    ptec_block_at(&dst, out, dim, k);
    ptec_block_of(&src, t);
    ptec_copy_block(&dst, &src, first->rank, inner, NULL);
  }
  return PTEC_STATUS_OK;
}

/* unbind_copy.int_out(Tensor self, int dim=0, *, Tensor(a!)[] out) -> () */
ptec_status ptec_kernel_unbind_copy_int_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, in->rank > 0, PTEC_STATUS_SHAPE_MISMATCH, "cannot unbind a 0-d tensor");
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));
  uint32_t n = ptec_arg(ctx, 2)->count;
  PTEC_CHECK(ctx, n == (uint32_t)in->sizes[dim], PTEC_STATUS_SHAPE_MISMATCH,
             "%u outs for a dim of size %d", (unsigned)n, (int)in->sizes[dim]);
  int64_t sizes[PTEC_MAX_RANK];
  for (uint32_t d = 0, j = 0; d < in->rank; d++)
    if (d != dim) sizes[j++] = in->sizes[d];
  for (uint32_t k = 0; k < n; k++) {
    ptec_tensor *o = ptec_arg_tensor_list_item(ctx, 2, k);
    PTEC_CHECK(ctx, o != NULL, PTEC_STATUS_TYPE_MISMATCH, "out[%u] is not a tensor", (unsigned)k);
    PTEC_TRY(ptec_check_same_dtype(ctx, in, o, "self", "out"));
    PTEC_TRY(ptec_check_shape(ctx, o, sizes, in->rank - 1u, "out[k]"));
    ptec_block dst, src;
    ptec_block_of(&dst, o);
    ptec_block_at(&src, in, dim, k);
    ptec_copy_block(&dst, &src, in->rank - 1u, sizes, o->dim_order);
  }
  return PTEC_STATUS_OK;
}
