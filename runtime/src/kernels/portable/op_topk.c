/* topk: the k largest (or smallest) of each slice along dim, NaN largest,
 * sorted (ties: the lower index first). */
#include "kernels/portable/common.h"
#include "kernels/portable/index.h"
#include "kernels/ops_decl.h"

/* True when (a at ia) goes before (b at ib). */
static bool before(float a, int64_t ia, float b, int64_t ib, bool largest) {
  bool an = a != a, bn = b != b;
  if (an || bn) {
    if (an != bn) return largest ? an : bn;
    return ia < ib;
  }
  if (a != b) return largest ? a > b : a < b;
  return ia < ib;
}

/* topk.values(Tensor self, SymInt k, int dim=-1, bool largest=True, bool sorted=True, *,
 *   Tensor(a!) values, Tensor(b!) indices) -> (values, indices). Always sorted. */
ptec_status ptec_kernel_topk_values(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *values = ptec_arg_tensor(ctx, 5), *indices = ptec_arg_tensor(ctx, 6);
  bool largest = ptec_arg_bool(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, values, "self", "values"));
  PTEC_TRY(ptec_check_dtype(ctx, indices, PTEC_DTYPE_INT64, "indices"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(in->dtype));
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 2), in->rank ? in->rank : 1, &dim));
  int64_t n = in->rank ? in->sizes[dim] : 1, k = ptec_arg_int(ctx, 1);
  PTEC_CHECK(ctx, k >= 0 && k <= n, PTEC_STATUS_OUT_OF_RANGE,
             "k = %lld for a dim of %lld", (long long)k, (long long)n);
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, sizes);
  if (in->rank) sizes[dim] = k;
  PTEC_TRY(ptec_check_shape(ctx, values, sizes, in->rank, "values"));
  PTEC_TRY(ptec_check_shape(ctx, indices, sizes, in->rank, "indices"));
  if (values->numel == 0) return PTEC_STATUS_OK;
  int64_t is[PTEC_MAX_RANK], vs[PTEC_MAX_RANK], xs[PTEC_MAX_RANK], pos[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(values, vs);
  ptec_tensor_strides(indices, xs);
  if (in->rank) sizes[dim] = 1; /* iterate over the slices */
  int64_t step_i = in->rank ? is[dim] : 0, step_v = in->rank ? vs[dim] : 0;
  int64_t step_x = in->rank ? xs[dim] : 0;
  bool is_float = ptec_dtype_is_float(in->dtype);
  do {
    int64_t bi = 0, bv = 0, bx = 0;
    for (uint32_t d = 0; d < in->rank; d++) {
      bi += pos[d] * is[d];
      bv += pos[d] * vs[d];
      bx += pos[d] * xs[d];
    }
    /* Selection by insertion into the sorted prefix held in the outs. */
    int64_t *idx = indices->data;
    for (int64_t j = 0, have = 0; j < n; j++) {
      float v = is_float ? ptec_load_f32(in->data, in->dtype, bi + j * step_i)
                         : (float)0;
      int64_t vi = is_float ? 0 : ptec_load_i64(in->data, in->dtype, bi + j * step_i);
      int64_t at = have;
      while (at > 0) {
        int64_t other = idx[bx + (at - 1) * step_x];
        bool goes_before;
        if (is_float) {
          float o = ptec_load_f32(in->data, in->dtype, bi + other * step_i);
          goes_before = before(v, j, o, other, largest);
        } else {
          int64_t o = ptec_load_i64(in->data, in->dtype, bi + other * step_i);
          goes_before = vi != o ? (largest ? vi > o : vi < o) : j < other;
        }
        if (!goes_before) break;
        if (at < k) idx[bx + at * step_x] = other;
        at--;
      }
      if (at < k) idx[bx + at * step_x] = j;
      if (have < k) have++;
    }
    for (int64_t r = 0; r < k; r++)
      ptec_convert_element(values->data, values->dtype, bv + r * step_v, in->data, in->dtype,
                           bi + idx[bx + r * step_x] * step_i);
  } while (ptec_index_next(pos, sizes, in->rank));
  return PTEC_STATUS_OK;
}
