/* cumsum along one dim: float sums in double (as PyTorch's CPU kernel),
 * integer sums in int64. */
#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* cumsum.out(Tensor self, int dim, *, ScalarType? dtype=None, Tensor(a!) out) */
ptec_status ptec_kernel_cumsum_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  PTEC_CHECK(ctx, ptec_arg_is_none(ctx, 2) || ptec_arg_int(ctx, 2) == out->dtype,
             PTEC_STATUS_TYPE_MISMATCH, "dtype argument differs from out's dtype");
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype) && ptec_dtype_is_supported(out->dtype) &&
                      out->dtype != PTEC_DTYPE_BOOL,
             PTEC_STATUS_NOT_SUPPORTED, "dtypes %s -> %s not supported",
             ptec_dtype_name(in->dtype), ptec_dtype_name(out->dtype));
  bool is_float = ptec_dtype_is_float(out->dtype);
  PTEC_CHECK(ctx, is_float || !ptec_dtype_is_float(in->dtype), PTEC_STATUS_TYPE_MISMATCH,
             "a float input cannot sum into %s", ptec_dtype_name(out->dtype));
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));

  int64_t strides[2][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides[0]);
  ptec_tensor_strides(out, strides[1]);
  ptec_tensor_sizes64(in, sizes);
  bool split[PTEC_MAX_RANK] = {false};
  if (in->rank) split[dim] = true;
  ptec_split_iter s;
  ptec_split_iter_init(&s, in->rank, sizes, in->dim_order, split, 2,
                       (const int64_t(*)[PTEC_MAX_RANK])strides);
  /* One dim never splits, so each slice is a single row. */
  int64_t n = s.inner.count, sx = s.inner.step[0], sy = s.inner.step[1];
  for (; !s.outer.done; ptec_iter_next(&s.outer))
    for (int64_t j = 0; j < s.outer.count; j++) {
      int64_t xi = s.outer.offset[0] + j * s.outer.step[0];
      int64_t yi = s.outer.offset[1] + j * s.outer.step[1];
      if (is_float) {
        double acc = 0.0;
        for (int64_t k = 0; k < n; k++) {
          acc += ptec_load_f32(in->data, in->dtype, xi + k * sx);
          ptec_store_f32(out->data, out->dtype, yi + k * sy, (float)acc);
        }
      } else {
        uint64_t acc = 0;
        for (int64_t k = 0; k < n; k++) {
          acc += (uint64_t)ptec_load_i64(in->data, in->dtype, xi + k * sx);
          ptec_store_i64(out->data, out->dtype, yi + k * sy, (int64_t)acc);
        }
      }
    }
  return PTEC_STATUS_OK;
}
