/*
 * CONV2D and DEPTHWISE_CONV2D (input, weight, bias, input_zp, weight_zp).
 *
 * Both run on the runtime's convolution kernels, which take logical NCHW
 * tensors of any dim order: TOSA's NHWC input is viewed as [N, C, H, W] with
 * dim order 0,2,3,1, OHWI weights as [O, I, KH, KW] with 0,2,3,1, and
 * depthwise HWCM weights as [C*M, 1, KH, KW] with 2,3,0,1 (output channel
 * c*M+m reads input channel c, as in PyTorch's grouped convolution). No data
 * is copied.
 *
 * INT (int8 x int8 -> int32): ptec::quantized_conv2d. When the int32 result
 * has one reader and it is a RESCALE to int8, the pair runs as one call
 * (requantized in the kernel's epilogue: the same apply_scale_32 on the same
 * int32 value, bias added first); otherwise the kernel runs with the
 * identity scale and writes the int32 accumulator plus bias.
 * EXT-INT16 (int16 x int8 + int48 bias -> int48, acc_type INT48): the same
 * kernel in its int64-out mode (INT48 tensors are int64 in memory): the
 * exact 64-bit accumulator plus bias, saturated to the int48 range where
 * TOSA calls the result unpredictable. input_zp must be 0 (TOSA), weight_zp
 * is any int8. The RESCALE (scale16) that follows runs on its own.
 * FP (fp32): aten::convolution, whose padding is symmetric: TOSA's
 * [top, bottom, left, right] is accepted when the floor rule with
 * (top, left) gives the same output size (the trailing pad is then never
 * read), which is how lowering from PyTorch writes it.
 */
#include <string.h>

#include "backends/tosa/tosa.h"

enum { IN_X, IN_W, IN_BIAS, IN_XZP, IN_WZP };

typedef struct conv_shape {
  int32_t pad[4], stride[2], dilation[2];
  int64_t n, ih, iw, ic, oc, kh, kw, oh, ow, m; /* m: depth multiplier */
  bool depthwise;
} conv_shape;

static ptec_status check_shape(tosa_graph *g, const tosa_op *op, conv_shape *c) {
  const tosa_tensor *x = tosa_in(g, op, IN_X), *w = tosa_in(g, op, IN_W),
                    *b = tosa_in(g, op, IN_BIAS), *y = tosa_out(g, op, 0);
  if (x->t.rank != 4 || w->t.rank != 4 || b->t.rank != 1 || y->t.rank != 4) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input, weight, bias and output must "
                        "have ranks 4, 4, 1, 4");
  }
  c->n = x->sizes[0];
  c->ih = x->sizes[1];
  c->iw = x->sizes[2];
  c->ic = x->sizes[3];
  if (c->depthwise) { /* [KH, KW, C, M] */
    c->kh = w->sizes[0];
    c->kw = w->sizes[1];
    c->m = w->sizes[3];
    c->oc = c->ic * c->m;
    if (w->sizes[2] != c->ic) {
      return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "weight has %d channels, input %lld",
                          w->sizes[2], (long long)c->ic);
    }
  } else { /* [OC, KH, KW, IC] */
    c->oc = w->sizes[0];
    c->kh = w->sizes[1];
    c->kw = w->sizes[2];
    c->m = 1;
    if (w->sizes[3] != c->ic) {
      return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "weight has %d input channels, "
                          "input %lld", w->sizes[3], (long long)c->ic);
    }
  }
  for (int k = 0; k < 4; k++) {
    if (c->pad[k] < 0 || c->pad[k] > TOSA_MAX_KERNEL) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "pad %d is outside [0, %d]", c->pad[k],
                          TOSA_MAX_KERNEL);
    }
  }
  for (int k = 0; k < 2; k++) {
    if (c->stride[k] < 1 || c->stride[k] > TOSA_MAX_STRIDE || c->dilation[k] < 1) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "stride %d and dilation %d must be in "
                          "[1, %d] and >= 1", c->stride[k], c->dilation[k], TOSA_MAX_STRIDE);
    }
  }
  if ((int64_t)c->dilation[0] * c->kh > TOSA_MAX_KERNEL ||
      (int64_t)c->dilation[1] * c->kw > TOSA_MAX_KERNEL || c->kh < 1 || c->kw < 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_BAD_SIZE, "kernel %lldx%lld with dilation exceeds "
                        "level 8K (%d)", (long long)c->kh, (long long)c->kw, TOSA_MAX_KERNEL);
  }
  int64_t span_h = c->ih - 1 + c->pad[0] + c->pad[1] - (c->kh - 1) * c->dilation[0];
  int64_t span_w = c->iw - 1 + c->pad[2] + c->pad[3] - (c->kw - 1) * c->dilation[1];
  if (span_h < 0 || span_w < 0 || span_h % c->stride[0] != 0 || span_w % c->stride[1] != 0) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "padded input does not divide exactly "
                        "by the stride (TOSA requires it)");
  }
  c->oh = span_h / c->stride[0] + 1;
  c->ow = span_w / c->stride[1] + 1;
  if (y->sizes[0] != c->n || y->sizes[1] != c->oh || y->sizes[2] != c->ow || y->sizes[3] != c->oc) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH,
                        "output must be [%lld, %lld, %lld, %lld]",
                        (long long)c->n, (long long)c->oh, (long long)c->ow, (long long)c->oc);
  }
  if (b->sizes[0] != c->oc) {
    return tosa_op_fail(g, op, PTEC_STATUS_NOT_SUPPORTED, "bias of %d values: one per output "
                        "channel (%lld) is supported", b->sizes[0], (long long)c->oc);
  }
  return PTEC_STATUS_OK;
}

