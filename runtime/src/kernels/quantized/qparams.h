/*
 * What the fused integer kernels (ops_fused.def) share: the checks of their
 * static parameters, which prepare runs once at method init and execute
 * runs again (cheaply) so that a kernel never trusts what it has not seen,
 * and the epilogue every accumulating kernel ends with.
 *
 * Parameter conventions (also in each op file's header comment):
 *   - multiplier in [1, 2^31) and shift in [2, 62]: the scale is
 *     multiplier * 2^-shift, applied with ptec_apply_scale_32 (SINGLE_ROUND).
 *     A zero multiplier is refused: it stands for a scale of 0, which no
 *     quantized model has.
 *   - zero points lie within the dtype of the tensor they belong to;
 *   - activation_min <= activation_max, both within the out dtype.
 */
#ifndef PTEC_KERNELS_QUANTIZED_QPARAMS_H
#define PTEC_KERNELS_QUANTIZED_QPARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernel.h"
#include "kernels/portable/common.h"
#include "kernels/quantized/requantize.h"

/* Which of the two calls is checking: prepare sees constants' contents
 * only, execute sees every tensor's. Per-channel multiplier and shift
 * values are checked where they are known: at prepare when they are
 * program constants (the usual case), at every execute otherwise. */
typedef enum ptec_q_phase { PTEC_Q_PREPARE, PTEC_Q_EXECUTE } ptec_q_phase;

/* The range of an integer activation dtype (int8, int16, int32, and uint8
 * for rescale's unsigned input or output); false for any other dtype. */
bool ptec_q_dtype_range(int dtype, int32_t *lo, int32_t *hi);

/* Fails with TYPE_MISMATCH unless t's dtype is int8 or int16 (the
 * activation dtypes of the fused kernels). */
ptec_status ptec_q_check_activation_dtype(ptec_kernel_context *ctx, const ptec_tensor *t,
                                          const char *name);

/* Reads int argument `arg` as a zero point of `dtype`; OUT_OF_RANGE unless
 * it lies within the dtype's range. */
ptec_status ptec_q_zero_point(ptec_kernel_context *ctx, uint32_t arg, int dtype, const char *name,
                              int32_t *zp);

/* Reads int arguments `m_arg` and `s_arg` as a multiplier and a right
 * shift; OUT_OF_RANGE unless multiplier in [1, 2^31) and shift in [2, 62]. */
ptec_status ptec_q_scale(ptec_kernel_context *ctx, uint32_t m_arg, uint32_t s_arg,
                         const char *name, int32_t *multiplier, int32_t *shift);

/* Reads activation_min and activation_max (arguments `arg`, `arg + 1`);
 * OUT_OF_RANGE unless both lie within out_dtype's range and min <= max. */
ptec_status ptec_q_activation_range(ptec_kernel_context *ctx, uint32_t arg, int out_dtype,
                                    int32_t *lo, int32_t *hi);

/*
 * Checks per-channel multiplier and shift tensors: int32, rank 1, both of
 * length 1 (per tensor) or `channels` (TYPE_MISMATCH, SHAPE_MISMATCH), and
 * at the phase where their contents are known, every value in range
 * (OUT_OF_RANGE). Sets *step to 0 (per tensor) or 1 (per channel): entry c
 * is at index c * step.
 */
ptec_status ptec_q_scale_tensors(ptec_kernel_context *ctx, const ptec_tensor *multiplier,
                                 const ptec_tensor *shift, int64_t channels, ptec_q_phase phase,
                                 int64_t *step);

/* ------------------------------------------------------------- windows */

/* Reads an int list of 1 or 2 entries (H, W; one entry means both). An
 * empty list gives `dflt` when it is not NULL, else fails. Entries must be
 * positive (INVALID_ARGUMENT). */
ptec_status ptec_q_pair(ptec_kernel_context *ctx, uint32_t arg, const int64_t *dflt,
                        int64_t v[2], const char *name);

/* Reads padding: 1 entry (all sides), 2 (H, W: PyTorch's symmetric
 * padding) or 4 ([top, bottom, left, right], TOSA's order); entries must
 * not be negative. pad = {top, bottom, left, right}. */
ptec_status ptec_q_padding(ptec_kernel_context *ctx, uint32_t arg, int64_t pad[4]);

/* Output size of a window sliding over `in` (PyTorch's floor rule, which
 * TOSA's exact-division rule reaches by trimming the trailing pad); may be
 * <= 0 when the window does not fit. */
static inline int64_t ptec_q_window_out(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t k,
                                        int64_t stride, int64_t dilation) {
  int64_t span = in + pad_lo + pad_hi - dilation * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

/* An [N, C, H, W] (or [C, H, W], N = 1) tensor: sizes and element strides. */
typedef struct ptec_q_view4 {
  int64_t n, c, h, w;
  int64_t sn, sc, sh, sw;
} ptec_q_view4;

ptec_q_view4 ptec_q_view4_of(const ptec_tensor *t);

/* ------------------------------------------------------------ epilogue */

static inline int32_t ptec_q_sat32(int64_t v) {
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/*
 * The end of every accumulating kernel (conv, linear, matmul, mean):
 *   v   = sat32(sat32(acc) + bias)          TOSA's i32 accumulator and bias add
 *   out = clamp(apply_scale_32(v, m, s) + zp, lo, hi)   RESCALE, then CLAMP
 * TOSA calls an accumulator that overflows int32 unpredictable; here it
 * saturates, and tests/python/tosa_ref.py does the same.
 */
static inline int32_t ptec_q_requantize(int64_t acc, int64_t bias, int32_t multiplier,
                                        int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
  int32_t v = ptec_q_sat32((int64_t)ptec_q_sat32(acc) + bias);
  int64_t r = (int64_t)ptec_apply_scale_32(v, multiplier, shift) + zp;
  return r < lo ? lo : r > hi ? hi : (int32_t)r;
}

/* Element i of an int8 or int16 tensor's data. */
static inline int32_t ptec_q_load(const void *data, int dtype, int64_t i) {
  return dtype == PTEC_DTYPE_INT8 ? ((const int8_t *)data)[i] : ((const int16_t *)data)[i];
}

/* Stores a value already clamped to the dtype's range. */
static inline void ptec_q_store(void *data, int dtype, int64_t i, int32_t v) {
  if (dtype == PTEC_DTYPE_INT8) ((int8_t *)data)[i] = (int8_t)v;
  else if (dtype == PTEC_DTYPE_INT16) ((int16_t *)data)[i] = (int16_t)v;
  else ((int32_t *)data)[i] = v;
}

/* An accumulator of `terms` products of two int8 values minus int8 zero
 * points (each |.| <= 255) cannot overflow int32 below this many terms:
 * 33025 * 255 * 255 < 2^31. Fast paths accumulate in int32 under it. */
#define PTEC_Q_MAX_TERMS_I32 33025

#endif /* PTEC_KERNELS_QUANTIZED_QPARAMS_H */
