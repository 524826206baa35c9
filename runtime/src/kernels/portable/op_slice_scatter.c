/* slice_scatter and select_scatter: out = self with a slice (or one index
 * along dim) replaced by src. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/ops_decl.h"

/* Copies self to out and checks src has `sizes` (the replaced block's). */
static ptec_status start_scatter(ptec_kernel_context *ctx, const ptec_tensor *self,
                                 const ptec_tensor *src, ptec_tensor *out, const int64_t *sizes,
                                 uint32_t rank) {
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  PTEC_TRY(ptec_check_shape(ctx, src, sizes, rank, "src"));
  return ptec_copy_tensor(ctx, out, self);
}

/* slice_scatter.out(Tensor self, Tensor src, int dim=0, SymInt? start=None,
 *   SymInt? end=None, SymInt step=1, *, Tensor(a!) out) */
ptec_status ptec_kernel_slice_scatter_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *src = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 6);
  ptec_slice sl;
  PTEC_TRY(ptec_slice_args(ctx, self, 2, 3, &sl));
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(self, sizes);
  sizes[sl.dim] = sl.length;
  PTEC_TRY(start_scatter(ctx, self, src, out, sizes, self->rank));
  ptec_block dst, s;
  ptec_block_of(&dst, out);
  ptec_block_of(&s, src);
  dst.base = sl.start * dst.strides[sl.dim];
  dst.strides[sl.dim] *= sl.step;
  ptec_copy_block(&dst, &s, self->rank, sizes, NULL);
  return PTEC_STATUS_OK;
}

/* select_scatter.out(Tensor self, Tensor src, int dim, SymInt index, *, Tensor(a!) out) */
ptec_status ptec_kernel_select_scatter_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *src = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  uint32_t dim;
  int64_t index;
  PTEC_TRY(ptec_select_args(ctx, self, 2, 3, &dim, &index));
  int64_t sizes[PTEC_MAX_RANK];
  for (uint32_t d = 0, k = 0; d < self->rank; d++)
    if (d != dim) sizes[k++] = self->sizes[d];
  ptec_block dst, s;
  ptec_block_at(&dst, out, dim, index);
  ptec_block_of(&s, src);
  PTEC_TRY(start_scatter(ctx, self, src, out, sizes, self->rank - 1u));
  ptec_copy_block(&dst, &s, self->rank - 1u, sizes, NULL);
  return PTEC_STATUS_OK;
}