static ptec_status read_attributes(tosa_graph *g, const tosa_op *op, conv_shape *c,
                                   uint32_t *acc) {
  fb_table a;
  ptec_status s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_CONV_PAD, c->pad, 4, "pad");
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_CONV_STRIDE, c->stride, 2, "stride");
  if (s == PTEC_STATUS_OK) {
    s = tosa_attr_i32s(g, op, &a, TOSA_CONV_DILATION, c->dilation, 2, "dilation");
  }
  if (s == PTEC_STATUS_OK) s = fb_u32(&g->r, &a, TOSA_CONV_ACC_TYPE, 0, acc);
  return s;
}

/* Views of x, w, y as the kernels' logical NCHW / OIHW tensors. */
static void add_views(tosa_graph *g, tosa_op *op, const conv_shape *c, int32_t v[3]) {
  static const uint8_t nhwc[4] = {0, 2, 3, 1}, hwcm[4] = {2, 3, 0, 1};
  int32_t xs[4] = {(int32_t)c->n, (int32_t)c->ic, (int32_t)c->ih, (int32_t)c->iw};
  int32_t ws[4] = {(int32_t)c->oc, c->depthwise ? 1 : (int32_t)c->ic, (int32_t)c->kh,
                   (int32_t)c->kw};
  v[0] = tosa_value_view(g, op, tosa_in_index(g, op, IN_X), 4, xs, nhwc);
  v[1] = tosa_value_view(g, op, tosa_in_index(g, op, IN_W), 4, ws, c->depthwise ? hwcm : nhwc);
  v[2] = -1; /* the output view is made by the caller (it may be the RESCALE's output) */
}

