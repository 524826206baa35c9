/*
 * TRANSPOSE_CONV2D and CONV3D (input, weight, bias, input_zp, weight_zp):
 * INT8 x INT8 -> INT32 and FP32, as direct loops over TOSA's layouts (NHWC /
 * NDHWC input, OHWI / ODHWI weights). The runtime has no kernel with their
 * indexing, so they are implemented here, once, with TOSA's arithmetic: the
 * int32 accumulator of (x - input_zp) * (w - weight_zp) plus the bias (a
 * following RESCALE runs as its own operator). An int32 accumulator that
 * would overflow saturates, as in the fused kernels (TOSA: unpredictable).
 */
#include <string.h>

#include "backends/tosa/tosa.h"

/* op->p layout */
enum { P_SY, P_SX, P_PT, P_PL, P_XZP, P_WZP, P_FP };
/* CONV3D: strides d, h, w; pads front, top, left; dilations d, h, w. */
enum { P3_SD, P3_SH, P3_SW, P3_PD, P3_PH, P3_PW, P3_DD, P3_DH, P3_DW, P3_XZP, P3_WZP, P3_FP };

static int64_t sat32(int64_t v) {
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
}

static ptec_status run_transpose_conv(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *xt = tosa_in(g, op, 0), *wt = tosa_in(g, op, 1), *bt = tosa_in(g, op, 2);
  const tosa_tensor *yt = tosa_out(g, op, 0);
  const int64_t IH = xt->sizes[1], IW = xt->sizes[2], IC = xt->sizes[3];
  const int64_t OC = wt->sizes[0], KH = wt->sizes[1], KW = wt->sizes[2];
  const int64_t OH = yt->sizes[1], OW = yt->sizes[2], SY = op->p[P_SY], SX = op->p[P_SX];
  const bool fp = op->p[P_FP] != 0;
  for (int64_t n = 0; n < xt->sizes[0]; n++)
    for (int64_t oy = 0; oy < OH; oy++)
      for (int64_t ox = 0; ox < OW; ox++)
        for (int64_t oc = 0; oc < OC; oc++) {
          int64_t acc = 0;
          float facc = 0.0f;
          for (int64_t ky = 0; ky < KH; ky++) {
            int64_t y = oy - op->p[P_PT] - ky;
            if (y < 0 || y >= IH * SY || y % SY != 0) continue;
            for (int64_t kx = 0; kx < KW; kx++) {
              int64_t x = ox - op->p[P_PL] - kx;
              if (x < 0 || x >= IW * SX || x % SX != 0) continue;
              int64_t xi = ((n * IH + y / SY) * IW + x / SX) * IC;
              int64_t wi = ((oc * KH + ky) * KW + kx) * IC;
              for (int64_t ic = 0; ic < IC; ic++) {
                if (fp) {
                  facc += ((const float *)xt->t.data)[xi + ic] *
                          ((const float *)wt->t.data)[wi + ic];
                } else {
                  acc += ((int64_t)((const int8_t *)xt->t.data)[xi + ic] - op->p[P_XZP]) *
                         ((int64_t)((const int8_t *)wt->t.data)[wi + ic] - op->p[P_WZP]);
                }
              }
            }
          }
          int64_t yi = ((n * OH + oy) * OW + ox) * OC + oc;
          if (fp) {
            ((float *)yt->t.data)[yi] = facc + ((const float *)bt->t.data)[oc];
          } else {
            ((int32_t *)yt->t.data)[yi] =
                (int32_t)sat32(sat32(acc) + ((const int32_t *)bt->t.data)[oc]);
          }
        }
  return PTEC_STATUS_OK;
}

