/* max.dim / min.dim (values and indices), argmax, argmin, max / min of everything.
 * NaN is the extreme (the first one wins); ties keep the first position. */
#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/portable/reduce.h"
#include "kernels/ops_decl.h"

/* Reduces `in` over `mask` into values (may be NULL; in's dtype) and
 * indices (may be NULL; int64, positions along the reduced dims in
 * flattened order). */
static ptec_status extreme(ptec_kernel_context *ctx, const ptec_tensor *in, const bool *mask,
                           bool keepdim, ptec_tensor *values, ptec_tensor *indices,
                           bool is_max) {
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(in->dtype));
  if (values != NULL) PTEC_TRY(ptec_check_same_dtype(ctx, in, values, "self", "values"));
  if (indices != NULL) PTEC_TRY(ptec_check_dtype(ctx, indices, PTEC_DTYPE_INT64, "indices"));
  if (values != NULL && indices != NULL) {
    PTEC_TRY(ptec_check_same_shape(ctx, values, indices, "values", "indices"));
    PTEC_CHECK(ctx, ptec_tensor_same_dim_order(values, indices), PTEC_STATUS_NOT_SUPPORTED,
               "values and indices must share a dim order");
  }
  ptec_split_iter s;
  PTEC_TRY(ptec_reduce_init(ctx, &s, in, mask, keepdim, values != NULL ? values : indices, true));
  PTEC_CHECK(ctx, s.inner_numel > 0 || s.outer.empty, PTEC_STATUS_SHAPE_MISMATCH,
             "cannot reduce over an empty dim");
  bool is_float = ptec_dtype_is_float(in->dtype);
  FOR_EACH_OUT(s, j) {
    ptec_split_iter_inner(&s, j);
    ptec_iter *it = &s.inner;
    int64_t pos = 0, best_pos = 0, best_at = it->offset[1];
    float best_f = ptec_load_f32(in->data, in->dtype, best_at);
    int64_t best_i = ptec_load_i64(in->data, in->dtype, best_at);
    for (; !it->done; ptec_iter_next(it))
      for (int64_t k = 0; k < it->count; k++, pos++) {
        int64_t idx = it->offset[1] + k * it->step[1];
        bool better;
        if (is_float) {
          float v = ptec_load_f32(in->data, in->dtype, idx);
          better = best_f == best_f && (v != v || (is_max ? v > best_f : v < best_f));
          if (better) best_f = v;
        } else {
          int64_t v = ptec_load_i64(in->data, in->dtype, idx);
          better = is_max ? v > best_i : v < best_i;
          if (better) best_i = v;
        }
        if (better) {
          best_pos = pos;
          best_at = idx;
        }
      }
    int64_t o = OUT_INDEX(s, j);
    if (values != NULL)
      ptec_convert_element(values->data, values->dtype, o, in->data, in->dtype, best_at);
    if (indices != NULL) ((int64_t *)indices->data)[o] = best_pos;
  }
  return PTEC_STATUS_OK;
}

static ptec_status dim_variant(ptec_kernel_context *ctx, bool is_max) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_int(ctx, 1, in->rank, mask));
  return extreme(ctx, in, mask, ptec_arg_bool(ctx, 2), ptec_arg_tensor(ctx, 3),
                 ptec_arg_tensor(ctx, 4), is_max);
}

/* max.dim_max(Tensor self, int dim, bool keepdim=False, *, Tensor(a!) max,
 *   Tensor(b!) max_values) -> (values, indices) */
ptec_status ptec_kernel_max_dim_max(ptec_kernel_context *ctx) { return dim_variant(ctx, true); }
/* min.dim_min(Tensor self, int dim, bool keepdim=False, *, Tensor(a!) min,
 *   Tensor(b!) min_indices) */
ptec_status ptec_kernel_min_dim_min(ptec_kernel_context *ctx) { return dim_variant(ctx, false); }

/* argmax.out(Tensor self, int? dim=None, bool keepdim=False, *, Tensor(a!) out):
 * with dim=None, keepdim keeps every dim as 1, like PyTorch. */
ptec_status ptec_kernel_argmax_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_int(ctx, 1, in->rank, mask));
  return extreme(ctx, in, mask, ptec_arg_bool(ctx, 2), NULL, ptec_arg_tensor(ctx, 3), true);
}

/* argmin.out(Tensor self, int? dim=None, bool keepdim=False, *, Tensor(a!) out) */
ptec_status ptec_kernel_argmin_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_int(ctx, 1, in->rank, mask));
  return extreme(ctx, in, mask, ptec_arg_bool(ctx, 2), NULL, ptec_arg_tensor(ctx, 3), false);
}

static ptec_status all_variant(ptec_kernel_context *ctx, bool is_max) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  bool mask[PTEC_MAX_RANK];
  for (uint32_t d = 0; d < PTEC_MAX_RANK; d++) mask[d] = true;
  return extreme(ctx, in, mask, false, ptec_arg_tensor(ctx, 1), NULL, is_max);
}

/* max.unary_out(Tensor self, *, Tensor(a!) out) / min.unary_out */
ptec_status ptec_kernel_max_unary_out(ptec_kernel_context *ctx) { return all_variant(ctx, true); }
ptec_status ptec_kernel_min_unary_out(ptec_kernel_context *ctx) { return all_variant(ctx, false); }
