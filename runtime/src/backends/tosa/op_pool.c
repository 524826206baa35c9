/*
 * AVG_POOL2D(input, input_zp, output_zp) and MAX_POOL2D(input), NHWC.
 *
 * int8 and int16 (EXT-INT16; zero points 0): ptec::quantized_avg_pool2d /
 * ptec::quantized_max_pool2d (TOSA's arithmetic: int32 accumulator, padding
 * not counted, reciprocal_scale division) on the NHWC data viewed as
 * logical NCHW. fp32 average: aten::avg_pool2d with
 * count_include_pad=False (TOSA counts only valid elements), padding
 * symmetric up to a trimmed trailing pad as for CONV2D. fp32 maximum: a
 * loop here (the portable kernel also writes indices, which TOSA has not).
 */
#include <math.h>
#include <string.h>

#include "backends/tosa/tosa.h"

typedef struct pool_shape {
  int32_t kernel[2], stride[2], pad[4];
  int64_t n, ih, iw, c, oh, ow;
} pool_shape;

static ptec_status check(tosa_graph *g, const tosa_op *op, pool_shape *p, uint32_t *extra) {
  fb_table a;
  ptec_status s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_POOL_KERNEL, p->kernel, 2, "kernel");
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_POOL_STRIDE, p->stride, 2, "stride");
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_POOL_PAD, p->pad, 4, "pad");
  if (s == PTEC_STATUS_OK) s = fb_u32(&g->r, &a, 3, 0, extra); /* acc_type or nan_mode */
  if (s == PTEC_STATUS_OK && op->code == TOSA_OP_MAX_POOL2D) s = tosa_check_nan_mode(g, op, *extra);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  if (x->t.rank != 4 || y->t.rank != 4 || x->type != y->type) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input and output must be rank-4 NHWC "
                        "of one type");
  }
  for (int k = 0; k < 2; k++) {
    if (p->kernel[k] < 1 || p->kernel[k] > TOSA_MAX_KERNEL || p->stride[k] < 1 ||
        p->stride[k] > TOSA_MAX_STRIDE) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "kernel %d and stride %d must be in "
                          "[1, %d]", p->kernel[k], p->stride[k], TOSA_MAX_KERNEL);
    }
  }
  for (int k = 0; k < 4; k++) {
    if (p->pad[k] < 0 || p->pad[k] >= p->kernel[k / 2]) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "pad %d must be in [0, kernel)",
                          p->pad[k]);
    }
  }
  p->n = x->sizes[0];
  p->ih = x->sizes[1];
  p->iw = x->sizes[2];
  p->c = x->sizes[3];
  int64_t sh = p->ih + p->pad[0] + p->pad[1] - p->kernel[0];
  int64_t sw = p->iw + p->pad[2] + p->pad[3] - p->kernel[1];
  if (sh < 0 || sw < 0 || sh % p->stride[0] != 0 || sw % p->stride[1] != 0) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "padded input does not divide exactly "
                        "by the stride");
  }
  p->oh = sh / p->stride[0] + 1;
  p->ow = sw / p->stride[1] + 1;
  if (y->sizes[0] != p->n || y->sizes[1] != p->oh || y->sizes[2] != p->ow || y->sizes[3] != p->c) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH,
                        "output must be [%lld, %lld, %lld, %lld]",
                        (long long)p->n, (long long)p->oh, (long long)p->ow, (long long)p->c);
  }
  return PTEC_STATUS_OK;
}

static void views(tosa_graph *g, tosa_op *op, const pool_shape *p, int32_t *x, int32_t *y) {
  static const uint8_t nhwc[4] = {0, 2, 3, 1};
  int32_t xs[4] = {(int32_t)p->n, (int32_t)p->c, (int32_t)p->ih, (int32_t)p->iw};
  int32_t ys[4] = {(int32_t)p->n, (int32_t)p->c, (int32_t)p->oh, (int32_t)p->ow};
  *x = tosa_value_view(g, op, tosa_in_index(g, op, 0), 4, xs, nhwc);
  *y = tosa_value_view(g, op, g->operands[op->out_at], 4, ys, nhwc);
}

static ptec_status run_max_pool_f32(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *xt = tosa_in(g, op, 0), *yt = tosa_out(g, op, 0);
  const int64_t IH = xt->sizes[1], IW = xt->sizes[2], C = xt->sizes[3];
  const int64_t OH = yt->sizes[1], OW = yt->sizes[2];
  const int32_t *p = op->p; /* kernel[2], stride[2], pad top, pad left */
  for (int64_t n = 0; n < xt->sizes[0]; n++)
    for (int64_t oy = 0; oy < OH; oy++)
      for (int64_t ox = 0; ox < OW; ox++)
        for (int64_t c = 0; c < C; c++) {
          float best = -INFINITY;
          bool nan = false;
          for (int64_t ky = 0; ky < p[0]; ky++) {
            int64_t iy = oy * p[2] - p[4] + ky;
            if (iy < 0 || iy >= IH) continue;
            for (int64_t kx = 0; kx < p[1]; kx++) {
              int64_t ix = ox * p[3] - p[5] + kx;
              if (ix < 0 || ix >= IW) continue;
              float v = tosa_load_float(xt, ((n * IH + iy) * IW + ix) * C + c);
              if (v != v) nan = true;
              else if (v > best) best = v;
            }
          }
          /* nan_mode PROPAGATE: any NaN wins; IGNORE: NaNs are skipped. */
          tosa_store_float(yt, ((n * OH + oy) * OW + ox) * C + c,
                           nan && p[6] != TOSA_NAN_IGNORE ? NAN : best); /* exact */
        }
  return PTEC_STATUS_OK;
}

