/* Factories: full, full_like, arange, scalar_tensor. */
#include <math.h>

#include "core/checked.h"
#include "kernels/portable/common.h"
#include "kernels/ops_decl.h"

static ptec_status check_out_dtype(ptec_kernel_context *ctx, const ptec_tensor *out) {
  PTEC_CHECK(ctx, ptec_dtype_is_supported(out->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "out dtype %s not supported", ptec_dtype_name(out->dtype));
  return PTEC_STATUS_OK;
}

/* full.out(SymInt[] size, Scalar fill_value, *, Tensor(a!) out) */
ptec_status ptec_kernel_full_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(check_out_dtype(ctx, out));
  uint32_t rank;
  const int64_t *size = ptec_arg_int_list(ctx, 0, &rank);
  PTEC_TRY(ptec_check_shape(ctx, out, size, rank, "out"));
  ptec_fill_scalar(ctx, 1, out);
  return PTEC_STATUS_OK;
}

/* full_like.out(Tensor self, Scalar fill_value, *, MemoryFormat? memory_format=None,
 *   Tensor(a!) out) */
ptec_status ptec_kernel_full_like_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(check_out_dtype(ctx, out));
  PTEC_TRY(ptec_check_same_shape(ctx, ptec_arg_tensor(ctx, 0), out, "self", "out"));
  ptec_fill_scalar(ctx, 1, out);
  return PTEC_STATUS_OK;
}

/* scalar_tensor.out(Scalar s, *, Tensor(a!) out) */
ptec_status ptec_kernel_scalar_tensor_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_TRY(check_out_dtype(ctx, out));
  PTEC_TRY(ptec_check_shape(ctx, out, NULL, 0, "out"));
  ptec_fill_scalar(ctx, 0, out);
  return PTEC_STATUS_OK;
}

/* start + i * step for i < ceil((end - start) / step); floats in double
 * like PyTorch's CPU kernel, integers in int64. */
static ptec_status arange(ptec_kernel_context *ctx, int start_arg, uint32_t end_arg,
                          int step_arg, uint32_t out_arg) {
  ptec_tensor *out = ptec_arg_tensor(ctx, out_arg);
  PTEC_TRY(check_out_dtype(ctx, out));
  PTEC_CHECK(ctx, out->dtype != PTEC_DTYPE_BOOL, PTEC_STATUS_NOT_SUPPORTED,
             "arange cannot make bools");
  bool integral = ptec_arg_scalar_is_integral(ctx, end_arg) &&
                  (start_arg < 0 || ptec_arg_scalar_is_integral(ctx, (uint32_t)start_arg)) &&
                  (step_arg < 0 || ptec_arg_scalar_is_integral(ctx, (uint32_t)step_arg));
  double start = start_arg < 0 ? 0.0 : ptec_arg_double(ctx, (uint32_t)start_arg);
  double end = ptec_arg_double(ctx, end_arg);
  double step = step_arg < 0 ? 1.0 : ptec_arg_double(ctx, (uint32_t)step_arg);
  PTEC_CHECK(ctx, step != 0.0 && step == step && start == start && end == end,
             PTEC_STATUS_INVALID_ARGUMENT, "step must be nonzero and bounds finite");
  PTEC_CHECK(ctx, (step > 0.0 && end >= start) || (step < 0.0 && end <= start),
             PTEC_STATUS_INVALID_ARGUMENT, "upper bound and step sign are inconsistent");
  double n = ceil((end - start) / step);
  /* Checked before the conversion: a double beyond int64 (or infinite) has none. */
  PTEC_CHECK(ctx, n < 2147483647.0, PTEC_STATUS_SHAPE_MISMATCH, "arange is too long");
  int64_t want[1] = {(int64_t)n};
  PTEC_TRY(ptec_check_shape(ctx, out, want, 1, "out"));
  int64_t s = 1;
  if (out->rank == 1) {
    int64_t st[PTEC_MAX_RANK];
    ptec_tensor_strides(out, st);
    s = st[0];
  }
  if (integral) {
    int64_t i0 = start_arg < 0 ? 0 : ptec_arg_scalar_int(ctx, (uint32_t)start_arg);
    int64_t di = step_arg < 0 ? 1 : ptec_arg_scalar_int(ctx, (uint32_t)step_arg);
    /* Checked: the length was counted in double, so near int64's ends the last values can
     * lie past them (start INT64_MAX - 2000, end INT64_MAX: 2048 values). */
    for (int64_t i = 0, v, delta; i < want[0]; i++) {
      PTEC_CHECK(ctx, ptec_mul_i64(i, di, &delta) && ptec_add_i64(i0, delta, &v),
                 PTEC_STATUS_OUT_OF_RANGE, "arange value %lld overflows int64", (long long)i);
      ptec_store_i64(out->data, out->dtype, i * s, v);
    }
  } else if (out->dtype == PTEC_DTYPE_FLOAT64) {
    for (int64_t i = 0; i < want[0]; i++) ((double *)out->data)[i * s] = start + (double)i * step;
  } else if (ptec_dtype_is_integer(out->dtype)) {
    for (int64_t i = 0; i < want[0]; i++) {
      /* Truncates like a cast, saturating at int64's ends (a Double bound of 1e300 has no
       * int64: the cast would be undefined); the bounds are finite (checked above). */
      double v = start + (double)i * step;
      int64_t x = v >= 9.2233720368547758e18    ? INT64_MAX
                  : v <= -9.2233720368547758e18 ? INT64_MIN
                                                : (int64_t)v;
      ptec_store_i64(out->data, out->dtype, i * s, x);
    }
  } else {
    for (int64_t i = 0; i < want[0]; i++)
      ptec_store_f32(out->data, out->dtype, i * s, (float)(start + (double)i * step));
  }
  return PTEC_STATUS_OK;
}

/* arange.start_out(Scalar start, Scalar end, Scalar step=1, *, Tensor(a!) out) */
ptec_status ptec_kernel_arange_start_out(ptec_kernel_context *ctx) {
  return arange(ctx, 0, 1, 2, 3);
}

/* arange.out(Scalar end, *, Tensor(a!) out) */
ptec_status ptec_kernel_arange_out(ptec_kernel_context *ctx) { return arange(ctx, -1, 0, -1, 1); }
