/* Reductions: mean, sum, amax, amin, var, any, all (argmax: op_extreme.c). Float sums
 * accumulate in double, so the result is the exact sum rounded once. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/complex.h"
#include "kernels/portable/half.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"
#include "kernels/portable/reduce.h"
#include "kernels/x86/ops_f32_x86.h"

/* Sum of the current slice of operand 1 (the input) as double. */
static double slice_sum(ptec_iter *it, const ptec_tensor *in) {
  double acc = 0.0;
  for (; !it->done; ptec_iter_next(it)) {
    if (in->dtype == PTEC_DTYPE_FLOAT32) {
      const float *x = (const float *)in->data + it->offset[1];
      double part;
      if (it->step[1] == 1 && it->count >= 16 && PTEC_F_VARIANT_SUM_ROW(x, it->count, &part)) {
        acc += part;
        continue;
      }
      for (int64_t k = 0; k < it->count; k++) acc += x[k * it->step[1]];
    } else {
      for (int64_t k = 0; k < it->count; k++)
        acc += ptec_load_f32(in->data, in->dtype, it->offset[1] + k * it->step[1]);
    }
  }
  return acc;
}

/* Sum of squared deviations from `mean` over the current slice. */
static double slice_sq_dev(ptec_iter *it, const ptec_tensor *in, double mean) {
  double acc = 0.0;
  for (; !it->done; ptec_iter_next(it))
    for (int64_t k = 0; k < it->count; k++) {
      double d = ptec_load_f32(in->data, in->dtype, it->offset[1] + k * it->step[1]) - mean;
      acc += d * d;
    }
  return acc;
}

static int64_t slice_sum_i64(ptec_iter *it, const ptec_tensor *in) {
  uint64_t acc = 0; /* wraps like PyTorch's int64 sum */
  for (; !it->done; ptec_iter_next(it))
    for (int64_t k = 0; k < it->count; k++)
      acc += (uint64_t)ptec_load_i64(in->data, in->dtype, it->offset[1] + k * it->step[1]);
  return (int64_t)acc;
}

/* A `ScalarType? dtype` argument must be None or out's dtype. */
static ptec_status check_dtype_arg(ptec_kernel_context *ctx, uint32_t arg, const ptec_tensor *out) {
  if (ptec_arg_is_none(ctx, arg)) return PTEC_STATUS_OK;
  PTEC_CHECK(ctx, ptec_arg_int(ctx, arg) == out->dtype, PTEC_STATUS_TYPE_MISMATCH,
             "dtype argument %lld differs from out dtype %s", (long long)ptec_arg_int(ctx, arg),
             ptec_dtype_name(out->dtype));
  return PTEC_STATUS_OK;
}

/* Sum and prod: out float32 (any input) or integral (integer or bool input;
 * the dtype argument, if given, is out's). */
static ptec_status check_accumulating(ptec_kernel_context *ctx, const ptec_tensor *in,
                                      const ptec_tensor *out, uint32_t dtype_arg) {
  PTEC_TRY(check_dtype_arg(ctx, dtype_arg, out));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype) && ptec_dtype_is_supported(out->dtype) &&
                      out->dtype != PTEC_DTYPE_FLOAT64,
             PTEC_STATUS_NOT_SUPPORTED, "dtypes %s -> %s not supported",
             ptec_dtype_name(in->dtype), ptec_dtype_name(out->dtype));
  PTEC_CHECK(ctx, ptec_dtype_computes_in_f32(out->dtype) || !ptec_dtype_is_float(in->dtype),
             PTEC_STATUS_TYPE_MISMATCH, "a %s input cannot reduce into a %s out",
             ptec_dtype_name(in->dtype), ptec_dtype_name(out->dtype));
  return PTEC_STATUS_OK;
}

static ptec_status mean(ptec_kernel_context *ctx, const bool *mask, bool keepdim,
                        uint32_t dtype_arg, ptec_tensor *out) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, ptec_dtype_computes_in_f32(out->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "out dtype %s not supported", ptec_dtype_name(out->dtype));
  PTEC_TRY(check_dtype_arg(ctx, dtype_arg, out));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "input dtype %s not supported", ptec_dtype_name(in->dtype));
  ptec_split_iter s;
  PTEC_TRY(ptec_reduce_init(ctx, &s, in, mask, keepdim, out, false));
  FOR_EACH_OUT(s, j) {
    ptec_split_iter_inner(&s, j);
    ptec_store_f32(out->data, out->dtype, OUT_INDEX(s, j),
                   (float)(slice_sum(&s.inner, in) / (double)s.inner_numel));
  }
  return PTEC_STATUS_OK;
}