/* wide: EXT-INT16 (int16 input, int48 bias and output), else int8 -> int32. */
static ptec_status setup_int(tosa_graph *g, tosa_op *op, const conv_shape *c, bool wide) {
  int64_t xzp, wzp;
  ptec_status s = tosa_const_scalar(g, op, IN_XZP, wide ? TOSA_DTYPE_INT16 : TOSA_DTYPE_INT8,
                                    "input_zp", &xzp);
  if (s == PTEC_STATUS_OK) s = tosa_const_scalar(g, op, IN_WZP, TOSA_DTYPE_INT8, "weight_zp", &wzp);
  if (s != PTEC_STATUS_OK) return s;
  if (wide && xzp != 0) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "input_zp %lld must be 0 for INT16 "
                        "input (TOSA allows a zero point only for INT8)", (long long)xzp);
  }
  int32_t v[3];
  add_views(g, op, c, v);
  static const uint8_t nhwc[4] = {0, 2, 3, 1};
  int32_t ys[4] = {(int32_t)c->n, (int32_t)c->oc, (int32_t)c->oh, (int32_t)c->ow};
  int32_t multiplier, shift;
  int64_t out_zp = 0, lo = INT32_MIN, hi = INT32_MAX;
  if (wide) { /* the kernel's int64-out mode clamps to [lo, hi]: the int48 range */
    lo = -((int64_t)1 << 47);
    hi = ((int64_t)1 << 47) - 1;
  }
  int32_t y = g->operands[op->out_at];
  tosa_op *rescale = wide ? NULL : tosa_fusable_rescale(g, y);
  tosa_rescale_params rp;
  if (rescale != NULL && tosa_rescale_check(g, rescale, &rp) == PTEC_STATUS_OK && rp.scale32 &&
      !rp.out_unsigned &&
      tosa_out(g, rescale, 0)->type == TOSA_DTYPE_INT8 &&
      (!rp.per_channel || rp.channels == (uint32_t)c->oc)) {
    s = tosa_rescale_scale_values(g, op, rescale, &multiplier, &shift);
    if (s != PTEC_STATUS_OK) return s;
    out_zp = rp.out_zp;
    lo = INT8_MIN;
    hi = INT8_MAX;
    v[2] = tosa_fuse_rescale(g, op, rescale, 4, ys, nhwc);
  } else {
    g->message[0] = '\0'; /* a RESCALE that does not fuse is checked on its own */
    op->p[0] = 1 << 30; /* apply_scale_32's identity: (v * 2^30 + 2^29) >> 30 == v */
    op->p[1] = 30;
    multiplier = tosa_value_i32_tensor(g, op, &op->p[0], 1);
    shift = tosa_value_i32_tensor(g, op, &op->p[1], 1);
    v[2] = tosa_value_view(g, op, y, 4, ys, nhwc);
  }
  int64_t stride[2] = {c->stride[0], c->stride[1]}, dil[2] = {c->dilation[0], c->dilation[1]};
  int64_t pad[4] = {c->pad[0], c->pad[1], c->pad[2], c->pad[3]};
  /* ptec::quantized_conv2d.out(input, weight, bias, stride, padding, dilation,
   *   groups, input_zp, weight_zp, multiplier, shift, output_zp, act_min,
   *   act_max, out) */
  int32_t args[] = {v[0], v[1], tosa_in_index(g, op, IN_BIAS), tosa_value_list(g, op, stride, 2),
                    tosa_value_list(g, op, pad, 4), tosa_value_list(g, op, dil, 2),
                    tosa_value_int(g, op, c->depthwise ? c->ic : 1), tosa_value_int(g, op, xzp),
                    tosa_value_int(g, op, wzp), multiplier, shift, tosa_value_int(g, op, out_zp),
                    tosa_value_int(g, op, lo), tosa_value_int(g, op, hi), v[2], v[2]};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = sizeof args / sizeof args[0];
  s = tosa_use_kernel(g, op, "ptec::quantized_conv2d.out");
  if (s == PTEC_STATUS_OK) s = tosa_prepare_kernel(g, op);
  return s;
}

