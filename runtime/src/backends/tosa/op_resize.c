/*
 * RESIZE(input [N, IH, IW, C], scale [y_n, y_d, x_n, x_d], offset [y, x],
 * border [y, x]), mode NEAREST or BILINEAR, following TOSA 1.0's integer
 * formulation: output (oy, ox) samples input position
 * (oy * y_d + offset_y) / y_n (x likewise); INT8 nearest gives INT8, INT8
 * bilinear gives INT32 (the weights are y_n and x_n, so the result is scaled
 * by y_n * x_n; a RESCALE follows), FP32 gives FP32 with fractional weights.
 */
#include <string.h>

#include "backends/tosa/tosa.h"

enum { P_YN, P_YD, P_XN, P_XD, P_OY, P_OX, P_MODE, P_FP };

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static ptec_status run_resize(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *xt = tosa_in(g, op, 0), *yt = tosa_out(g, op, 0);
  const int64_t IH = xt->sizes[1], IW = xt->sizes[2], C = xt->sizes[3];
  const int64_t OH = yt->sizes[1], OW = yt->sizes[2];
  const int32_t *p = op->p;
  const bool fp = p[P_FP] != 0, bilinear = p[P_MODE] == TOSA_RESIZE_BILINEAR;
  for (int64_t n = 0; n < xt->sizes[0]; n++)
    for (int64_t oy = 0; oy < OH; oy++)
      for (int64_t ox = 0; ox < OW; ox++) {
        int64_t y = oy * p[P_YD] + p[P_OY], x = ox * p[P_XD] + p[P_OX];
        int64_t iy = floor_div(y, p[P_YN]), ix = floor_div(x, p[P_XN]);
        int64_t ry = y - iy * p[P_YN], rx = x - ix * p[P_XN];
        int64_t iy0 = iy < 0 ? 0 : iy, iy1 = iy + 1 > IH - 1 ? IH - 1 : iy + 1;
        int64_t ix0 = ix < 0 ? 0 : ix, ix1 = ix + 1 > IW - 1 ? IW - 1 : ix + 1;
        int64_t base = n * IH * IW * C, yi = ((n * OH + oy) * OW + ox) * C;
        int64_t i00 = base + (iy0 * IW + ix0) * C, i01 = base + (iy0 * IW + ix1) * C;
        int64_t i10 = base + (iy1 * IW + ix0) * C, i11 = base + (iy1 * IW + ix1) * C;
        if (!bilinear) {
          bool down = 2 * ry >= p[P_YN], right = 2 * rx >= p[P_XN];
          int64_t src = down ? (right ? i11 : i10) : (right ? i01 : i00);
          size_t es = ptec_dtype_size(yt->t.dtype);
          memcpy((uint8_t *)yt->t.data + (size_t)yi * es,
                 (const uint8_t *)xt->t.data + (size_t)src * es, (size_t)C * es);
          continue;
        }
        for (int64_t c = 0; c < C; c++) {
          if (fp) {
            const float *xs = xt->t.data;
            float dy = (float)ry / (float)p[P_YN], dx = (float)rx / (float)p[P_XN];
            float acc = xs[i00 + c] * (1.0f - dy) * (1.0f - dx);
            acc += xs[i01 + c] * (1.0f - dy) * dx;
            acc += xs[i10 + c] * dy * (1.0f - dx);
            acc += xs[i11 + c] * dy * dx;
            ((float *)yt->t.data)[yi + c] = acc;
          } else {
            const int8_t *xs = xt->t.data;
            int64_t uy = p[P_YN], ux = p[P_XN];
            int64_t acc = xs[i00 + c] * (uy - ry) * (ux - rx) + xs[i01 + c] * (uy - ry) * rx +
                          xs[i10 + c] * ry * (ux - rx) + xs[i11 + c] * ry * rx;
            ((int32_t *)yt->t.data)[yi + c] = (int32_t)acc; /* |acc| < 2^7 * 2^22 */
          }
        }
      }
  return PTEC_STATUS_OK;
}

ptec_status tosa_setup_resize(tosa_graph *g, tosa_op *op) {
  if (op->num_in != 4 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 4 "
                        "and 1", op->num_in, op->num_out);
  }
  fb_table a;
  uint32_t mode;
  ptec_status s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = fb_u32(&g->r, &a, TOSA_RESIZE_MODE, 0, &mode);
  if (s != PTEC_STATUS_OK) return s;
  if (mode != TOSA_RESIZE_NEAREST && mode != TOSA_RESIZE_BILINEAR) {
    return tosa_op_fail(g, op, PTEC_STATUS_BAD_ENUM, "mode %u is not NEAREST or BILINEAR", mode);
  }
  int64_t scale[4], offset[2], border[2];
  uint32_t n1, n2, n3;
  s = tosa_const_shape(g, op, 1, scale, 4, &n1);
  if (s == PTEC_STATUS_OK) s = tosa_const_shape(g, op, 2, offset, 2, &n2);
  if (s == PTEC_STATUS_OK) s = tosa_const_shape(g, op, 3, border, 2, &n3);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  bool fp = x->type == TOSA_DTYPE_FP32;
  uint32_t want = fp ? TOSA_DTYPE_FP32 : mode == TOSA_RESIZE_BILINEAR ? TOSA_DTYPE_INT32
                                                                       : TOSA_DTYPE_INT8;
  if ((x->type != TOSA_DTYPE_INT8 && !fp) || y->type != want) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "types %s -> %s are not supported "
                        "(INT8 -> INT8 nearest, INT32 bilinear; FP32)", tosa_dtype_name(x->type),
                        tosa_dtype_name(y->type));
  }
  if (n1 != 4 || n2 != 2 || n3 != 2 || x->t.rank != 4 || y->t.rank != 4 ||
      y->sizes[0] != x->sizes[0] || y->sizes[3] != x->sizes[3]) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "needs scale[4], offset[2], border[2] "
                        "and NHWC input and output with equal N and C");
  }
  for (int k = 0; k < 2; k++) {
    int64_t num = scale[2 * k], den = scale[2 * k + 1], off = offset[k], bor = border[k];
    int64_t in = x->sizes[1 + k], out = y->sizes[1 + k];
    /* TOSA's ERROR_IFs, the level's max_scale, and sizes the int16
     * coordinates of the specification can hold. */
    if (num <= 0 || den <= 0 || num > (1 << 11) || den >= 16 * num ||
        num > TOSA_MAX_SCALE * den || off < -num || off >= 16 * num || bor < -16 * num ||
        bor >= num || in >= 16384 || out >= 16384) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "scale %lld/%lld, offset %lld or "
                          "border %lld is out of range", (long long)num, (long long)den,
                          (long long)off, (long long)bor);
    }
    int64_t span = (in - 1) * num - off + bor;
    if (span < 0 || span % den != 0 || span / den + 1 != out) {
      return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "output size %lld does not follow "
                          "exactly from the scale, offset and border", (long long)out);
    }
  }
  int32_t params[] = {(int32_t)scale[0], (int32_t)scale[1], (int32_t)scale[2], (int32_t)scale[3],
                      (int32_t)offset[0], (int32_t)offset[1], (int32_t)mode, fp};
  memcpy(op->p, params, sizeof params);
  op->run = run_resize;
  return PTEC_STATUS_OK;
}
