/*
 * Depthwise variant of ptec::quantized_conv2d (groups == input channels C,
 * weight [O, 1, KH, KW], output channel oc reads input channel oc / (O/C)):
 * TOSA DEPTHWISE_CONV2D + RESCALE + CLAMP, same arithmetic as
 * op_quantized_conv2d.c, which dispatches here.
 *
 * NHWC input: each tap adds a run of consecutive channels to a block of
 * int32 accumulators on the stack, so input reads (and, with weights laid
 * out [KH, KW, O] in memory, dim order 1,2,3,0 as TOSA's HWCM, weight reads
 * too) are contiguous. Any weight and output layout is accepted.
 */
#include "kernels/quantized/conv2d.h"

enum { BLOCK = 32 }; /* accumulators per block of output channels */

bool ptec_qconv_depthwise_s8_nhwc(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || X.sc != 1 ||
      W.h * W.w > PTEC_Q_MAX_TERMS_I32)
    return false;
  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t izp = p->in_zp, wzp = p->w_zp;
  const int64_t per_channel = Y.c / X.c; /* depth multiplier */
  int32_t acc[BLOCK];
  for (int64_t n = 0; n < Y.n; n++)
    for (int64_t oy = 0; oy < Y.h; oy++)
      for (int64_t ox = 0; ox < Y.w; ox++) {
        int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[2];
        for (int64_t oc0 = 0; oc0 < Y.c; oc0 += BLOCK) {
          int64_t count = Y.c - oc0 < BLOCK ? Y.c - oc0 : BLOCK;
          for (int64_t j = 0; j < count; j++) acc[j] = 0;
          for (int64_t ky = 0; ky < W.h; ky++) {
            int64_t iy = iy0 + ky * p->dilation[0];
            if (iy < 0 || iy >= X.h) continue;
            for (int64_t kx = 0; kx < W.w; kx++) {
              int64_t ix = ix0 + kx * p->dilation[1];
              if (ix < 0 || ix >= X.w) continue;
              const int8_t *xp = x + n * X.sn + iy * X.sh + ix * X.sw;
              const int8_t *wp = w + oc0 * W.sn + ky * W.sh + kx * W.sw;
              if (per_channel == 1) {
                for (int64_t j = 0; j < count; j++)
                  acc[j] += ((int32_t)xp[oc0 + j] - izp) * ((int32_t)wp[j * W.sn] - wzp);
              } else {
                for (int64_t j = 0; j < count; j++)
                  acc[j] += ((int32_t)xp[(oc0 + j) / per_channel] - izp) *
                            ((int32_t)wp[j * W.sn] - wzp);
              }
            }
          }
          int8_t *yp = y + n * Y.sn + oy * Y.sh + ox * Y.sw;
          for (int64_t j = 0; j < count; j++)
            yp[(oc0 + j) * Y.sc] = (int8_t)ptec_qconv_output(p, oc0 + j, acc[j]);
        }
      }
  return true;
}
