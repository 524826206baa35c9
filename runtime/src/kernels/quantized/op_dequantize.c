/*
 * quantized_decomposed::dequantize_per_tensor.out and dequantize_per_channel.out:
 * uint8/int8/int16/int32 to float32, bit for bit as PyTorch computes it
 * (torch/ao/quantization/fx/_decomposed.py):
 *
 *   per tensor:  ((float)q - (float)zp) * (float)scale, all in float32;
 *   per channel: (float)(q - zps[c]) * scales[c]: the difference exact in
 *                int64, the product in the scales' dtype (float32, or
 *                float64 and then rounded to float32).
 *
 * quant_min and quant_max are not used by the arithmetic (PyTorch keeps
 * them for pattern matching) but are checked like the quantize kernels'
 * parameters. out_dtype must be None or float32.
 */
#include "kernels/portable/common.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/qdq_params.h"

/* ScalarType of float32 (= ptec_dtype). */
#define FLOAT32_SCALAR_TYPE 6

/* The out_dtype argument: None or float32. */
static ptec_status check_out_dtype(ptec_kernel_context *ctx, uint32_t arg) {
  if (ptec_arg_is_none(ctx, arg)) return PTEC_STATUS_OK;
  int64_t dtype = ptec_arg_int(ctx, arg);
  PTEC_CHECK(ctx, dtype == FLOAT32_SCALAR_TYPE, PTEC_STATUS_NOT_SUPPORTED,
             "out_dtype %s is not supported: expected float32", ptec_dtype_name((int)dtype));
  return PTEC_STATUS_OK;
}

/* Loads element i of quantized data of `dtype` (checked: uint8..int32). */
static inline int64_t load_q(const void *data, int dtype, int64_t i) {
  switch (dtype) {
    case PTEC_DTYPE_UINT8: return ((const uint8_t *)data)[i];
    case PTEC_DTYPE_INT8: return ((const int8_t *)data)[i];
    case PTEC_DTYPE_INT16: return ((const int16_t *)data)[i];
    default: return ((const int32_t *)data)[i];
  }
}

/* ------------------------------------------------------------ per tensor */

#define DEQUANTIZE_ROW(T)                                                  \
  for (int64_t i = 0; i < n; i++) out[i] = ((float)((const T *)in)[i] - zpf) * scalef

static void dequantize_row(const void *in, float *out, int dtype, int64_t n, float scalef,
                           float zpf) {
  switch (dtype) {
    case PTEC_DTYPE_UINT8: DEQUANTIZE_ROW(uint8_t); break;
    case PTEC_DTYPE_INT8: DEQUANTIZE_ROW(int8_t); break;
    case PTEC_DTYPE_INT16: DEQUANTIZE_ROW(int16_t); break;
    default: DEQUANTIZE_ROW(int32_t); break;
  }
}

/* Arguments: 0 input, 1 scale, 2 zero_point, 3 quant_min, 4 quant_max,
 * 5 dtype, 6 out_dtype, 7 out. */
static ptec_status per_tensor_params(ptec_kernel_context *ctx, ptec_qdq_range *r, double *scale,
                                     int64_t *zp) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_TRY(ptec_qdq_read_range(ctx, 3, r));
  PTEC_TRY(ptec_check_dtype(ctx, in, r->dtype, "input"));
  PTEC_TRY(check_out_dtype(ctx, 6));
  PTEC_TRY(ptec_qdq_check_out(ctx, in, ptec_arg_tensor(ctx, 7), PTEC_DTYPE_FLOAT32));
  *scale = ptec_arg_double(ctx, 1);
  *zp = ptec_arg_int(ctx, 2);
  PTEC_TRY(ptec_qdq_check_scale(ctx, *scale, -1));
  return ptec_qdq_check_zero_point(ctx, *zp, r, -1);
}

ptec_status ptec_prepare_dequantize_per_tensor_out(ptec_kernel_context *ctx) {
  ptec_qdq_range r;
  double scale;
  int64_t zp;
  return per_tensor_params(ctx, &r, &scale, &zp);
}

ptec_status ptec_kernel_dequantize_per_tensor_out(ptec_kernel_context *ctx) {
  ptec_qdq_range r;
  double scale;
  int64_t zp;
  PTEC_TRY(per_tensor_params(ctx, &r, &scale, &zp));
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 7);
  dequantize_row(in->data, out->data, r.dtype, (int64_t)in->numel, (float)scale, (float)zp);
  return PTEC_STATUS_OK;
}

/* ----------------------------------------------------------- per channel */

/* Arguments: 0 input, 1 scales, 2 zero_points (or None), 3 axis,
 * 4 quant_min, 5 quant_max, 6 dtype, 7 out_dtype, 8 out. */
static ptec_status per_channel_params(ptec_kernel_context *ctx, ptec_qdq_phase phase,
                                      ptec_qdq_range *r, ptec_qdq_channels *ch) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_TRY(ptec_qdq_read_range(ctx, 4, r));
  PTEC_TRY(ptec_check_dtype(ctx, in, r->dtype, "input"));
  PTEC_TRY(check_out_dtype(ctx, 7));
  PTEC_TRY(ptec_qdq_check_out(ctx, in, ptec_arg_tensor(ctx, 8), PTEC_DTYPE_FLOAT32));
  return ptec_qdq_read_channels(ctx, in, ptec_arg_tensor(ctx, 1), ptec_arg_opt_tensor(ctx, 2), 3,
                                r, phase, ch);
}

ptec_status ptec_prepare_dequantize_per_channel_out(ptec_kernel_context *ctx) {
  ptec_qdq_range r;
  ptec_qdq_channels ch;
  return per_channel_params(ctx, PTEC_QDQ_PREPARE, &r, &ch);
}

ptec_status ptec_kernel_dequantize_per_channel_out(ptec_kernel_context *ctx) {
  ptec_qdq_range r;
  ptec_qdq_channels ch;
  PTEC_TRY(per_channel_params(ctx, PTEC_QDQ_EXECUTE, &r, &ch));
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  float *out = ptec_arg_tensor(ctx, 8)->data;
  if (in->numel == 0) return PTEC_STATUS_OK;
  bool f32 = ch.scales->dtype == PTEC_DTYPE_FLOAT32;
  /* Element i belongs to channel (i / run) % channels (see op_quantize.c). */
  int64_t runs = (int64_t)in->numel / ch.run;
  for (int64_t k = 0; k < runs; k++) {
    int64_t c = k % ch.channels, zp = ptec_qdq_zero_point_at(&ch, c);
    int64_t begin = k * ch.run, end = begin + ch.run;
    if (f32) {
      float scale = ((const float *)ch.scales->data)[c];
      for (int64_t i = begin; i < end; i++)
        out[i] = (float)(load_q(in->data, r.dtype, i) - zp) * scale;
    } else {
      double scale = ((const double *)ch.scales->data)[c];
      for (int64_t i = begin; i < end; i++)
        out[i] = (float)((double)(load_q(in->data, r.dtype, i) - zp) * scale);
    }
  }
  return PTEC_STATUS_OK;
}
