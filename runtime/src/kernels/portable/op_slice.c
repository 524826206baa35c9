/* Indexing copies: slice_copy, select_copy, index_select, gather. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* slice_copy.Tensor_out(Tensor self, int dim=0, SymInt? start=None, SymInt? end=None,
 *   SymInt step=1, *, Tensor(a!) out): start/end clamped like PyTorch. */
ptec_status ptec_kernel_slice_copy_tensor_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  ptec_slice sl;
  PTEC_TRY(ptec_slice_args(ctx, in, 1, 2, &sl));
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, sizes);
  sizes[sl.dim] = sl.length;
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, in->rank, "out"));
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, in);
  src.base = sl.start * src.strides[sl.dim];
  src.strides[sl.dim] *= sl.step;
  ptec_copy_block(&dst, &src, out->rank, sizes, out->dim_order);
  return PTEC_STATUS_OK;
}

/* select_copy.int_out(Tensor self, int dim, SymInt index, *, Tensor(a!) out) */
ptec_status ptec_kernel_select_copy_int_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  uint32_t dim;
  int64_t index;
  PTEC_TRY(ptec_select_args(ctx, in, 1, 2, &dim, &index));
  int64_t sizes[PTEC_MAX_RANK];
  for (uint32_t d = 0, k = 0; d < in->rank; d++)
    if (d != dim) sizes[k++] = in->sizes[d];
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_at(&src, in, dim, index);
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, in->rank - 1u, "out"));
  ptec_copy_block(&dst, &src, out->rank, sizes, out->dim_order);
  return PTEC_STATUS_OK;
}

static ptec_status check_index_dtype(ptec_kernel_context *ctx, const ptec_tensor *index) {
  PTEC_CHECK(ctx, index->dtype == PTEC_DTYPE_INT64 || index->dtype == PTEC_DTYPE_INT32,
             PTEC_STATUS_TYPE_MISMATCH, "index must be int64 or int32, not %s",
             ptec_dtype_name(index->dtype));
  return PTEC_STATUS_OK;
}

/* index_select.out(Tensor self, int dim, Tensor index, *, Tensor(a!) out) */
ptec_status ptec_kernel_index_select_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0), *index = ptec_arg_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  PTEC_TRY(check_index_dtype(ctx, index));
  PTEC_CHECK(ctx, index->rank <= 1, PTEC_STATUS_SHAPE_MISMATCH, "index must be 0-d or 1-D");
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, sizes);
  int64_t n = (int64_t)index->numel, size = in->rank ? in->sizes[dim] : 1;
  if (in->rank) sizes[dim] = n;
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, in->rank, "out"));
  int64_t istride = 1;
  if (index->rank) {
    int64_t s[PTEC_MAX_RANK];
    ptec_tensor_strides(index, s);
    istride = s[0];
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t k = ptec_load_i64(index->data, index->dtype, i * istride);
    PTEC_CHECK(ctx, k >= 0 && k < size, PTEC_STATUS_OUT_OF_RANGE,
               "index %lld out of range for dim %u of size %lld", (long long)k, (unsigned)dim,
               (long long)size);
  }
  if (in->rank) sizes[dim] = 1;
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, in);
  for (int64_t i = 0; i < n; i++) {
    int64_t k = ptec_load_i64(index->data, index->dtype, i * istride);
    dst.base = in->rank ? i * dst.strides[dim] : 0;
    src.base = in->rank ? k * src.strides[dim] : 0;
    ptec_copy_block(&dst, &src, in->rank, sizes, out->dim_order);
  }
  return PTEC_STATUS_OK;
}

/* gather.out(Tensor self, int dim, Tensor index, *, bool sparse_grad=False,
 *   Tensor(a!) out): out[i][j] = self[index[i][j]][j] for dim 0, etc. */
ptec_status ptec_kernel_gather_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0), *index = ptec_arg_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  PTEC_TRY(check_index_dtype(ctx, index));
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));
  PTEC_CHECK(ctx, index->rank == in->rank || (index->rank <= 1 && in->rank <= 1),
             PTEC_STATUS_SHAPE_MISMATCH, "index must have the rank of self");
  for (uint32_t d = 0; d < index->rank && in->rank; d++)
    PTEC_CHECK(ctx, d == dim || index->sizes[d] <= in->sizes[d], PTEC_STATUS_SHAPE_MISMATCH,
               "index is larger than self in dim %u", (unsigned)d);
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(index, sizes);
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, index->rank, "out"));

  int64_t strides[3][PTEC_MAX_RANK], in_strides[PTEC_MAX_RANK];
  ptec_tensor_strides(out, strides[0]);
  ptec_tensor_strides(index, strides[1]);
  ptec_tensor_strides(in, in_strides);
  for (uint32_t d = 0; d < index->rank; d++)
    strides[2][d] = d == dim || in->rank == 0 ? 0 : in_strides[d];
  int64_t size = in->rank ? in->sizes[dim] : 1, dim_stride = in->rank ? in_strides[dim] : 0;
  size_t esize = ptec_dtype_size(in->dtype);
  ptec_iter it;
  for (ptec_iter_init(&it, index->rank, sizes, out->dim_order, 3,
                      (const int64_t(*)[PTEC_MAX_RANK])strides, NULL);
       !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      int64_t k = ptec_load_i64(index->data, index->dtype, it.offset[1] + j * it.step[1]);
      PTEC_CHECK(ctx, k >= 0 && k < size, PTEC_STATUS_OUT_OF_RANGE,
                 "index %lld out of range for dim %u of size %lld", (long long)k, (unsigned)dim,
                 (long long)size);
      int64_t src = it.offset[2] + j * it.step[2] + k * dim_stride;
      const char *s = (const char *)in->data + src * (int64_t)esize;
      char *o = (char *)out->data + (it.offset[0] + j * it.step[0]) * (int64_t)esize;
      for (size_t b = 0; b < esize; b++) o[b] = s[b];
    }
  return PTEC_STATUS_OK;
}