static ptec_status setup_fp(tosa_graph *g, tosa_op *op, const conv_shape *c) {
  ptec_status s = tosa_check_float_zps(g, op, IN_XZP, IN_WZP, tosa_in(g, op, IN_X)->type);
  if (s != PTEC_STATUS_OK) return s;
  int64_t floor_h = (c->ih + 2 * (int64_t)c->pad[0] - (c->kh - 1) * c->dilation[0] - 1) /
                        c->stride[0] + 1;
  int64_t floor_w = (c->iw + 2 * (int64_t)c->pad[2] - (c->kw - 1) * c->dilation[1] - 1) /
                        c->stride[1] + 1;
  if (c->pad[1] > c->pad[0] || c->pad[3] > c->pad[2] || floor_h != c->oh || floor_w != c->ow) {
    return tosa_op_fail(g, op, PTEC_STATUS_NOT_SUPPORTED, "float padding [%d, %d, %d, %d] is not "
                        "symmetric up to a trimmed trailing pad", c->pad[0], c->pad[1], c->pad[2],
                        c->pad[3]);
  }
  int32_t v[3];
  add_views(g, op, c, v);
  static const uint8_t nhwc[4] = {0, 2, 3, 1};
  int32_t ys[4] = {(int32_t)c->n, (int32_t)c->oc, (int32_t)c->oh, (int32_t)c->ow};
  v[2] = tosa_value_view(g, op, g->operands[op->out_at], 4, ys, nhwc);
  int64_t stride[2] = {c->stride[0], c->stride[1]}, dil[2] = {c->dilation[0], c->dilation[1]};
  int64_t pad[2] = {c->pad[0], c->pad[2]}, zero[2] = {0, 0};
  /* aten::convolution.out(input, weight, bias, stride, padding, dilation,
   *   transposed, output_padding, groups, out) */
  int32_t args[] = {v[0], v[1], tosa_in_index(g, op, IN_BIAS), tosa_value_list(g, op, stride, 2),
                    tosa_value_list(g, op, pad, 2), tosa_value_list(g, op, dil, 2),
                    tosa_value_bool(g, op, false), tosa_value_list(g, op, zero, 2),
                    tosa_value_int(g, op, c->depthwise ? c->ic : 1), v[2], v[2]};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = sizeof args / sizeof args[0];
  return tosa_use_kernel(g, op, "aten::convolution.out");
}

ptec_status tosa_setup_conv(tosa_graph *g, tosa_op *op) {
  if (op->num_in != 5 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 5 "
                        "and 1", op->num_in, op->num_out);
  }
  conv_shape c;
  memset(&c, 0, sizeof c);
  c.depthwise = op->code == TOSA_OP_DEPTHWISE_CONV2D;
  uint32_t acc;
  ptec_status s = read_attributes(g, op, &c, &acc);
  if (s == PTEC_STATUS_OK) s = check_shape(g, op, &c);
  if (s != PTEC_STATUS_OK) return s;
  uint32_t xt = tosa_in(g, op, IN_X)->type, wt = tosa_in(g, op, IN_W)->type,
           bt = tosa_in(g, op, IN_BIAS)->type, yt = tosa_out(g, op, 0)->type;
  if (xt == TOSA_DTYPE_INT8 && wt == TOSA_DTYPE_INT8 && bt == TOSA_DTYPE_INT32 &&
      yt == TOSA_DTYPE_INT32 && acc == TOSA_DTYPE_INT32) {
    return setup_int(g, op, &c, false);
  }
  if (xt == TOSA_DTYPE_INT16 && wt == TOSA_DTYPE_INT8 && bt == TOSA_DTYPE_INT48 &&
      yt == TOSA_DTYPE_INT48 && acc == TOSA_DTYPE_INT48) {
    return setup_int(g, op, &c, true);
  }
  /* FP16 / BF16 with an FP32 accumulator: aten::convolution's half variant accumulates in
   * float32 and rounds once. An FP16 accumulator (rounding every partial sum) is refused. */
  if (tosa_is_float(xt) && wt == xt && bt == xt && yt == xt && acc == TOSA_DTYPE_FP32) {
    return setup_fp(g, op, &c);
  }
  return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "types %s x %s + %s -> %s (acc %s) are not "
                      "supported (INT8xINT8+INT32->INT32, INT16xINT8+INT48->INT48, FP32, FP16 "
                      "and BF16 with an FP32 accumulator)",
                      tosa_dtype_name(xt), tosa_dtype_name(wt), tosa_dtype_name(bt),
                      tosa_dtype_name(yt), tosa_dtype_name(acc));
}
