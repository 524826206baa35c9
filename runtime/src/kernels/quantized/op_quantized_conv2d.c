/*
 * ptec::quantized_conv2d.out(Tensor input, Tensor weight, Tensor? bias,
 *   int[] stride, int[] padding, int[] dilation, int groups, int input_zp,
 *   int weight_zp, Tensor multiplier, Tensor shift, int output_zp,
 *   int activation_min, int activation_max, *, Tensor(a!) out) -> Tensor(a!)
 *
 * TOSA CONV2D (DEPTHWISE_CONV2D when groups == input channels) followed by
 * RESCALE and CLAMP, on logical NCHW tensors of any dim order:
 *
 *   acc[n,oc,oy,ox] = sum over ic in oc's group, ky, kx of
 *                     (x[n,ic,iy,ix] - input_zp) * (w[oc,ic',ky,kx] - weight_zp)
 *       iy = oy*stride_h - pad_top + ky*dilation_h (ix likewise); taps that
 *       fall in the padding contribute nothing (the pad value is input_zp)
 *   out = clamp(apply_scale_32(sat32(sat32(acc) + bias[oc]), m[c], s[c])
 *               + output_zp, activation_min, activation_max)
 *
 * with c = oc for per-channel multiplier/shift (length O) or 0 (length 1).
 * input int8 (bias int32) or int16 (bias int64 or int32); weight int8; out
 * of the input's dtype, or int32 for int8 input, or int64 for int16 input
 * (the two modes without requantization, below). padding is [p], [ph, pw]
 * or [top, bottom, left, right]; the output size follows PyTorch's floor
 * rule.
 *
 * a16w8 (int16 input): TOSA EXT-INT16 accumulates i16 x i8 in i48, and a
 * RESCALE of an i48 value must use scale16 (a 16-bit multiplier). ptec's
 * own int16 kernel calls (int16 out) follow ExecuTorch's lowering of a16w8
 * conv instead (DecomposeConv2dWithInt16ActivationPass): CONV2D without
 * bias, RESCALE i48 -> i32 by exactly 1.0 (TOSA requires the value to fit
 * int32), ADD the bias in i32, RESCALE i32 -> i16 with scale32. That keeps
 * the 31-bit multiplier, so int8 and int16 share one formula above; the
 * int64 accumulator saturates to int32 where TOSA's result would be
 * unpredictable. TOSA also wants input_zp 0 for int16; any int16 zero point
 * works here, but keep it 0 for parity with the NPU.
 *
 * Without requantization (TOSA CONV2D / DEPTHWISE_CONV2D alone, as the TOSA
 * executor runs them):
 *   - int8 input, int32 out: the caller passes the identity scale
 *     (multiplier 2^30, shift 30), output_zp 0 and the int32 range, so the
 *     formula above stores sat32(sat32(acc) + bias).
 *   - int16 input, int64 out (EXT-INT16's i48 accumulator):
 *       out = clamp(acc + bias[oc], activation_min, activation_max)
 *     exactly, in 64 bits; the activation range must lie within int48
 *     [-2^47, 2^47 - 1] (pass those bounds to saturate where TOSA's int48
 *     result would be unpredictable), output_zp must be 0, and multiplier
 *     and shift are checked as always but not applied.
 *
 * Variants: a reference loop (any layout, int64 accumulator); an NHWC fast
 * path (int8, channels innermost in input and weight, i.e. input dim order
 * 0,2,3,1 and weight OHWI 0,2,3,1; int32 accumulator); the depthwise fast
 * path in op_quantized_depthwise_conv2d.c. All give identical results.
 */
#include "kernels/quantized/conv2d.h"
#include "kernels/quantized/variants.h"
#include "kernels/ops_decl.h"

enum {
  ARG_INPUT, ARG_WEIGHT, ARG_BIAS, ARG_STRIDE, ARG_PADDING, ARG_DILATION, ARG_GROUPS,
  ARG_INPUT_ZP, ARG_WEIGHT_ZP, ARG_MULTIPLIER, ARG_SHIFT, ARG_OUTPUT_ZP, ARG_ACT_MIN,
  ARG_ACT_MAX, ARG_OUT
};

