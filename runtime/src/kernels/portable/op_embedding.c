/* embedding.out: rows of weight gathered by int32 or int64 indices. */
#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* embedding.out(Tensor weight, Tensor indices, SymInt padding_idx=-1,
 *   bool scale_grad_by_freq=False, bool sparse=False, *, Tensor(a!) out)
 * padding_idx and the two flags only matter for gradients. */
ptec_status ptec_kernel_embedding_out(ptec_kernel_context *ctx) {
  const ptec_tensor *w = ptec_arg_tensor(ctx, 0), *idx = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  PTEC_CHECK(ctx, idx->dtype == PTEC_DTYPE_INT64 || idx->dtype == PTEC_DTYPE_INT32,
             PTEC_STATUS_TYPE_MISMATCH, "indices must be int64 or int32, not %s",
             ptec_dtype_name(idx->dtype));
  PTEC_TRY(ptec_check_same_dtype(ctx, w, out, "weight", "out"));
  PTEC_CHECK(ctx, w->rank == 2, PTEC_STATUS_SHAPE_MISMATCH, "weight must be 2-D");
  PTEC_CHECK(ctx, idx->rank + 1u <= PTEC_MAX_RANK, PTEC_STATUS_NOT_SUPPORTED,
             "indices rank too large");
  int64_t V = w->sizes[0], D = w->sizes[1];
  int64_t want[PTEC_MAX_RANK];
  ptec_tensor_sizes64(idx, want);
  want[idx->rank] = D;
  PTEC_TRY(ptec_check_shape(ctx, out, want, idx->rank + 1u, "out"));

  int64_t strides[2][PTEC_MAX_RANK], os[PTEC_MAX_RANK], ws[PTEC_MAX_RANK];
  ptec_tensor_strides(idx, strides[0]);
  ptec_tensor_strides(out, os);
  ptec_tensor_strides(w, ws);
  for (uint32_t d = 0; d < idx->rank; d++) strides[1][d] = os[d];
  int64_t od = os[idx->rank];
  size_t esize = ptec_dtype_size(w->dtype);
  const char *wd = w->data;
  char *o = out->data;
  ptec_iter it;
  for (ptec_iter_init(&it, idx->rank, want, NULL, 2, (const int64_t(*)[PTEC_MAX_RANK])strides,
                      NULL);
       !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      int64_t row = ptec_load_i64(idx->data, idx->dtype, it.offset[0] + j * it.step[0]);
      PTEC_CHECK(ctx, row >= 0 && row < V, PTEC_STATUS_OUT_OF_RANGE,
                 "index %lld out of range for %lld embeddings", (long long)row, (long long)V);
      const char *src = wd + row * ws[0] * (int64_t)esize;
      char *dst = o + (it.offset[1] + j * it.step[1]) * (int64_t)esize;
      if (ws[1] == 1 && od == 1) {
        memcpy(dst, src, (size_t)D * esize);
      } else {
        for (int64_t k = 0; k < D; k++)
          memcpy(dst + k * od * (int64_t)esize, src + k * ws[1] * (int64_t)esize, esize);
      }
    }
  return PTEC_STATUS_OK;
}
