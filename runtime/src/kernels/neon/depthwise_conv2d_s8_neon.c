/*
 * NEON variant of ptec::quantized_conv2d's depthwise case: int8, NHWC
 * input, depth multiplier 1 or a single input channel (DS-CNN's first
 * layer: every output channel reads it, broadcast), weights with channels
 * innermost ([KH, KW, C], dim order 1,2,3,0), at most MAX_TAPS taps; any
 * zero points, shifts, strides, padding and dilation.
 *
 * Once per call the weights are widened to int16 with the weight zero point
 * taken off, (w - w_zp), into a stack table [KH * KW][C rounded up to 16]
 * (zeros past C; at most TABLE values, else the call declines). Per output
 * pixel the taps inside the input are listed (tap index and input pointer),
 * then sixteen channels at a time take them one by one: (x - in_zp) widened
 * to int16, two loads of the table, SMLAL/SMLAL2 into four int32x4
 * accumulators (exact: each product is at most 255 * 255, the sum of <= 64
 * of them fits int32). The last C % 16 channels read zero-padded copies of
 * their inputs. With channels innermost in the output the sixteen results
 * are requantized as vectors and stored as one 16-byte run (masked by a
 * copy for the last block).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <string.h>

#include "kernels/neon/requantize_neon.h"
#include "kernels/quantized/depthwise_taps.h"
#include "kernels/quantized/variants.h"

/* TABLE int16 weights: 32 KiB of stack (9 taps x 1820 channels, 64 x 256). */
enum { MAX_TAPS = PTEC_DEPTHWISE_MAX_TAPS, TABLE = 16384 };

/* a[0..3] += (x - in_zp) * (w - w_zp) on sixteen int16 lanes (low, high halves). */
static inline void mac16(int16x8_t xl, int16x8_t xh, int16x8_t wl, int16x8_t wh,
                         int32x4_t a[4]) {
  a[0] = vmlal_s16(a[0], vget_low_s16(xl), vget_low_s16(wl));
  a[1] = vmlal_high_s16(a[1], xl, wl);
  a[2] = vmlal_s16(a[2], vget_low_s16(xh), vget_low_s16(wh));
  a[3] = vmlal_high_s16(a[3], xh, wh);
}

/* acc = sum over taps t of (x[t][c] - izp) * wq[tap[t]][c], c < 16; `one`: a
 * single input channel, its value broadcast to the 16 lanes. */
static void taps16(const int8_t *const *xs, const int16_t *const *wr, int taps, bool one,
                   int16x8_t izp, int32x4_t acc[4]) {
  acc[0] = acc[1] = acc[2] = acc[3] = vdupq_n_s32(0);
  for (int t = 0; t < taps; t++) {
    int16x8_t xl, xh;
    if (one) {
      xl = xh = vsubq_s16(vdupq_n_s16(*xs[t]), izp);
    } else {
      int8x16_t xv = vld1q_s8(xs[t]);
      xl = vsubq_s16(vmovl_s8(vget_low_s8(xv)), izp);
      xh = vsubq_s16(vmovl_high_s8(xv), izp);
    }
    mac16(xl, xh, vld1q_s16(wr[t]), vld1q_s16(wr[t] + 8), acc);
  }
}

/* The same sum for a pixel whose window lies inside the input: tap t's input
 * at xb + off[t], its weights at wq + t * cp; (x - in_zp) by SSUBL (in_zp is
 * an int8 value here). No per-pixel list of taps. */
static void taps16_inside(const int8_t *xb, const int64_t *off, const int16_t *wq, int64_t cp,
                          int taps, int8x16_t izp8, int32x4_t acc[4]) {
  acc[0] = acc[1] = acc[2] = acc[3] = vdupq_n_s32(0);
  for (int t = 0; t < taps; t++, wq += cp) {
    const int8x16_t xv = vld1q_s8(xb + off[t]);
    mac16(vsubl_s8(vget_low_s8(xv), vget_low_s8(izp8)), vsubl_high_s8(xv, izp8), vld1q_s16(wq),
          vld1q_s16(wq + 8), acc);
  }
}

/* Channels c0 .. c0 + valid - 1 of one output pixel from their accumulators. */
static void store16(const ptec_qconv *p, const ptec_qout_s8 *q, int32x4_t acc[4], int32_t c0,
                    int32_t valid, int8_t *yp) {
  if (p->y.sc != 1) {
    int32_t a[16];
    for (int i = 0; i < 4; i++) vst1q_s32(a + 4 * i, acc[i]);
    ptec_neon_requantize_run(q, a, c0, valid, yp + c0 * p->y.sc, (ptrdiff_t)p->y.sc);
    return;
  }
  int32x4_t m[4], s[4], b[4], v[4];
  ptec_neon_params16(q->multiplier, q->scale_step, c0, valid, m);
  ptec_neon_params16(q->shift, q->scale_step, c0, valid, s);
  if (q->bias) {
    ptec_neon_params16(q->bias, 1, c0, valid, b);
  } else {
    b[0] = b[1] = b[2] = b[3] = vdupq_n_s32(0);
  }
  const int32x4_t zp = vdupq_n_s32(q->out_zp);
  const int32x4_t lo = vdupq_n_s32(q->act_min), hi = vdupq_n_s32(q->act_max);
  for (int i = 0; i < 4; i++) v[i] = ptec_neon_requantize4(acc[i], b[i], m[i], s[i], zp, lo, hi);
  ptec_neon_store16(yp + c0, v, valid);
}

