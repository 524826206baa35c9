#include "kernels/portable/reduce.h"

#include "kernels/portable/common.h"

static ptec_status mark(ptec_kernel_context *ctx, int64_t dim, uint32_t rank,
                        bool mask[PTEC_MAX_RANK]) {
  uint32_t d;
  PTEC_TRY(ptec_normalize_dim(ctx, dim, rank, &d));
  if (rank == 0) return PTEC_STATUS_OK; /* dim 0 / -1 of a 0-d tensor */
  PTEC_CHECK(ctx, !mask[d], PTEC_STATUS_INVALID_ARGUMENT, "dim %u appears more than once",
             (unsigned)d);
  mask[d] = true;
  return PTEC_STATUS_OK;
}

ptec_status ptec_reduce_dims_from_list(ptec_kernel_context *ctx, uint32_t arg, uint32_t rank,
                                       bool mask[PTEC_MAX_RANK]) {
  uint32_t count = 0;
  const int64_t *dims = NULL;
  if (!ptec_arg_is_none(ctx, arg)) dims = ptec_arg_int_list(ctx, arg, &count);
  for (uint32_t d = 0; d < rank; d++) mask[d] = count == 0;
  for (uint32_t k = 0; k < count; k++) PTEC_TRY(mark(ctx, dims[k], rank, mask));
  return PTEC_STATUS_OK;
}

ptec_status ptec_reduce_dims_from_int(ptec_kernel_context *ctx, uint32_t arg, uint32_t rank,
                                      bool mask[PTEC_MAX_RANK]) {
  bool all = ptec_arg_is_none(ctx, arg);
  for (uint32_t d = 0; d < rank; d++) mask[d] = all;
  if (!all) PTEC_TRY(mark(ctx, ptec_arg_int(ctx, arg), rank, mask));
  return PTEC_STATUS_OK;
}

ptec_status ptec_reduce_init(ptec_kernel_context *ctx, ptec_split_iter *s, const ptec_tensor *in,
                             const bool *mask, bool keepdim, const ptec_tensor *out,
                             bool logical) {
  int64_t want[PTEC_MAX_RANK];
  uint32_t n = 0;
  for (uint32_t d = 0; d < in->rank; d++) {
    if (!mask[d]) want[n++] = in->sizes[d];
    else if (keepdim) want[n++] = 1;
  }
  PTEC_TRY(ptec_check_shape(ctx, out, want, n, "out"));

  int64_t strides[2][PTEC_MAX_RANK], out_strides[PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(out, out_strides);
  ptec_tensor_strides(in, strides[1]);
  ptec_tensor_sizes64(in, sizes);
  for (uint32_t d = 0, od = 0; d < in->rank; d++) {
    strides[0][d] = mask[d] ? 0 : out_strides[od];
    if (!mask[d] || keepdim) od++;
  }
  ptec_split_iter_init(s, in->rank, sizes, logical ? NULL : in->dim_order, mask, 2,
                       (const int64_t(*)[PTEC_MAX_RANK])strides);
  return PTEC_STATUS_OK;
}