ptec_status tosa_setup_pool(tosa_graph *g, tosa_op *op) {
  bool avg = op->code == TOSA_OP_AVG_POOL2D;
  uint32_t want_in = avg ? 3 : 1;
  if (op->num_in != want_in || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected %u "
                        "and 1", op->num_in, op->num_out, want_in);
  }
  pool_shape p;
  uint32_t extra;
  ptec_status s = check(g, op, &p, &extra);
  if (s != PTEC_STATUS_OK) return s;
  uint32_t type = tosa_in(g, op, 0)->type;
  int64_t kernel[2] = {p.kernel[0], p.kernel[1]}, stride[2] = {p.stride[0], p.stride[1]};
  int64_t pad[4] = {p.pad[0], p.pad[1], p.pad[2], p.pad[3]};
  int32_t x, y;
  if (type == TOSA_DTYPE_INT8 || type == TOSA_DTYPE_INT16) {
    const int64_t lo = type == TOSA_DTYPE_INT8 ? INT8_MIN : INT16_MIN;
    const int64_t hi = type == TOSA_DTYPE_INT8 ? INT8_MAX : INT16_MAX;
    views(g, op, &p, &x, &y);
    if (avg) {
      int64_t izp, ozp;
      if (extra != TOSA_DTYPE_INT32) {
        return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "acc_type must be INT32 for %s",
                            tosa_dtype_name(type));
      }
      s = tosa_const_scalar(g, op, 1, type, "input_zp", &izp);
      if (s == PTEC_STATUS_OK) s = tosa_const_scalar(g, op, 2, type, "output_zp", &ozp);
      if (s != PTEC_STATUS_OK) return s;
      if (type != TOSA_DTYPE_INT8 && (izp != 0 || ozp != 0)) {
        return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "zero points %lld and %lld must be "
                            "0 for INT16 (TOSA allows them only for INT8)", (long long)izp,
                            (long long)ozp);
      }
      /* ptec::quantized_avg_pool2d.out(input, kernel, stride, padding,
       *   input_zp, output_zp, act_min, act_max, out) */
      int32_t args[] = {x, tosa_value_list(g, op, kernel, 2), tosa_value_list(g, op, stride, 2),
                        tosa_value_list(g, op, pad, 4), tosa_value_int(g, op, izp),
                        tosa_value_int(g, op, ozp), tosa_value_int(g, op, lo),
                        tosa_value_int(g, op, hi), y, y};
      memcpy(op->call->args, args, sizeof args);
      op->call->num_args = sizeof args / sizeof args[0];
      s = tosa_use_kernel(g, op, "ptec::quantized_avg_pool2d.out");
    } else {
      int64_t dil[2] = {1, 1};
      /* ptec::quantized_max_pool2d.out(input, kernel, stride, padding,
       *   dilation, act_min, act_max, out) */
      int32_t args[] = {x, tosa_value_list(g, op, kernel, 2), tosa_value_list(g, op, stride, 2),
                        tosa_value_list(g, op, pad, 4), tosa_value_list(g, op, dil, 2),
                        tosa_value_int(g, op, lo), tosa_value_int(g, op, hi), y, y};
      memcpy(op->call->args, args, sizeof args);
      op->call->num_args = sizeof args / sizeof args[0];
      s = tosa_use_kernel(g, op, "ptec::quantized_max_pool2d.out");
    }
    if (s == PTEC_STATUS_OK) s = tosa_prepare_kernel(g, op);
    return s;
  }
  if (!tosa_is_float(type)) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "%s is not supported (INT8, INT16, FP32, "
                        "FP16, BF16)",
                        tosa_dtype_name(type));
  }
  if (!avg) {
    int32_t params[7] = {p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.pad[0], p.pad[2],
                         (int32_t)extra};
    memcpy(op->p, params, sizeof params);
    op->run = run_max_pool_f32;
    return PTEC_STATUS_OK;
  }
  if (extra != TOSA_DTYPE_FP32) { /* aten::avg_pool2d sums in float32 for every float type */
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "acc_type must be FP32 for %s",
                        tosa_dtype_name(type));
  }
  s = tosa_check_float_zps(g, op, 1, 2, type);
  if (s != PTEC_STATUS_OK) return s;
  int64_t fh = (p.ih + 2 * (int64_t)p.pad[0] - p.kernel[0]) / p.stride[0] + 1;
  int64_t fw = (p.iw + 2 * (int64_t)p.pad[2] - p.kernel[1]) / p.stride[1] + 1;
  if (p.pad[1] > p.pad[0] || p.pad[3] > p.pad[2] || fh != p.oh || fw != p.ow ||
      2 * p.pad[0] > p.kernel[0] || 2 * p.pad[2] > p.kernel[1]) {
    return tosa_op_fail(g, op, PTEC_STATUS_NOT_SUPPORTED, "float padding [%d, %d, %d, %d] is not "
                        "symmetric (up to a trimmed trailing pad) and at most half the kernel",
                        p.pad[0], p.pad[1], p.pad[2], p.pad[3]);
  }
  views(g, op, &p, &x, &y);
  int64_t sym[2] = {p.pad[0], p.pad[2]};
  /* aten::avg_pool2d.out(input, kernel, stride, padding, ceil_mode,
   *   count_include_pad, divisor_override, out) */
  int32_t args[] = {x, tosa_value_list(g, op, kernel, 2), tosa_value_list(g, op, stride, 2),
                    tosa_value_list(g, op, sym, 2), tosa_value_bool(g, op, false),
                    tosa_value_bool(g, op, false), tosa_value_none(g, op), y, y};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = sizeof args / sizeof args[0];
  return tosa_use_kernel(g, op, "aten::avg_pool2d.out");
}