bool ptec_qconv_depthwise_s8_neon(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  const int64_t cp = (Y.c + 15) / 16 * 16;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || p->wide ||
      (X.sc != 1 && X.c > 1) || (Y.c != X.c && X.c != 1) || (W.n > 1 && W.sn != 1) ||
      W.h * W.w > MAX_TAPS || W.h * W.w * cp > TABLE)
    return false;
  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t C = (int32_t)Y.c;
  const bool one = X.c == 1; /* x has no channel offset then */
  const int32_t full = C / 16 * 16;
  const int16x8_t izp = vdupq_n_s16((int16_t)p->in_zp);
  const ptec_qout_s8 q = {.bias = p->bias ? p->bias->data : NULL,
                            .multiplier = p->multiplier->data, .shift = p->shift->data,
                            .scale_step = (int32_t)p->scale_step, .out_zp = p->out_zp,
                            .act_min = p->act_min, .act_max = p->act_max};
  int16_t wq[TABLE];
  const int8_t *wp[MAX_TAPS]; /* tap j = ky * KW + kx's weights */
  for (int64_t ky = 0; ky < W.h; ky++)
    for (int64_t kx = 0; kx < W.w; kx++) {
      int16_t *row = wq + (ky * W.w + kx) * cp;
      const int8_t *src = wp[ky * W.w + kx] = w + ky * W.sh + kx * W.sw;
      for (int64_t c = 0; c < cp; c++) row[c] = c < C ? (int16_t)(src[c] - p->w_zp) : 0;
    }
  /* Windows inside the input take taps16_inside: tap offsets from the window's corner. */
  int64_t off[MAX_TAPS];
  for (int64_t ky = 0; ky < W.h; ky++)
    for (int64_t kx = 0; kx < W.w; kx++)
      off[ky * W.w + kx] = ky * p->dilation[0] * X.sh + kx * p->dilation[1] * X.sw;
  const bool inside_ok = !one && p->in_zp >= INT8_MIN && p->in_zp <= INT8_MAX;
  const int8x16_t izp8 = vdupq_n_s8((int8_t)p->in_zp);
  const int64_t span_y = (W.h - 1) * p->dilation[0], span_x = (W.w - 1) * p->dilation[1];
  const int8_t *xs[MAX_TAPS], *ws[MAX_TAPS], *xt[MAX_TAPS];
  const int16_t *wr[MAX_TAPS], *wt[MAX_TAPS];
  int8_t tail[MAX_TAPS][16];
  int32x4_t acc[4];
  for (int64_t n = 0; n < Y.n; n++)
    for (int64_t oy = 0; oy < Y.h; oy++)
      for (int64_t ox = 0; ox < Y.w; ox++) {
        int8_t *yp = y + n * Y.sn + oy * Y.sh + ox * Y.sw;
        const int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[2];
        int32_t c0 = 0;
        if (inside_ok && iy0 >= 0 && iy0 + span_y < X.h && ix0 >= 0 && ix0 + span_x < X.w) {
          const int8_t *xb = x + n * X.sn + iy0 * X.sh + ix0 * X.sw;
          for (; c0 < full; c0 += 16) {
            taps16_inside(xb + c0, off, wq + c0, cp, (int)(W.h * W.w), izp8, acc);
            store16(p, &q, acc, c0, 16, yp);
          }
          if (c0 == C) continue; /* else the last C % 16 below */
        }
        const int taps = ptec_depthwise_taps(p, x, w, n, oy, ox, xs, ws);
        /* Each listed tap's table row: taps come in (ky, kx) order, so a forward
         * walk over the window's weight pointers finds them (equal pointers
         * would mean equal weights, hence equal rows). */
        for (int t = 0, j = 0; t < taps; t++) {
          while (wp[j] != ws[t]) j++;
          wr[t] = wq + (int64_t)j * cp;
        }
        for (; c0 < C; c0 += 16) {
          for (int t = 0; t < taps; t++) {
            wt[t] = wr[t] + c0;
            if (one || c0 < full) {
              xt[t] = one ? xs[t] : xs[t] + c0;
            } else { /* the last C % 16 channels: a padded copy of the inputs */
              memset(tail[t], 0, 16);
              memcpy(tail[t], xs[t] + c0, (size_t)(C - c0));
              xt[t] = tail[t];
            }
          }
          taps16(xt, wt, taps, one, izp, acc);
          store16(p, &q, acc, c0, C - c0 < 16 ? C - c0 : 16, yp);
        }
      }
  return true;
}

#endif /* PTEC_KERNELS_NEON */