/* mean.out(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None,
 *          Tensor(a!) out) */
ptec_status ptec_kernel_mean_out(ptec_kernel_context *ctx) {
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_list(ctx, 1, ptec_arg_tensor(ctx, 0)->rank, mask));
  return mean(ctx, mask, ptec_arg_bool(ctx, 2), 3, ptec_arg_tensor(ctx, 4));
}

/* mean.dtype_out(Tensor self, *, ScalarType? dtype=None, Tensor(a!) out): of everything. */
ptec_status ptec_kernel_mean_dtype_out(ptec_kernel_context *ctx) {
  bool mask[PTEC_MAX_RANK];
  for (uint32_t d = 0; d < PTEC_MAX_RANK; d++) mask[d] = true;
  return mean(ctx, mask, false, 1, ptec_arg_tensor(ctx, 2));
}

/* sum.IntList_out(Tensor self, int[1]? dim, bool keepdim=False, *,
 *                 ScalarType? dtype=None, Tensor(a!) out) */
ptec_status ptec_kernel_sum_intlist_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  if (ptec_dtype_is_complex(in->dtype) || ptec_dtype_is_complex(out->dtype))
    return ptec_complex_sum(ctx, in, out);
  PTEC_TRY(check_accumulating(ctx, in, out, 3));
  bool is_float = ptec_dtype_computes_in_f32(out->dtype);
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_list(ctx, 1, in->rank, mask));
  ptec_split_iter s;
  PTEC_TRY(ptec_reduce_init(ctx, &s, in, mask, ptec_arg_bool(ctx, 2), out, false));
  FOR_EACH_OUT(s, j) {
    ptec_split_iter_inner(&s, j);
    if (is_float)
      ptec_store_f32(out->data, out->dtype, OUT_INDEX(s, j), (float)slice_sum(&s.inner, in));
    else
      ptec_store_i64(out->data, out->dtype, OUT_INDEX(s, j), slice_sum_i64(&s.inner, in));
  }
  return PTEC_STATUS_OK;
}

/* amax / amin: float NaN wins; integers compare as int64. */
static ptec_status min_max(ptec_kernel_context *ctx, bool is_max) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype) && in->dtype != PTEC_DTYPE_FLOAT64,
             PTEC_STATUS_NOT_SUPPORTED, "dtype %s not supported", ptec_dtype_name(in->dtype));
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_list(ctx, 1, in->rank, mask));
  ptec_split_iter s;
  PTEC_TRY(ptec_reduce_init(ctx, &s, in, mask, ptec_arg_bool(ctx, 2), out, false));
  PTEC_CHECK(ctx, s.inner_numel > 0 || s.outer.empty, PTEC_STATUS_SHAPE_MISMATCH,
             "cannot reduce over an empty dim");
  bool is_float = ptec_dtype_is_float(in->dtype); /* float16/bfloat16 exactly as float32 */
  FOR_EACH_OUT(s, j) {
    ptec_split_iter_inner(&s, j);
    ptec_iter *it = &s.inner;
    if (is_float) {
      float best = ptec_load_f32(in->data, in->dtype, it->offset[1]);
      for (; !it->done; ptec_iter_next(it))
        for (int64_t k = 0; k < it->count; k++) {
          float v = ptec_load_f32(in->data, in->dtype, it->offset[1] + k * it->step[1]);
          if (v != v || (is_max ? v > best : v < best)) best = v;
          if (best != best) break;
        }
      ptec_store_f32(out->data, out->dtype, OUT_INDEX(s, j), best);
    } else {
      int64_t best = ptec_load_i64(in->data, in->dtype, it->offset[1]);
      for (; !it->done; ptec_iter_next(it))
        for (int64_t k = 0; k < it->count; k++) {
          int64_t v = ptec_load_i64(in->data, in->dtype, it->offset[1] + k * it->step[1]);
          if (is_max ? v > best : v < best) best = v;
        }
      ptec_store_i64(out->data, out->dtype, OUT_INDEX(s, j), best);
    }
  }
  return PTEC_STATUS_OK;
}

/* amax.out(Tensor self, int[1] dim=[], bool keepdim=False, *, Tensor(a!) out) */
ptec_status ptec_kernel_amax_out(ptec_kernel_context *ctx) { return min_max(ctx, true); }
/* amin.out(Tensor self, int[1] dim=[], bool keepdim=False, *, Tensor(a!) out) */
ptec_status ptec_kernel_amin_out(ptec_kernel_context *ctx) { return min_max(ctx, false); }