static ptec_status run_conv3d(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *xt = tosa_in(g, op, 0), *wt = tosa_in(g, op, 1), *bt = tosa_in(g, op, 2);
  const tosa_tensor *yt = tosa_out(g, op, 0);
  const int64_t ID = xt->sizes[1], IH = xt->sizes[2], IW = xt->sizes[3], IC = xt->sizes[4];
  const int64_t OC = wt->sizes[0], KD = wt->sizes[1], KH = wt->sizes[2], KW = wt->sizes[3];
  const int64_t OD = yt->sizes[1], OH = yt->sizes[2], OW = yt->sizes[3];
  const int32_t *p = op->p;
  const bool fp = p[P3_FP] != 0;
  for (int64_t n = 0; n < xt->sizes[0]; n++)
    for (int64_t od = 0; od < OD; od++)
      for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox = 0; ox < OW; ox++)
          for (int64_t oc = 0; oc < OC; oc++) {
            int64_t acc = 0;
            float facc = 0.0f;
            for (int64_t kd = 0; kd < KD; kd++) {
              int64_t d = od * p[P3_SD] - p[P3_PD] + kd * p[P3_DD];
              if (d < 0 || d >= ID) continue;
              for (int64_t ky = 0; ky < KH; ky++) {
                int64_t y = oy * p[P3_SH] - p[P3_PH] + ky * p[P3_DH];
                if (y < 0 || y >= IH) continue;
                for (int64_t kx = 0; kx < KW; kx++) {
                  int64_t x = ox * p[P3_SW] - p[P3_PW] + kx * p[P3_DW];
                  if (x < 0 || x >= IW) continue;
                  int64_t xi = (((n * ID + d) * IH + y) * IW + x) * IC;
                  int64_t wi = (((oc * KD + kd) * KH + ky) * KW + kx) * IC;
                  for (int64_t ic = 0; ic < IC; ic++) {
                    if (fp) {
                      facc += ((const float *)xt->t.data)[xi + ic] *
                              ((const float *)wt->t.data)[wi + ic];
                    } else {
                      acc += ((int64_t)((const int8_t *)xt->t.data)[xi + ic] - p[P3_XZP]) *
                             ((int64_t)((const int8_t *)wt->t.data)[wi + ic] - p[P3_WZP]);
                    }
                  }
                }
              }
            }
            int64_t yi = (((n * OD + od) * OH + oy) * OW + ox) * OC + oc;
            if (fp) {
              ((float *)yt->t.data)[yi] = facc + ((const float *)bt->t.data)[oc];
            } else {
              ((int32_t *)yt->t.data)[yi] =
                  (int32_t)sat32(sat32(acc) + ((const int32_t *)bt->t.data)[oc]);
            }
          }
  return PTEC_STATUS_OK;
}

/* Types, zero points and bias shared by both: sets p[xzp], p[wzp], p[fp]. */
static ptec_status check_types(tosa_graph *g, tosa_op *op, uint32_t acc, int32_t *xzp,
                               int32_t *wzp, int32_t *fp) {
  if (op->num_in != 5 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 5 "
                        "and 1", op->num_in, op->num_out);
  }
  uint32_t xt = tosa_in(g, op, 0)->type, wt = tosa_in(g, op, 1)->type,
           bt = tosa_in(g, op, 2)->type, yt = tosa_out(g, op, 0)->type;
  const tosa_tensor *w = tosa_in(g, op, 1), *b = tosa_in(g, op, 2);
  if (b->t.rank != 1 || b->sizes[0] != w->sizes[0]) {
    return tosa_op_fail(g, op, PTEC_STATUS_NOT_SUPPORTED, "bias must have one value per output "
                        "channel");
  }
  int64_t v0 = 0, v1 = 0;
  ptec_status s;
  if (xt == TOSA_DTYPE_INT8 && wt == TOSA_DTYPE_INT8 && bt == TOSA_DTYPE_INT32 &&
      yt == TOSA_DTYPE_INT32 && acc == TOSA_DTYPE_INT32) {
    s = tosa_const_scalar(g, op, 3, TOSA_DTYPE_INT8, "input_zp", &v0);
    if (s == PTEC_STATUS_OK) s = tosa_const_scalar(g, op, 4, TOSA_DTYPE_INT8, "weight_zp", &v1);
    *fp = 0;
  } else if (xt == TOSA_DTYPE_FP32 && wt == TOSA_DTYPE_FP32 && bt == TOSA_DTYPE_FP32 &&
             yt == TOSA_DTYPE_FP32 && acc == TOSA_DTYPE_FP32) {
    s = PTEC_STATUS_OK;
    for (uint32_t k = 3; s == PTEC_STATUS_OK && k < 5; k++) {
      const tosa_tensor *z = tosa_in(g, op, k);
      if (!(z->flags & TOSA_T_CONST) || z->type != TOSA_DTYPE_FP32 || z->t.numel != 1 ||
          *(const float *)z->t.data != 0.0f) {
        s = tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "FP32 zero points must be constant 0");
      }
    }
    *fp = 1;
  } else {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "types %s x %s -> %s are not supported "
                        "(INT8 -> INT32, FP32)", tosa_dtype_name(xt), tosa_dtype_name(wt),
                        tosa_dtype_name(yt));
  }
  *xzp = (int32_t)v0;
  *wzp = (int32_t)v1;
  return s;
}

