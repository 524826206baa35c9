/* scatter (src and value) and scatter_add: out = self, then for each
 * position p of index, out[p with p[dim] = index[p]] = src[p] (or value,
 * or += src[p]). */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/portable/elementwise.h"
#include "kernels/portable/index.h"
#include "kernels/ops_decl.h"

typedef enum { SCATTER_SRC, SCATTER_VALUE, SCATTER_ADD } scatter_mode;

static ptec_status scatter(ptec_kernel_context *ctx, scatter_mode mode) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *index = ptec_arg_tensor(ctx, 2);
  const ptec_tensor *src = mode == SCATTER_VALUE ? NULL : ptec_arg_tensor(ctx, 3);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(self->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(self->dtype));
  PTEC_CHECK(ctx, index->dtype == PTEC_DTYPE_INT64 || index->dtype == PTEC_DTYPE_INT32,
             PTEC_STATUS_TYPE_MISMATCH, "index must be int64 or int32, not %s",
             ptec_dtype_name(index->dtype));
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), self->rank ? self->rank : 1, &dim));
  PTEC_CHECK(ctx, index->rank == self->rank, PTEC_STATUS_SHAPE_MISMATCH,
             "index must have the rank of self");
  if (src != NULL) {
    PTEC_TRY(ptec_check_same_dtype(ctx, self, src, "self", "src"));
    PTEC_CHECK(ctx, src->rank == self->rank, PTEC_STATUS_SHAPE_MISMATCH,
               "src must have the rank of self");
  }
  for (uint32_t d = 0; d < index->rank; d++) {
    PTEC_CHECK(ctx, d == dim || index->sizes[d] <= self->sizes[d], PTEC_STATUS_SHAPE_MISMATCH,
               "index is larger than self in dim %u", (unsigned)d);
    PTEC_CHECK(ctx, src == NULL || index->sizes[d] <= src->sizes[d], PTEC_STATUS_SHAPE_MISMATCH,
               "index is larger than src in dim %u", (unsigned)d);
  }
  PTEC_TRY(ptec_copy_tensor(ctx, out, self));
  if (index->numel == 0) return PTEC_STATUS_OK;
  int64_t os[PTEC_MAX_RANK], is[PTEC_MAX_RANK], ss[PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  int64_t pos[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(out, os);
  ptec_tensor_strides(index, is);
  if (src != NULL) ptec_tensor_strides(src, ss);
  ptec_tensor_sizes64(index, sizes);
  int64_t size = self->rank ? self->sizes[dim] : 1;
  ptec_scalar_tensor value; /* the Scalar of scatter.value, as a 0-d tensor */
  if (mode == SCATTER_VALUE) ptec_scalar_tensor_init(&value, ctx, 3);
  do {
    int64_t io = 0, so = 0, oo = 0;
    for (uint32_t d = 0; d < index->rank; d++) {
      io += pos[d] * is[d];
      if (src != NULL) so += pos[d] * ss[d];
      if (d != dim) oo += pos[d] * os[d];
    }
    int64_t k = ptec_load_i64(index->data, index->dtype, io);
    PTEC_CHECK(ctx, k >= -size && k < size, PTEC_STATUS_OUT_OF_RANGE,
               "index %lld out of range for dim %u of size %lld", (long long)k, (unsigned)dim,
               (long long)size);
    if (self->rank) oo += (k < 0 ? k + size : k) * os[dim];
    if (mode == SCATTER_VALUE) {
      ptec_convert_element(out->data, out->dtype, oo, value.t.data, value.t.dtype, 0);
    } else if (mode == SCATTER_SRC) {
      ptec_convert_element(out->data, out->dtype, oo, src->data, src->dtype, so);
    } else {
      ptec_accumulate_element(out, oo, src, so);
    }
  } while (ptec_index_next(pos, sizes, index->rank));
  return PTEC_STATUS_OK;
}

/* scatter.src_out(Tensor self, int dim, Tensor index, Tensor src, *, Tensor(a!) out) */
ptec_status ptec_kernel_scatter_src_out(ptec_kernel_context *ctx) {
  return scatter(ctx, SCATTER_SRC);
}
/* scatter.value_out(Tensor self, int dim, Tensor index, Scalar value, *, Tensor(a!) out) */
ptec_status ptec_kernel_scatter_value_out(ptec_kernel_context *ctx) {
  return scatter(ctx, SCATTER_VALUE);
}
/* scatter_add.out(Tensor self, int dim, Tensor index, Tensor src, *, Tensor(a!) out) */
ptec_status ptec_kernel_scatter_add_out(ptec_kernel_context *ctx) {
  return scatter(ctx, SCATTER_ADD);
}
