/*
 * quantized_decomposed::quantize_per_tensor.out and quantize_per_channel.out:
 * float32 to uint8/int8/int16/int32, bit for bit as PyTorch computes it
 * (torch/ao/quantization/fx/_decomposed.py):
 *
 *   per tensor:  clamp(round(x * (float)(1.0 / scale)) + zp, qmin, qmax)
 *                1/scale in double (Python), then rounded to float32 as a
 *                wrapped scalar; the product, the rounding (half to even)
 *                and the zero point add in float32;
 *   per channel: clamp(round(x * (1.0f / scales[c])) + zps[c], qmin, qmax)
 *                the reciprocal in the scales' dtype (float32: 1.0f / s),
 *                and the rest in float32, or float64 when the scales are.
 *
 * The clamp is in float (qmin, qmax converted to float). PyTorch then casts
 * float to the integer dtype, which for NaN and for float(INT32_MAX) (=
 * 2^31) is undefined in C and platform-specific in PyTorch; here NaN gives
 * the zero point (it dequantizes to 0) and values beyond the dtype
 * saturate.
 */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/qdq_params.h"
#include "kernels/quantized/variants.h"

/* A clamped float quantized value as an integer of range [lo, hi]. */
static inline int64_t to_integer(double v, int64_t zp, int64_t lo, int64_t hi) {
  if (isnan(v)) return zp;
  if (v <= (double)lo) return lo;
  if (v >= (double)hi) return hi;
  return (int64_t)v;
}

static inline float quantize_f32(float x, float inv_scale, float zp, float lo, float hi) {
  float v = nearbyintf(x * inv_scale) + zp; /* nearbyint: halves to even, like torch.round */
  return v < lo ? lo : (v > hi ? hi : v);   /* NaN passes through, as in torch.clamp */
}

static inline double quantize_f64(double x, double inv_scale, double zp, double lo, double hi) {
  double v = nearbyint(x * inv_scale) + zp;
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Quantizes n floats from `in` to out[0..n) of `r->dtype` with one set of
 * float32 parameters. */
#define QUANTIZE_ROW_F32(T, DLO, DHI)                                                   \
  for (int64_t i = 0; i < n; i++)                                                       \
    ((T *)out)[i] = (T)to_integer(quantize_f32(in[i], inv_scale, zpf, lo, hi), zp, DLO, DHI)

static void quantize_row_f32(const float *in, void *out, int dtype, int64_t n, float inv_scale,
                             int64_t zp, const ptec_qdq_range *r) {
  float zpf = (float)zp, lo = (float)r->quant_min, hi = (float)r->quant_max;
#if PTEC_KERNELS_X86 /* the same values, sixteen at a time (kernels/x86/quantize_s8_avx512.c) */
  if (dtype == PTEC_DTYPE_INT8 && ptec_x86_has_avx512_vnni()) {
    ptec_quantize_s8_avx512(in, out, n, inv_scale, (int32_t)zp, (int32_t)r->quant_min,
                            (int32_t)r->quant_max);
    return;
  }
#endif
#if PTEC_KERNELS_MVE /* the same values, four at a time (kernels/mve/quantize_s8_mve.c) */
  if (dtype == PTEC_DTYPE_INT8) {
    ptec_quantize_s8_mve(in, out, n, inv_scale, (int32_t)zp, (int32_t)r->quant_min,
                         (int32_t)r->quant_max);
    return;
  }
#endif
  switch (dtype) {
    case PTEC_DTYPE_UINT8: QUANTIZE_ROW_F32(uint8_t, 0, UINT8_MAX); break;
    case PTEC_DTYPE_INT8: QUANTIZE_ROW_F32(int8_t, INT8_MIN, INT8_MAX); break;
    case PTEC_DTYPE_INT16: QUANTIZE_ROW_F32(int16_t, INT16_MIN, INT16_MAX); break;
    default: QUANTIZE_ROW_F32(int32_t, INT32_MIN, INT32_MAX); break;
  }
}

#define QUANTIZE_ROW_F64(T, DLO, DHI)                                                   \
  for (int64_t i = 0; i < n; i++)                                                       \
    ((T *)out)[i] =                                                                     \
        (T)to_integer(quantize_f64((double)in[i], inv_scale, zpd, lo, hi), zp, DLO, DHI)

static void quantize_row_f64(const float *in, void *out, int dtype, int64_t n, double inv_scale,
                             int64_t zp, const ptec_qdq_range *r) {
  double zpd = (double)zp, lo = (double)r->quant_min, hi = (double)r->quant_max;
  switch (dtype) {
    case PTEC_DTYPE_UINT8: QUANTIZE_ROW_F64(uint8_t, 0, UINT8_MAX); break;
    case PTEC_DTYPE_INT8: QUANTIZE_ROW_F64(int8_t, INT8_MIN, INT8_MAX); break;
    case PTEC_DTYPE_INT16: QUANTIZE_ROW_F64(int16_t, INT16_MIN, INT16_MAX); break;
    default: QUANTIZE_ROW_F64(int32_t, INT32_MIN, INT32_MAX); break;
  }
}

/* ------------------------------------------------------------ per tensor */

/* Arguments: 0 input, 1 scale, 2 zero_point, 3 quant_min, 4 quant_max,
 * 5 dtype, 6 out. */
static ptec_status per_tensor_params(ptec_kernel_context *ctx, ptec_qdq_range *r, double *scale,
                                     int64_t *zp) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_TRY(ptec_qdq_read_range(ctx, 3, r));
  PTEC_TRY(ptec_check_dtype(ctx, in, PTEC_DTYPE_FLOAT32, "input"));
  PTEC_TRY(ptec_qdq_check_out(ctx, in, ptec_arg_tensor(ctx, 6), r->dtype));
  *scale = ptec_arg_double(ctx, 1);
  *zp = ptec_arg_int(ctx, 2);
  PTEC_TRY(ptec_qdq_check_scale(ctx, *scale, -1));
  return ptec_qdq_check_zero_point(ctx, *zp, r, -1);
}

