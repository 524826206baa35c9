/*
 * ptec::rescale.out(Tensor input, int input_zp, Tensor multiplier,
 *   Tensor shift, int output_zp, int axis, *, Tensor(a!) out) -> Tensor(a!)
 *
 * TOSA RESCALE (scale32, SINGLE_ROUND), int8/int16/int32 to int8/int16/int32,
 * same shape, any dim orders; uint8 input or output is TOSA's
 * input_unsigned / output_unsigned on 8-bit data:
 *
 *   out = saturate_out_dtype(apply_scale_32(sat32(x - input_zp), m[c], s[c])
 *                            + output_zp)
 *
 * multiplier and shift are int32 [1] (per tensor; axis is then ignored) or
 * [input.size(axis)] (per channel, c = the index along axis; axis may be
 * negative). Zero points lie within their tensor's dtype; TOSA itself
 * allows nonzero ones only for 8-bit tensors, so keep int16/int32 ones 0
 * for NPU parity.
 */
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/qparams.h"
#include "kernels/quantized/variants.h"

enum { ARG_INPUT, ARG_INPUT_ZP, ARG_MULTIPLIER, ARG_SHIFT, ARG_OUTPUT_ZP, ARG_AXIS, ARG_OUT };

typedef struct rescale {
  const ptec_tensor *in, *multiplier, *shift;
  ptec_tensor *out;
  int64_t step;       /* 0 per tensor, 1 per channel */
  uint32_t axis;
  int32_t in_zp, out_zp, lo, hi;
} rescale;

static ptec_status setup(ptec_kernel_context *ctx, rescale *p, ptec_q_phase phase) {
  p->in = ptec_arg_tensor(ctx, ARG_INPUT);
  p->multiplier = ptec_arg_tensor(ctx, ARG_MULTIPLIER);
  p->shift = ptec_arg_tensor(ctx, ARG_SHIFT);
  p->out = ptec_arg_tensor(ctx, ARG_OUT);
  int32_t lo, hi;
  PTEC_CHECK(ctx, ptec_q_dtype_range(p->in->dtype, &lo, &hi), PTEC_STATUS_TYPE_MISMATCH,
             "input has dtype %s, expected (u)int8, int16 or int32", ptec_dtype_name(p->in->dtype));
  PTEC_CHECK(ctx, ptec_q_dtype_range(p->out->dtype, &p->lo, &p->hi), PTEC_STATUS_TYPE_MISMATCH,
             "out has dtype %s, expected (u)int8, int16 or int32", ptec_dtype_name(p->out->dtype));
  PTEC_TRY(ptec_check_same_shape(ctx, p->in, p->out, "input", "out"));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_INPUT_ZP, p->in->dtype, "input_zp", &p->in_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, p->out->dtype, "output_zp", &p->out_zp));
  int64_t channels = 1;
  p->axis = 0;
  const ptec_tensor *m = p->multiplier;
  if (m->rank == 1 && m->sizes[0] != 1) { /* per channel */
    PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, ARG_AXIS), p->in->rank, &p->axis));
    PTEC_CHECK(ctx, p->in->rank > 0, PTEC_STATUS_SHAPE_MISMATCH,
               "a per-channel rescale needs an input of rank >= 1");
    channels = p->in->sizes[p->axis];
  }
  return ptec_q_scale_tensors(ctx, p->multiplier, p->shift, channels, phase, &p->step);
}

ptec_status ptec_prepare_rescale_out(ptec_kernel_context *ctx) {
  rescale p;
  return setup(ctx, &p, PTEC_Q_PREPARE);
}

static int64_t load_any(const void *data, int dtype, int64_t i) {
  if (dtype == PTEC_DTYPE_UINT8) return ((const uint8_t *)data)[i];
  return dtype == PTEC_DTYPE_INT32 ? ((const int32_t *)data)[i] : ptec_q_load(data, dtype, i);
}

/* Stores a value already clamped to the dtype's range. */
static void store_any(void *data, int dtype, int64_t i, int32_t v) {
  if (dtype == PTEC_DTYPE_UINT8) ((uint8_t *)data)[i] = (uint8_t)v;
  else ptec_q_store(data, dtype, i, v);
}

ptec_status ptec_kernel_rescale_out(ptec_kernel_context *ctx) {
  rescale p;
  PTEC_TRY(setup(ctx, &p, PTEC_Q_EXECUTE));
  const ptec_tensor *in = p.in;
  const int32_t *m = p.multiplier->data, *s = p.shift->data;
#if PTEC_KERNELS_X86 /* int8, one scale, dense: sixteen at a time (kernels/x86/rescale_s8_avx512.c) */
  if (in->dtype == PTEC_DTYPE_INT8 && p.out->dtype == PTEC_DTYPE_INT8 && p.step == 0 &&
      ptec_tensor_is_contiguous(in) && ptec_tensor_is_contiguous(p.out) &&
      ptec_x86_has_avx512_vnni()) {
    ptec_rescale_s8_avx512(in->data, p.out->data, (int64_t)in->numel, p.in_zp, m[0], s[0],
                           p.out_zp, p.lo, p.hi);
    return PTEC_STATUS_OK;
  }
#endif
  /* Walk in logical order with the channel index as the split: the outer
   * iteration covers every dim but the axis, the inner loop the axis. */
  int64_t strides[2][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(p.out, strides[0]);
  ptec_tensor_strides(in, strides[1]);
  ptec_tensor_sizes64(in, sizes);
  int64_t channels = 1, cs_out = 0, cs_in = 0;
  if (p.step) {
    channels = sizes[p.axis];
    cs_out = strides[0][p.axis];
    cs_in = strides[1][p.axis];
    sizes[p.axis] = 1;
  }
  ptec_iter it;
  ptec_iter_init(&it, in->rank, sizes, in->dim_order, 2,
                 (const int64_t(*)[PTEC_MAX_RANK])strides, NULL);
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++)
      for (int64_t c = 0; c < channels; c++) {
        int64_t xi = it.offset[1] + j * it.step[1] + c * cs_in;
        int64_t v = load_any(in->data, in->dtype, xi) - p.in_zp;
        int64_t r = (int64_t)ptec_apply_scale_32(ptec_q_sat32(v), m[c * p.step], s[c * p.step]) +
                    p.out_zp;
        r = r < p.lo ? p.lo : r > p.hi ? p.hi : r;
        store_any(p.out->data, p.out->dtype, it.offset[0] + j * it.step[0] + c * cs_out,
                  (int32_t)r);
      }
  return PTEC_STATUS_OK;
}