/* Variance (and mean, if `mean_out`) over the dims of list argument 1:
 * two passes in double. */
static ptec_status variance(ptec_kernel_context *ctx, double correction, bool keepdim,
                            ptec_tensor *out, ptec_tensor *mean_out) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  if (mean_out != NULL) PTEC_TRY(ptec_check_same_shape(ctx, out, mean_out, "var", "mean"));
  if (mean_out != NULL) PTEC_TRY(ptec_check_dtype(ctx, mean_out, out->dtype, "mean"));
  PTEC_CHECK(ctx, mean_out == NULL || ptec_tensor_same_dim_order(out, mean_out),
             PTEC_STATUS_NOT_SUPPORTED, "var and mean must share a dim order");
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_list(ctx, 1, in->rank, mask));
  ptec_split_iter s;
  PTEC_TRY(ptec_reduce_init(ctx, &s, in, mask, keepdim, out, false));
  double n = (double)s.inner_numel, dof = n - correction > 0.0 ? n - correction : 0.0;
  FOR_EACH_OUT(s, j) {
    ptec_split_iter_inner(&s, j);
    double m = slice_sum(&s.inner, in) / n;
    ptec_split_iter_inner(&s, j);
    /* One rounding to a half type's out, as PyTorch's opmath var. */
    ptec_store_f32(out->data, out->dtype, OUT_INDEX(s, j),
                   (float)(slice_sq_dev(&s.inner, in, m) / dof));
    if (mean_out != NULL) ptec_store_f32(mean_out->data, out->dtype, OUT_INDEX(s, j), (float)m);
  }
  return PTEC_STATUS_OK;
}

/* var.correction_out(Tensor self, int[1]? dim=None, *, Scalar? correction=None,
 *                    bool keepdim=False, Tensor(a!) out) */
ptec_status ptec_kernel_var_correction_out(ptec_kernel_context *ctx) {
  double correction = ptec_arg_is_none(ctx, 2) ? 1.0 : ptec_arg_double(ctx, 2);
  return variance(ctx, correction, ptec_arg_bool(ctx, 3), ptec_arg_tensor(ctx, 4), NULL);
}

/* var.out(Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False, *,
 *   Tensor(a!) out) */
ptec_status ptec_kernel_var_out(ptec_kernel_context *ctx) {
  return variance(ctx, ptec_arg_bool(ctx, 2) ? 1.0 : 0.0, ptec_arg_bool(ctx, 3),
                  ptec_arg_tensor(ctx, 4), NULL);
}

/* var_mean.correction_out(Tensor self, int[1]? dim=None, *, Scalar? correction=None,
 *   bool keepdim=False, Tensor(a!) out0, Tensor(b!) out1) -> (var, mean) */
ptec_status ptec_kernel_var_mean_correction_out(ptec_kernel_context *ctx) {
  double correction = ptec_arg_is_none(ctx, 2) ? 1.0 : ptec_arg_double(ctx, 2);
  return variance(ctx, correction, ptec_arg_bool(ctx, 3), ptec_arg_tensor(ctx, 4),
                  ptec_arg_tensor(ctx, 5));
}

/* Product of everything (prod.out) or of one dim (prod.int_out): float32 in
 * float32, float16 / bfloat16 rounded to their type after each multiply, integers and
 * bools in int64 (wrapping), as PyTorch. */
static ptec_status prod(ptec_kernel_context *ctx, const bool *mask, bool keepdim,
                        uint32_t dtype_arg, ptec_tensor *out) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_TRY(check_accumulating(ctx, in, out, dtype_arg));
  bool is_float = ptec_dtype_computes_in_f32(out->dtype), half = ptec_dtype_is_half(out->dtype);
  ptec_split_iter s;
  PTEC_TRY(ptec_reduce_init(ctx, &s, in, mask, keepdim, out, false));
  FOR_EACH_OUT(s, j) {
    ptec_split_iter_inner(&s, j);
    ptec_iter *it = &s.inner;
    float pf = 1.0f;
    uint64_t pi = 1;
    for (; !it->done; ptec_iter_next(it))
      for (int64_t k = 0; k < it->count; k++) {
        int64_t idx = it->offset[1] + k * it->step[1];
        if (is_float) {
          pf *= ptec_load_f32(in->data, in->dtype, idx);
          /* PyTorch's prod of a half type accumulates in that type. */
          if (half) pf = ptec_half_round(pf, out->dtype == PTEC_DTYPE_BFLOAT16);
        } else {
          pi *= (uint64_t)ptec_load_i64(in->data, in->dtype, idx);
        }
      }
    if (is_float) ptec_store_f32(out->data, out->dtype, OUT_INDEX(s, j), pf);
    else ptec_store_i64(out->data, out->dtype, OUT_INDEX(s, j), (int64_t)pi);
  }
  return PTEC_STATUS_OK;
}

