/* Parameter checks shared by the quantize/dequantize kernels (see qdq_params.h). */
#include "kernels/quantized/qdq_params.h"

#include <math.h>

bool ptec_qdq_dtype_range(int64_t dtype, int64_t *lo, int64_t *hi) {
  switch (dtype) {
    case PTEC_DTYPE_UINT8: *lo = 0; *hi = UINT8_MAX; return true;
    case PTEC_DTYPE_INT8: *lo = INT8_MIN; *hi = INT8_MAX; return true;
    case PTEC_DTYPE_INT16: *lo = INT16_MIN; *hi = INT16_MAX; return true;
    case PTEC_DTYPE_INT32: *lo = INT32_MIN; *hi = INT32_MAX; return true;
    default: return false;
  }
}

ptec_status ptec_qdq_read_range(ptec_kernel_context *ctx, uint32_t qmin_arg, ptec_qdq_range *r) {
  int64_t qmin = ptec_arg_int(ctx, qmin_arg), qmax = ptec_arg_int(ctx, qmin_arg + 1);
  int64_t dtype = ptec_arg_int(ctx, qmin_arg + 2), lo = 0, hi = 0;
  PTEC_CHECK(ctx, ptec_qdq_dtype_range(dtype, &lo, &hi), PTEC_STATUS_NOT_SUPPORTED,
             "quantized dtype %s (ScalarType %lld) is not supported: expected uint8, int8, "
             "int16 or int32", ptec_dtype_name((int)dtype), (long long)dtype);
  PTEC_CHECK(ctx, qmin >= lo && qmax <= hi, PTEC_STATUS_OUT_OF_RANGE,
             "quant_min %lld and quant_max %lld must lie within the range of %s [%lld, %lld]",
             (long long)qmin, (long long)qmax, ptec_dtype_name((int)dtype), (long long)lo,
             (long long)hi);
  PTEC_CHECK(ctx, qmin <= qmax, PTEC_STATUS_OUT_OF_RANGE,
             "quant_min %lld is greater than quant_max %lld", (long long)qmin, (long long)qmax);
  r->dtype = (int)dtype;
  r->quant_min = qmin;
  r->quant_max = qmax;
  return PTEC_STATUS_OK;
}

ptec_status ptec_qdq_check_scale(ptec_kernel_context *ctx, double scale, int64_t channel) {
  if (scale > 0.0 && isfinite(scale)) return PTEC_STATUS_OK;
  if (channel < 0) {
    return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE, "scale must be positive and finite");
  }
  return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE,
                          "scales[%lld] must be positive and finite", (long long)channel);
}

ptec_status ptec_qdq_check_zero_point(ptec_kernel_context *ctx, int64_t zp,
                                      const ptec_qdq_range *r, int64_t channel) {
  if (zp >= r->quant_min && zp <= r->quant_max) return PTEC_STATUS_OK;
  if (channel < 0) {
    return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE,
                            "zero_point %lld is outside [quant_min, quant_max] = [%lld, %lld]",
                            (long long)zp, (long long)r->quant_min, (long long)r->quant_max);
  }
  return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE,
                          "zero_points[%lld] = %lld is outside [quant_min, quant_max] = "
                          "[%lld, %lld]",
                          (long long)channel, (long long)zp, (long long)r->quant_min,
                          (long long)r->quant_max);
}

ptec_status ptec_qdq_check_out(ptec_kernel_context *ctx, const ptec_tensor *in,
                               const ptec_tensor *out, int dtype) {
  PTEC_TRY(ptec_check_dtype(ctx, out, dtype, "out"));
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  PTEC_CHECK(ctx, ptec_tensor_same_dim_order(in, out), PTEC_STATUS_NOT_SUPPORTED,
             "out must have the input's dim order");
  return PTEC_STATUS_OK;
}

ptec_status ptec_qdq_read_channels(ptec_kernel_context *ctx, const ptec_tensor *data,
                                   const ptec_tensor *scales, const ptec_tensor *zero_points,
                                   uint32_t axis_arg, const ptec_qdq_range *r,
                                   ptec_qdq_phase phase, ptec_qdq_channels *ch) {
  uint32_t axis;
  PTEC_CHECK(ctx, data->rank > 0, PTEC_STATUS_SHAPE_MISMATCH,
             "per-channel quantization needs a tensor of rank >= 1");
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, axis_arg), data->rank, &axis));
  int64_t channels = data->sizes[axis];
  PTEC_CHECK(ctx, scales->dtype == PTEC_DTYPE_FLOAT32 || scales->dtype == PTEC_DTYPE_FLOAT64,
             PTEC_STATUS_TYPE_MISMATCH, "scales have dtype %s, expected float32 or float64",
             ptec_dtype_name(scales->dtype));
  PTEC_CHECK(ctx, scales->rank == 1 && scales->sizes[0] == channels, PTEC_STATUS_SHAPE_MISMATCH,
             "scales must have shape [%lld], the size of axis %u", (long long)channels,
             (unsigned)axis);
  if (zero_points != NULL) {
    PTEC_CHECK(ctx,
               zero_points->dtype == PTEC_DTYPE_INT32 || zero_points->dtype == PTEC_DTYPE_INT64,
               PTEC_STATUS_TYPE_MISMATCH, "zero_points have dtype %s, expected int32 or int64",
               ptec_dtype_name(zero_points->dtype));
    PTEC_CHECK(ctx, zero_points->rank == 1 && zero_points->sizes[0] == channels,
               PTEC_STATUS_SHAPE_MISMATCH, "zero_points must have shape [%lld]",
               (long long)channels);
  }
  int64_t strides[PTEC_MAX_RANK];
  ptec_tensor_strides(data, strides);
  ch->scales = scales;
  ch->zero_points = zero_points;
  ch->channels = channels;
  ch->run = strides[axis];

  bool constant = scales->is_constant && (zero_points == NULL || zero_points->is_constant);
  if ((phase == PTEC_QDQ_PREPARE) != constant) return PTEC_STATUS_OK;
  for (int64_t c = 0; c < channels; c++) {
    PTEC_TRY(ptec_qdq_check_scale(ctx, ptec_qdq_scale_at(ch, c), c));
    PTEC_TRY(ptec_qdq_check_zero_point(ctx, ptec_qdq_zero_point_at(ch, c), r, c));
  }
  return PTEC_STATUS_OK;
}