ptec_status ptec_qconv_setup(ptec_kernel_context *ctx, ptec_qconv *p, ptec_q_phase phase,
                             uint32_t out_arg) {
  p->in = ptec_arg_tensor(ctx, ARG_INPUT);
  p->weight = ptec_arg_tensor(ctx, ARG_WEIGHT);
  p->bias = ptec_arg_opt_tensor(ctx, ARG_BIAS);
  p->multiplier = ptec_arg_tensor(ctx, ARG_MULTIPLIER);
  p->shift = ptec_arg_tensor(ctx, ARG_SHIFT);
  p->out = ptec_arg_tensor(ctx, out_arg);
  const ptec_tensor *in = p->in, *w = p->weight, *bias = p->bias;
  PTEC_TRY(ptec_q_check_activation_dtype(ctx, in, "input"));
  PTEC_TRY(ptec_check_dtype(ctx, w, PTEC_DTYPE_INT8, "weight"));
  /* The modes without requantization (header): int8 -> int32, int16 -> int64. */
  p->wide = in->dtype == PTEC_DTYPE_INT16 && p->out->dtype == PTEC_DTYPE_INT64;
  if (!(in->dtype == PTEC_DTYPE_INT8 && p->out->dtype == PTEC_DTYPE_INT32) && !p->wide)
    PTEC_TRY(ptec_check_same_dtype(ctx, in, p->out, "input", "out"));
  PTEC_CHECK(ctx, in->rank == 4 && w->rank == 4, PTEC_STATUS_SHAPE_MISMATCH,
             "input and weight must be 4-D ([N, C, H, W], [O, C/groups, KH, KW]), got rank %u "
             "and %u", (unsigned)in->rank, (unsigned)w->rank);
  PTEC_TRY(ptec_q_pair(ctx, ARG_STRIDE, NULL, p->stride, "stride"));
  PTEC_TRY(ptec_q_padding(ctx, ARG_PADDING, p->pad));
  PTEC_TRY(ptec_q_pair(ctx, ARG_DILATION, NULL, p->dilation, "dilation"));
  p->groups = ptec_arg_int(ctx, ARG_GROUPS);
  p->x = ptec_q_view4_of(in);
  p->w = ptec_q_view4_of(w);
  int64_t O = p->w.n;
  PTEC_CHECK(ctx, p->groups > 0 && p->groups <= INT32_MAX && p->x.c % p->groups == 0 &&
                      O % p->groups == 0 && p->w.c * p->groups == p->x.c,
             PTEC_STATUS_SHAPE_MISMATCH,
             "weight [%lld, %lld, ...] does not fit %lld input channels in %lld groups",
             (long long)O, (long long)p->w.c, (long long)p->x.c, (long long)p->groups);
  int64_t oh = ptec_q_window_out(p->x.h, p->pad[0], p->pad[1], p->w.h, p->stride[0],
                                 p->dilation[0]);
  int64_t ow = ptec_q_window_out(p->x.w, p->pad[2], p->pad[3], p->w.w, p->stride[1],
                                 p->dilation[1]);
  PTEC_CHECK(ctx, oh > 0 && ow > 0, PTEC_STATUS_SHAPE_MISMATCH,
             "the kernel is larger than the padded input");
  int64_t want[4] = {p->x.n, O, oh, ow};
  PTEC_TRY(ptec_check_shape(ctx, p->out, want, 4, "out"));
  p->y = ptec_q_view4_of(p->out);
  if (bias) {
    bool ok = bias->dtype == PTEC_DTYPE_INT32 ||
              (in->dtype == PTEC_DTYPE_INT16 && bias->dtype == PTEC_DTYPE_INT64);
    PTEC_CHECK(ctx, ok, PTEC_STATUS_TYPE_MISMATCH,
               "bias has dtype %s, expected int32 (or int64 with int16 input)",
               ptec_dtype_name(bias->dtype));
    PTEC_CHECK(ctx, bias->rank == 1 && bias->sizes[0] == O, PTEC_STATUS_SHAPE_MISMATCH,
               "bias must have shape [%lld]", (long long)O);
  }
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_INPUT_ZP, in->dtype, "input_zp", &p->in_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_WEIGHT_ZP, PTEC_DTYPE_INT8, "weight_zp", &p->w_zp));
  if (p->wide) {
    const int64_t lo48 = -((int64_t)1 << 47), hi48 = ((int64_t)1 << 47) - 1;
    int64_t zp = ptec_arg_int(ctx, ARG_OUTPUT_ZP);
    p->wide_min = ptec_arg_int(ctx, ARG_ACT_MIN);
    p->wide_max = ptec_arg_int(ctx, ARG_ACT_MAX);
    PTEC_CHECK(ctx, zp == 0, PTEC_STATUS_OUT_OF_RANGE,
               "output_zp %lld must be 0 with an int64 out", (long long)zp);
    PTEC_CHECK(ctx, p->wide_min >= lo48 && p->wide_max <= hi48 && p->wide_min <= p->wide_max,
               PTEC_STATUS_OUT_OF_RANGE,
               "activation range [%lld, %lld] must be ordered and within int48 for an int64 out",
               (long long)p->wide_min, (long long)p->wide_max);
    p->out_zp = 0;
    p->act_min = INT32_MIN;
    p->act_max = INT32_MAX;
  } else {
    PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, p->out->dtype, "output_zp", &p->out_zp));
    PTEC_TRY(ptec_q_activation_range(ctx, ARG_ACT_MIN, p->out->dtype, &p->act_min,
                                     &p->act_max));
  }
  return ptec_q_scale_tensors(ctx, p->multiplier, p->shift, O, phase, &p->scale_step);
}

