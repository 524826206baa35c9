/*
 * NEON variant of ptec::quantized_conv2d's depthwise case: int8, NHWC
 * input, depth multiplier 1 or a single input channel (DS-CNN's first
 * layer: every output channel reads it, broadcast), weights with channels
 * innermost ([KH, KW, C], dim order 1,2,3,0), at most MAX_TAPS taps; any
 * zero points, shifts, strides, padding and dilation.
 *
 * Per output pixel, the taps inside the input are listed, then sixteen
 * channels at a time take them one by one: (x - in_zp) and (w - w_zp)
 * widened to int16, SMLAL/SMLAL2 into four int32x4 accumulators (exact:
 * each product is at most 255 * 255, the sum of <= 64 of them fits int32).
 * The last C % 16 channels go through zero-padded copies of their runs.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <string.h>

#include "kernels/neon/requantize_neon.h"
#include "kernels/quantized/depthwise_taps.h"
#include "kernels/quantized/variants.h"

enum { MAX_TAPS = PTEC_DEPTHWISE_MAX_TAPS };

/* acc[c] = sum over taps t of (x[t][c] - izp) * (w[t][c] - wzp), c < 16;
 * `one`: a single input channel, its value broadcast to the 16 lanes. */
static void taps16(const int8_t *const *xs, const int8_t *const *ws, int taps, bool one,
                   int16x8_t izp, int16x8_t wzp, int32_t acc[16]) {
  int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
  for (int t = 0; t < taps; t++) {
    int16x8_t xl, xh;
    if (one) {
      xl = xh = vsubq_s16(vdupq_n_s16(*xs[t]), izp);
    } else {
      int8x16_t xv = vld1q_s8(xs[t]);
      xl = vsubq_s16(vmovl_s8(vget_low_s8(xv)), izp);
      xh = vsubq_s16(vmovl_high_s8(xv), izp);
    }
    int8x16_t wv = vld1q_s8(ws[t]);
    int16x8_t wl = vsubq_s16(vmovl_s8(vget_low_s8(wv)), wzp);
    int16x8_t wh = vsubq_s16(vmovl_high_s8(wv), wzp);
    a0 = vmlal_s16(a0, vget_low_s16(xl), vget_low_s16(wl));
    a1 = vmlal_high_s16(a1, xl, wl);
    a2 = vmlal_s16(a2, vget_low_s16(xh), vget_low_s16(wh));
    a3 = vmlal_high_s16(a3, xh, wh);
  }
  vst1q_s32(acc, a0);
  vst1q_s32(acc + 4, a1);
  vst1q_s32(acc + 8, a2);
  vst1q_s32(acc + 12, a3);
}

bool ptec_qconv_depthwise_s8_neon(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || p->wide ||
      (X.sc != 1 && X.c > 1) || (Y.c != X.c && X.c != 1) || (W.n > 1 && W.sn != 1) ||
      W.h * W.w > MAX_TAPS)
    return false;
  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t C = (int32_t)Y.c;
  const bool one = X.c == 1; /* x has no channel offset then */
  const int32_t full = C / 16 * 16;
  const int16x8_t izp = vdupq_n_s16((int16_t)p->in_zp);
  const int16x8_t wzp = vdupq_n_s16((int16_t)p->w_zp);
  const ptec_qout_s8 q = {.bias = p->bias ? p->bias->data : NULL,
                            .multiplier = p->multiplier->data, .shift = p->shift->data,
                            .scale_step = (int32_t)p->scale_step, .out_zp = p->out_zp,
                            .act_min = p->act_min, .act_max = p->act_max};
  const int8_t *xs[MAX_TAPS], *ws[MAX_TAPS], *xt[MAX_TAPS], *wt[MAX_TAPS];
  int8_t tail[2][MAX_TAPS][16];
  int32_t acc[16];
  for (int64_t n = 0; n < Y.n; n++)
    for (int64_t oy = 0; oy < Y.h; oy++)
      for (int64_t ox = 0; ox < Y.w; ox++) {
        int taps = ptec_depthwise_taps(p, x, w, n, oy, ox, xs, ws);
        int8_t *yp = y + n * Y.sn + oy * Y.sh + ox * Y.sw;
        for (int32_t c0 = 0; c0 < full; c0 += 16) {
          for (int t = 0; t < taps; t++) {
            xt[t] = one ? xs[t] : xs[t] + c0;
            wt[t] = ws[t] + c0;
          }
          taps16(xt, wt, taps, one, izp, wzp, acc);
          ptec_neon_requantize_run(&q, acc, c0, 16, yp + c0 * Y.sc, (ptrdiff_t)Y.sc);
        }
        if (full < C) {
          ptec_depthwise_tail(xs, ws, taps, one, full, (size_t)(C - full), tail, xt, wt);
          taps16(xt, wt, taps, one, izp, wzp, acc);
          ptec_neon_requantize_run(&q, acc, full, C - full, yp + full * Y.sc, (ptrdiff_t)Y.sc);
        }
      }
  return true;
}

#endif /* PTEC_KERNELS_NEON */