ptec_status ptec_prepare_quantize_per_tensor_out(ptec_kernel_context *ctx) {
  ptec_qdq_range r;
  double scale;
  int64_t zp;
  return per_tensor_params(ctx, &r, &scale, &zp);
}

ptec_status ptec_kernel_quantize_per_tensor_out(ptec_kernel_context *ctx) {
  ptec_qdq_range r;
  double scale;
  int64_t zp;
  PTEC_TRY(per_tensor_params(ctx, &r, &scale, &zp));
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 6);
  quantize_row_f32(in->data, out->data, r.dtype, (int64_t)in->numel, (float)(1.0 / scale), zp,
                   &r);
  return PTEC_STATUS_OK;
}

/* ----------------------------------------------------------- per channel */

/* Arguments: 0 input, 1 scales, 2 zero_points, 3 axis, 4 quant_min,
 * 5 quant_max, 6 dtype, 7 out. */
static ptec_status per_channel_params(ptec_kernel_context *ctx, ptec_qdq_phase phase,
                                      ptec_qdq_range *r, ptec_qdq_channels *ch) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_TRY(ptec_qdq_read_range(ctx, 4, r));
  PTEC_TRY(ptec_check_dtype(ctx, in, PTEC_DTYPE_FLOAT32, "input"));
  PTEC_TRY(ptec_qdq_check_out(ctx, in, ptec_arg_tensor(ctx, 7), r->dtype));
  return ptec_qdq_read_channels(ctx, in, ptec_arg_tensor(ctx, 1), ptec_arg_tensor(ctx, 2), 3, r,
                                phase, ch);
}

ptec_status ptec_prepare_quantize_per_channel_out(ptec_kernel_context *ctx) {
  ptec_qdq_range r;
  ptec_qdq_channels ch;
  return per_channel_params(ctx, PTEC_QDQ_PREPARE, &r, &ch);
}

ptec_status ptec_kernel_quantize_per_channel_out(ptec_kernel_context *ctx) {
  ptec_qdq_range r;
  ptec_qdq_channels ch;
  PTEC_TRY(per_channel_params(ctx, PTEC_QDQ_EXECUTE, &r, &ch));
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 7);
  if (in->numel == 0) return PTEC_STATUS_OK;
  size_t elem = ptec_dtype_size(r.dtype);
  bool f32 = ch.scales->dtype == PTEC_DTYPE_FLOAT32;
  /* Memory order visits runs of `run` elements of one channel, channels in
   * turn: element i belongs to channel (i / run) % channels. */
  int64_t runs = (int64_t)in->numel / ch.run;
  for (int64_t k = 0; k < runs; k++) {
    int64_t c = k % ch.channels;
    const float *src = (const float *)in->data + k * ch.run;
    void *dst = (uint8_t *)out->data + (size_t)(k * ch.run) * elem;
    int64_t zp = ptec_qdq_zero_point_at(&ch, c);
    if (f32) {
      float inv_scale = 1.0f / ((const float *)ch.scales->data)[c];
      quantize_row_f32(src, dst, r.dtype, ch.run, inv_scale, zp, &r);
    } else {
      double inv_scale = 1.0 / ((const double *)ch.scales->data)[c];
      quantize_row_f64(src, dst, r.dtype, ch.run, inv_scale, zp, &r);
    }
  }
  return PTEC_STATUS_OK;
}