/* Any layout, int8 or int16, int64 accumulator; every out dtype (the only
 * path of the wide mode). */
static void conv_reference(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  const void *x = p->in->data;
  const int8_t *w = p->weight->data;
  void *y = p->out->data;
  int dtype = p->in->dtype;
  int64_t per_group = Y.c / p->groups;
  for (int64_t n = 0; n < Y.n; n++)
    for (int64_t oc = 0; oc < Y.c; oc++) {
      int64_t ic0 = oc / per_group * W.c;
      for (int64_t oy = 0; oy < Y.h; oy++)
        for (int64_t ox = 0; ox < Y.w; ox++) {
          int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[2];
          int64_t acc = 0;
          for (int64_t ky = 0; ky < W.h; ky++) {
            int64_t iy = iy0 + ky * p->dilation[0];
            if (iy < 0 || iy >= X.h) continue;
            for (int64_t kx = 0; kx < W.w; kx++) {
              int64_t ix = ix0 + kx * p->dilation[1];
              if (ix < 0 || ix >= X.w) continue;
              int64_t xo = n * X.sn + ic0 * X.sc + iy * X.sh + ix * X.sw;
              int64_t wo = oc * W.sn + ky * W.sh + kx * W.sw;
              for (int64_t ic = 0; ic < W.c; ic++) {
                int32_t xv = ptec_q_load(x, dtype, xo + ic * X.sc) - p->in_zp;
                int32_t wv = (int32_t)w[wo + ic * W.sc] - p->w_zp;
                acc += (int64_t)xv * wv;
              }
            }
          }
          int64_t yi = n * Y.sn + oc * Y.sc + oy * Y.sh + ox * Y.sw;
          if (p->wide) ((int64_t *)y)[yi] = ptec_qconv_wide_output(p, oc, acc);
          else ptec_q_store(y, p->out->dtype, yi, ptec_qconv_output(p, oc, acc));
        }
    }
}

/* int8, input channels innermost in input and weight: each tap is a dot
 * product of two contiguous int8 runs, accumulated in int32. */
static bool conv_s8_nhwc(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || X.sc != 1 ||
      W.sc != 1 || W.c * W.h * W.w > PTEC_Q_MAX_TERMS_I32)
    return false;
  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t izp = p->in_zp, wzp = p->w_zp;
  int64_t per_group = Y.c / p->groups, cg = W.c;
  for (int64_t n = 0; n < Y.n; n++)
    for (int64_t oy = 0; oy < Y.h; oy++)
      for (int64_t ox = 0; ox < Y.w; ox++) {
        int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[2];
        for (int64_t oc = 0; oc < Y.c; oc++) {
          const int8_t *xg = x + n * X.sn + oc / per_group * cg;
          const int8_t *wo = w + oc * W.sn;
          int32_t acc = 0;
          for (int64_t ky = 0; ky < W.h; ky++) {
            int64_t iy = iy0 + ky * p->dilation[0];
            if (iy < 0 || iy >= X.h) continue;
            for (int64_t kx = 0; kx < W.w; kx++) {
              int64_t ix = ix0 + kx * p->dilation[1];
              if (ix < 0 || ix >= X.w) continue;
              const int8_t *xp = xg + iy * X.sh + ix * X.sw;
              const int8_t *wp = wo + ky * W.sh + kx * W.sw;
              for (int64_t ic = 0; ic < cg; ic++)
                acc += ((int32_t)xp[ic] - izp) * ((int32_t)wp[ic] - wzp);
            }
          }
          y[n * Y.sn + oc * Y.sc + oy * Y.sh + ox * Y.sw] =
              (int8_t)ptec_qconv_output(p, oc, acc);
        }
      }
  return true;
}

ptec_status ptec_prepare_quantized_conv2d_out(ptec_kernel_context *ctx) {
  ptec_qconv p;
  return ptec_qconv_setup(ctx, &p, PTEC_Q_PREPARE, ARG_OUT);
}

void ptec_qconv_run(const ptec_qconv *p) {
  /* The ISA variants first (variants.h; `false` without one), then the C paths.
   * (A one-channel input with groups 1 is also "depthwise": both variants may apply.) */
  bool depthwise = ptec_qconv_is_depthwise(p);
  if (depthwise && PTEC_Q_VARIANT_DEPTHWISE(p)) return;
  if (PTEC_Q_VARIANT_CONV(p)) return;
  if (depthwise && ptec_qconv_depthwise_s8_nhwc(p)) return;
  if (conv_s8_nhwc(p)) return;
  conv_reference(p);
}

ptec_status ptec_kernel_quantized_conv2d_out(ptec_kernel_context *ctx) {
  ptec_qconv p;
  PTEC_TRY(ptec_qconv_setup(ctx, &p, PTEC_Q_EXECUTE, ARG_OUT));
  p.parallel = ctx->parallel;
  p.cpu_features = ctx->cpu_features;
  ptec_qconv_run(&p);
  return PTEC_STATUS_OK;
}
