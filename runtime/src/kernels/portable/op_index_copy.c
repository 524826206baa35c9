/* index_copy.out(Tensor self, int dim, Tensor index, Tensor source, *,
 *   Tensor(a!) out): out = self, then out.select(dim, index[k]) = source.select(dim, k).
 *
 * A KV cache update: ptec's compiler gives `out` the cache itself (the state
 * a decode step writes), so only the new rows are written; the copy of self
 * happens only when out is another tensor. Indices in [0, size) as in
 * PyTorch (no negative ones); repeated ones: the last wins (PyTorch leaves
 * the order undefined). */
#include <string.h>

#include "kernels/ops_decl.h"
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/portable/index.h"

ptec_status ptec_kernel_index_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *index = ptec_arg_tensor(ctx, 2);
  const ptec_tensor *source = ptec_arg_tensor(ctx, 3);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  uint32_t dim;
  PTEC_CHECK(ctx, self->rank >= 1, PTEC_STATUS_SHAPE_MISMATCH, "self must have a dim");
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), self->rank, &dim));
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  PTEC_TRY(ptec_check_same_dtype(ctx, self, source, "self", "source"));
  PTEC_TRY(ptec_check_same_shape(ctx, self, out, "self", "out"));
  PTEC_CHECK(ctx, index->dtype == PTEC_DTYPE_INT64 || index->dtype == PTEC_DTYPE_INT32,
             PTEC_STATUS_TYPE_MISMATCH, "index must be int64 or int32, not %s",
             ptec_dtype_name(index->dtype));
  PTEC_CHECK(ctx, index->rank <= 1, PTEC_STATUS_SHAPE_MISMATCH, "index must be 0-d or 1-d");
  int64_t want[PTEC_MAX_RANK];
  ptec_tensor_sizes64(self, want);
  want[dim] = (int64_t)index->numel;
  PTEC_TRY(ptec_check_shape(ctx, source, want, self->rank, "source"));
  if (out->data != self->data) PTEC_TRY(ptec_copy_tensor(ctx, out, self));
  int64_t os[PTEC_MAX_RANK], ss[PTEC_MAX_RANK], pos[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(out, os);
  ptec_tensor_strides(source, ss);
  size_t esize = ptec_dtype_size(out->dtype);
  int64_t limit = out->sizes[dim];
  for (size_t k = 0; k < index->numel; k++) {
    int64_t p = ptec_load_i64(index->data, index->dtype, (int64_t)k);
    PTEC_CHECK(ctx, p >= 0 && p < limit, PTEC_STATUS_OUT_OF_RANGE,
               "index %lld is out of range for dim %u of size %lld", (long long)p, dim,
               (long long)limit);
  }
  if (source->numel == 0) return PTEC_STATUS_OK;
  /* Every element of source to its place in out: whole rows of the last dim
   * when both are dense there and the rows are not what index picks. */
  uint32_t last = self->rank - 1;
  bool rows = dim != last && os[last] == 1 && ss[last] == 1;
  uint32_t walked = rows ? last : self->rank;
  size_t run = (size_t)(rows ? want[last] : 1) * esize;
  char *dst = (char *)out->data;
  const char *src = (const char *)source->data;
  do {
    int64_t p = ptec_load_i64(index->data, index->dtype, pos[dim]);
    int64_t s = 0, d = 0;
    for (uint32_t a = 0; a < walked; a++) {
      s += pos[a] * ss[a];
      d += (a == dim ? p : pos[a]) * os[a];
    }
    memcpy(dst + (size_t)d * esize, src + (size_t)s * esize, run);
  } while (ptec_index_next(pos, want, walked));
  return PTEC_STATUS_OK;
}
