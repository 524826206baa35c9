/* nonzero: the indices of the non-zero elements, one row each in row-major
 * order, into a DYNAMIC_BOUND out of [numel, rank] planned (resize.h). */
#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/index.h"
#include "kernels/portable/resize.h"
#include "kernels/ops_decl.h"

/* Element i is non-zero: compared in its own type (a float64 of 1e-300 is
 * not zero; a half is zero when all bits but the sign are; NaN is not). */
static bool is_nonzero(const ptec_tensor *t, int64_t i) {
  switch (t->dtype) {
    case PTEC_DTYPE_FLOAT64: return ((const double *)t->data)[i] != 0.0;
    case PTEC_DTYPE_FLOAT32: return ((const float *)t->data)[i] != 0.0f;
    case PTEC_DTYPE_FLOAT16:
    case PTEC_DTYPE_BFLOAT16: return (((const uint16_t *)t->data)[i] & 0x7fffu) != 0;
    default: return ptec_load_i64(t->data, t->dtype, i) != 0;
  }
}

/* nonzero.out(Tensor self, *, Tensor(a!) out) */
ptec_status ptec_kernel_nonzero_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_CHECK(ctx, ptec_dtype_is_supported(self->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(self->dtype));
  PTEC_TRY(ptec_check_dtype(ctx, out, PTEC_DTYPE_INT64, "out"));
  int64_t sizes[PTEC_MAX_RANK], strides[PTEC_MAX_RANK], pos[PTEC_MAX_RANK] = {0};
  ptec_tensor_sizes64(self, sizes);
  ptec_tensor_strides(self, strides);
  uint32_t rank = self->rank;
  /* Count first: out's shape (and its bound check) comes before any write. */
  int64_t count = 0;
  if (self->numel > 0) {
    do {
      int64_t at = 0;
      for (uint32_t d = 0; d < rank; d++) at += pos[d] * strides[d];
      count += is_nonzero(self, at);
    } while (ptec_index_next(pos, sizes, rank));
  }
  const int64_t shape[2] = {count, rank};
  PTEC_TRY(ptec_tensor_resize(ctx, out, shape, 2, "out"));
  if (count == 0 || rank == 0) return PTEC_STATUS_OK;
  int64_t out_strides[PTEC_MAX_RANK], row = 0;
  ptec_tensor_strides(out, out_strides);
  int64_t *o = out->data;
  memset(pos, 0, sizeof pos);
  do {
    int64_t at = 0;
    for (uint32_t d = 0; d < rank; d++) at += pos[d] * strides[d];
    if (!is_nonzero(self, at)) continue;
    for (uint32_t d = 0; d < rank; d++) o[row * out_strides[0] + d * out_strides[1]] = pos[d];
    row++;
  } while (ptec_index_next(pos, sizes, rank));
  return PTEC_STATUS_OK;
}