/* prod.out(Tensor self, *, ScalarType? dtype=None, Tensor(a!) out) */
ptec_status ptec_kernel_prod_out(ptec_kernel_context *ctx) {
  bool mask[PTEC_MAX_RANK];
  for (uint32_t d = 0; d < PTEC_MAX_RANK; d++) mask[d] = true;
  return prod(ctx, mask, false, 1, ptec_arg_tensor(ctx, 2));
}

/* prod.int_out(Tensor self, int dim, bool keepdim=False, *, ScalarType? dtype=None,
 *   Tensor(a!) out) */
ptec_status ptec_kernel_prod_int_out(ptec_kernel_context *ctx) {
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_int(ctx, 1, ptec_arg_tensor(ctx, 0)->rank, mask));
  return prod(ctx, mask, ptec_arg_bool(ctx, 2), 3, ptec_arg_tensor(ctx, 4));
}

/* any / all over a dim mask; any dtype in, bool (or uint8) out. */
static ptec_status any_all(ptec_kernel_context *ctx, const bool *mask, bool keepdim,
                           uint32_t out_arg, bool is_any) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, out_arg);
  PTEC_CHECK(ctx, out->dtype == PTEC_DTYPE_BOOL || out->dtype == PTEC_DTYPE_UINT8,
             PTEC_STATUS_TYPE_MISMATCH, "out must be bool or uint8, not %s",
             ptec_dtype_name(out->dtype));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(in->dtype));
  ptec_split_iter s;
  PTEC_TRY(ptec_reduce_init(ctx, &s, in, mask, keepdim, out, false));
  FOR_EACH_OUT(s, j) {
    ptec_split_iter_inner(&s, j);
    bool r = !is_any;
    for (ptec_iter *it = &s.inner; !it->done && r == !is_any; ptec_iter_next(it))
      for (int64_t k = 0; k < it->count; k++) {
        /* as float so NaN counts as true */
        bool v = ptec_load_f32(in->data, in->dtype, it->offset[1] + k * it->step[1]) != 0.0f;
        if (v == is_any) { r = is_any; break; }
      }
    ((uint8_t *)out->data)[OUT_INDEX(s, j)] = r;
  }
  return PTEC_STATUS_OK;
}

static ptec_status all_dims(ptec_kernel_context *ctx, bool is_any) {
  bool mask[PTEC_MAX_RANK];
  for (uint32_t d = 0; d < PTEC_MAX_RANK; d++) mask[d] = true;
  return any_all(ctx, mask, false, 1, is_any);
}

/* any.all_out / all.all_out(Tensor self, *, Tensor(a!) out) */
ptec_status ptec_kernel_any_all_out(ptec_kernel_context *ctx) { return all_dims(ctx, true); }
ptec_status ptec_kernel_all_all_out(ptec_kernel_context *ctx) { return all_dims(ctx, false); }

/* any.dims_out / all.dims_out(Tensor self, int[]? dim=None, bool keepdim=False, *,
 *                             Tensor(a!) out) */
static ptec_status dims_variant(ptec_kernel_context *ctx, bool is_any) {
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_list(ctx, 1, ptec_arg_tensor(ctx, 0)->rank, mask));
  return any_all(ctx, mask, ptec_arg_bool(ctx, 2), 3, is_any);
}
ptec_status ptec_kernel_any_dims_out(ptec_kernel_context *ctx) { return dims_variant(ctx, true); }
ptec_status ptec_kernel_all_dims_out(ptec_kernel_context *ctx) { return dims_variant(ctx, false); }

/* any.out / all.out(Tensor self, int dim, bool keepdim=False, *, Tensor(a!) out) */
static ptec_status dim_variant(ptec_kernel_context *ctx, bool is_any) {
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_int(ctx, 1, ptec_arg_tensor(ctx, 0)->rank, mask));
  return any_all(ctx, mask, ptec_arg_bool(ctx, 2), 3, is_any);
}
ptec_status ptec_kernel_any_out(ptec_kernel_context *ctx) { return dim_variant(ctx, true); }
ptec_status ptec_kernel_all_out(ptec_kernel_context *ctx) { return dim_variant(ctx, false); }