static ptec_status setup_transpose_conv(tosa_graph *g, tosa_op *op) {
  fb_table a;
  int32_t out_pad[4], stride[2];
  uint32_t acc;
  ptec_status s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_TCONV_OUT_PAD, out_pad, 4, "out_pad");
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_TCONV_STRIDE, stride, 2, "stride");
  if (s == PTEC_STATUS_OK) s = fb_u32(&g->r, &a, TOSA_TCONV_ACC_TYPE, 0, &acc);
  if (s != PTEC_STATUS_OK) return s;
  int32_t xzp, wzp, fp;
  s = check_types(g, op, acc, &xzp, &wzp, &fp);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *w = tosa_in(g, op, 1), *y = tosa_out(g, op, 0);
  if (x->t.rank != 4 || w->t.rank != 4 || y->t.rank != 4 || w->sizes[3] != x->sizes[3]) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input [N, IH, IW, IC], weight [OC, KH, "
                        "KW, IC] and output [N, OH, OW, OC] do not agree");
  }
  int64_t kh = w->sizes[1], kw = w->sizes[2];
  if (stride[0] < 1 || stride[1] < 1 || stride[0] > TOSA_MAX_STRIDE ||
      stride[1] > TOSA_MAX_STRIDE || kh > TOSA_MAX_KERNEL || kw > TOSA_MAX_KERNEL ||
      out_pad[0] <= -kh || out_pad[1] <= -kh || out_pad[2] <= -kw || out_pad[3] <= -kw ||
      out_pad[0] > TOSA_MAX_KERNEL || out_pad[1] > TOSA_MAX_KERNEL ||
      out_pad[2] > TOSA_MAX_KERNEL || out_pad[3] > TOSA_MAX_KERNEL) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "stride, kernel or out_pad outside the "
                        "limits (stride >= 1, out_pad > -kernel, level 8K)");
  }
  int64_t oh = ((int64_t)x->sizes[1] - 1) * stride[0] + out_pad[0] + out_pad[1] + kh;
  int64_t ow = ((int64_t)x->sizes[2] - 1) * stride[1] + out_pad[2] + out_pad[3] + kw;
  if (y->sizes[0] != x->sizes[0] || y->sizes[1] != oh || y->sizes[2] != ow ||
      y->sizes[3] != w->sizes[0]) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "output must be [%d, %lld, %lld, %d]",
                        x->sizes[0], (long long)oh, (long long)ow, w->sizes[0]);
  }
  int32_t params[] = {stride[0], stride[1], out_pad[0], out_pad[2], xzp, wzp, fp};
  memcpy(op->p, params, sizeof params);
  op->run = run_transpose_conv;
  return PTEC_STATUS_OK;
}

static ptec_status setup_conv3d(tosa_graph *g, tosa_op *op) {
  fb_table a;
  int32_t pad[6], stride[3], dil[3];
  uint32_t acc;
  ptec_status s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_CONV_PAD, pad, 6, "pad");
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_CONV_STRIDE, stride, 3, "stride");
  if (s == PTEC_STATUS_OK) s = tosa_attr_i32s(g, op, &a, TOSA_CONV_DILATION, dil, 3, "dilation");
  if (s == PTEC_STATUS_OK) s = fb_u32(&g->r, &a, TOSA_CONV_ACC_TYPE, 0, &acc);
  if (s != PTEC_STATUS_OK) return s;
  int32_t xzp, wzp, fp;
  s = check_types(g, op, acc, &xzp, &wzp, &fp);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *w = tosa_in(g, op, 1), *y = tosa_out(g, op, 0);
  if (x->t.rank != 5 || w->t.rank != 5 || y->t.rank != 5 || w->sizes[4] != x->sizes[4] ||
      y->sizes[0] != x->sizes[0] || y->sizes[4] != w->sizes[0]) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input [N, ID, IH, IW, IC], weight "
                        "[OC, KD, KH, KW, IC] and output [N, OD, OH, OW, OC] do not agree");
  }
  for (int k = 0; k < 3; k++) {
    int64_t kk = w->sizes[k + 1];
    if (stride[k] < 1 || stride[k] > TOSA_MAX_STRIDE || dil[k] < 1 || pad[2 * k] < 0 ||
        pad[2 * k + 1] < 0 || pad[2 * k] > TOSA_MAX_KERNEL || pad[2 * k + 1] > TOSA_MAX_KERNEL ||
        (int64_t)dil[k] * kk > TOSA_MAX_KERNEL) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "stride, dilation, pad or kernel "
                          "outside the limits (level 8K)");
    }
    int64_t span = x->sizes[k + 1] - 1 + pad[2 * k] + pad[2 * k + 1] - (kk - 1) * dil[k];
    if (span < 0 || span % stride[k] != 0 || span / stride[k] + 1 != y->sizes[k + 1]) {
      return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "output dim %d does not follow "
                          "from the padded input and stride (exactly)", k + 1);
    }
  }
  int32_t params[] = {stride[0], stride[1], stride[2], pad[0], pad[2], pad[4],
                      dil[0],    dil[1],    dil[2],    xzp,    wzp,    fp};
  memcpy(op->p, params, sizeof params);
  op->run = run_conv3d;
  return PTEC_STATUS_OK;
}

ptec_status tosa_setup_conv_more(tosa_graph *g, tosa_op *op) {
  return op->code == TOSA_OP_CONV3D ? setup_conv3d(g, op) : setup_transpose_conv(g, op);
}
