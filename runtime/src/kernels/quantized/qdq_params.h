/*
 * What the quantize/dequantize kernels (ops_qdq.def) share: reading and
 * checking their quantization parameters, and the walk over per-channel
 * tensors.
 *
 * The checks run twice: prepare runs them once at method init, so a file
 * with bad parameters fails at load, and execute runs them again (they are
 * a handful of comparisons) so a kernel never trusts what it has not seen.
 * Per-channel scales and zero points are checked where their contents are
 * known: at prepare when they are program constants (the usual case), at
 * every execute otherwise.
 */
#ifndef PTEC_KERNELS_QUANTIZED_QDQ_PARAMS_H
#define PTEC_KERNELS_QUANTIZED_QDQ_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernel.h"
#include "kernels/portable/common.h"

typedef enum ptec_qdq_phase { PTEC_QDQ_PREPARE, PTEC_QDQ_EXECUTE } ptec_qdq_phase;

/* A quantized dtype and the bounds its values are clamped to. */
typedef struct ptec_qdq_range {
  int dtype;          /* ptec_dtype: uint8, int8, int16 or int32 */
  int64_t quant_min;  /* within the dtype's range, <= quant_max */
  int64_t quant_max;
} ptec_qdq_range;

/* The value range of a quantized dtype (uint8, int8, int16, int32); false
 * for any other dtype. */
bool ptec_qdq_dtype_range(int64_t dtype, int64_t *lo, int64_t *hi);

/* Reads quant_min, quant_max (arguments `qmin_arg`, `qmin_arg + 1`) and the
 * ScalarType argument after them: NOT_SUPPORTED for a dtype other than
 * uint8/int8/int16/int32, OUT_OF_RANGE for bounds outside the dtype or
 * quant_min > quant_max. */
ptec_status ptec_qdq_read_range(ptec_kernel_context *ctx, uint32_t qmin_arg, ptec_qdq_range *r);

/* OUT_OF_RANGE unless `scale` is positive and finite. `channel` < 0 means a
 * per-tensor scale. */
ptec_status ptec_qdq_check_scale(ptec_kernel_context *ctx, double scale, int64_t channel);

/* OUT_OF_RANGE unless `zp` lies within [quant_min, quant_max]. */
ptec_status ptec_qdq_check_zero_point(ptec_kernel_context *ctx, int64_t zp,
                                      const ptec_qdq_range *r, int64_t channel);

/* TYPE_MISMATCH unless `out` has the dtype `dtype`; SHAPE_MISMATCH unless it
 * has in's shape; NOT_SUPPORTED unless it has in's dim order (the kernels
 * walk both in memory order). */
ptec_status ptec_qdq_check_out(ptec_kernel_context *ctx, const ptec_tensor *in,
                               const ptec_tensor *out, int dtype);

/*
 * Per-channel parameters: `scales` (float32 or float64) and `zero_points`
 * (int32 or int64, or NULL for none), rank 1, one entry per index of
 * dimension `axis` of the data tensor.
 */
typedef struct ptec_qdq_channels {
  const ptec_tensor *scales;
  const ptec_tensor *zero_points;  /* NULL: all zero */
  int64_t channels;                /* size of the axis */
  int64_t run;                     /* elements in a row with one channel, in memory order */
} ptec_qdq_channels;

/* Reads the axis (argument `axis_arg`) and checks scales and zero points
 * against `data` (the quantized or float tensor) and `r`; at the phase
 * where their contents are known, every scale and zero point too. */
ptec_status ptec_qdq_read_channels(ptec_kernel_context *ctx, const ptec_tensor *data,
                                   const ptec_tensor *scales, const ptec_tensor *zero_points,
                                   uint32_t axis_arg, const ptec_qdq_range *r,
                                   ptec_qdq_phase phase, ptec_qdq_channels *ch);

static inline double ptec_qdq_scale_at(const ptec_qdq_channels *ch, int64_t c) {
  const void *d = ch->scales->data;
  return ch->scales->dtype == PTEC_DTYPE_FLOAT32 ? (double)((const float *)d)[c]
                                                 : ((const double *)d)[c];
}

static inline int64_t ptec_qdq_zero_point_at(const ptec_qdq_channels *ch, int64_t c) {
  if (ch->zero_points == NULL) return 0;
  const void *d = ch->zero_points->data;
  return ch->zero_points->dtype == PTEC_DTYPE_INT32 ? (int64_t)((const int32_t *)d)[c]
                                                    : ((const int64_t *)d)[c];
}

#endif /* PTEC_KERNELS_QUANTIZED_QDQ_PARAMS_H */
