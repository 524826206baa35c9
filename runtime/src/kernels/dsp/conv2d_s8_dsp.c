/*
 * DSP-extension (SMLAD) variant of ptec::quantized_conv2d (not depthwise)
 * for Cortex-M4/M7/M33: int8 in and out, NHWC input, OHWI weights
 * (input channels innermost), groups == 1, every shift in [2, 62] (as
 * checked), any zero points. Anything else returns false.
 *
 * Fast path (weight_zp 0, dense OHWI weights, a filter of at most KMAX
 * bytes): two output pixels at a time, their windows gathered (padded taps
 * as the zero point) and widened to int16 minus the zero point into a
 * stack buffer, interleaved; then for each pair of output channels one
 * assembly loop multiplies both pixels into both filters with SMLAD
 * (dot_dsp.h, 19 instructions per 16 MACs), and four outputs are
 * requantized (ptec_dsp_requantize).
 *
 * Otherwise: blocks of four output channels; per output pixel, each tap's
 * input run is widened (zero point included) and multiplied into the four
 * weight runs, skipping padded taps as the reference does; when a row's
 * taps are adjacent in memory, a row's valid taps are one run.
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_DSP
#include "kernels/dsp/dot_dsp.h"

/* ptec_qconv_output (the reference's epilogue) through ptec_dsp_requantize. */
static inline int32_t output(const ptec_qconv *p, int32_t oc, int32_t acc) {
  const int32_t *m = p->multiplier->data, *s = p->shift->data;
  const int32_t c = oc * (int32_t)p->scale_step;
  return ptec_dsp_requantize(acc, p->bias ? ((const int32_t *)p->bias->data)[oc] : 0, m[c],
                             s[c], p->out_zp, p->act_min, p->act_max);
}


enum { KMAX = 1024 }; /* filter bytes the fast path gathers: 5 KiB of stack */

/* Gathers output pixel (oy, ox)'s window, padded taps as zp, into win
 * (K bytes, then zp up to a multiple of 4). */
static void gather(const ptec_qconv *p, const int8_t *xn, int32_t oy, int32_t ox, int8_t *win,
                   int32_t k4) {
  const ptec_q_view4 X = p->x, W = p->w;
  const int32_t depth = (int32_t)W.c, kh = (int32_t)W.h, kw = (int32_t)W.w;
  const int32_t iy0 = oy * (int32_t)p->stride[0] - (int32_t)p->pad[0];
  const int32_t ix0 = ox * (int32_t)p->stride[1] - (int32_t)p->pad[2];
  int8_t *out = win;
  for (int32_t ky = 0; ky < kh; ky++) {
    const int32_t iy = iy0 + ky * (int32_t)p->dilation[0];
    for (int32_t kx = 0; kx < kw; kx++, out += depth) {
      const int32_t ix = ix0 + kx * (int32_t)p->dilation[1];
      if (iy >= 0 && iy < (int32_t)X.h && ix >= 0 && ix < (int32_t)X.w)
        memcpy(out, xn + iy * (ptrdiff_t)X.sh + ix * (ptrdiff_t)X.sw, (size_t)depth);
      else
        memset(out, p->in_zp, (size_t)depth);
    }
  }
  for (int32_t k = kh * kw * depth; k < k4; k++) win[k] = (int8_t)p->in_zp;
}

/* Both pixels (outputs at y0, y1; y1 only when `two`) times every pair of
 * output channels; `high`: every shift >= 32. */
static inline __attribute__((always_inline)) void channel_pairs(
    const ptec_qconv *p, const int32_t *xw, const int32_t rest[2][3], int32_t quads, int32_t K,
    int8_t *y0, int8_t *y1, bool two, bool high) {
  const ptec_q_view4 W = p->w, Y = p->y;
  const int32_t outs = (int32_t)Y.c;
  const int8_t *w = p->weight->data;
  const int32_t *bias = p->bias ? p->bias->data : NULL;
  const int32_t *mul = p->multiplier->data, *shift = p->shift->data;
  const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max;
  for (int32_t oc = 0; oc < outs; oc += 2) {
    const int32_t oc1 = oc + 1 < outs ? oc + 1 : oc;
    const int8_t *w0 = w + oc * (ptrdiff_t)W.sn, *w1 = w + oc1 * (ptrdiff_t)W.sn;
    int32_t acc[4] = {0, 0, 0, 0};
    ptec_dsp_dot_2x2(xw, w0, w1, quads, acc);
    for (int32_t k = 4 * quads; k < K; k++) { /* the last K % 4 bytes */
      const int32_t x0 = rest[0][k - 4 * quads], x1 = rest[1][k - 4 * quads];
      acc[0] += x0 * w0[k];
      acc[1] += x0 * w1[k];
      acc[2] += x1 * w0[k];
      acc[3] += x1 * w1[k];
    }
    for (int32_t j = 0; j < 2 && oc + j < outs; j++) {
      const int32_t c = oc + j, sc = c * (int32_t)p->scale_step;
      const int32_t b = bias ? bias[c] : 0, m = mul[sc], sh = shift[sc];
      int8_t *o0 = y0 + c * (ptrdiff_t)Y.sc, *o1 = y1 + c * (ptrdiff_t)Y.sc;
      if (high) {
        int32_t r = ptec_dsp_scale_high(__qadd(acc[j], b), m, sh) + zp;
        *o0 = (int8_t)(r < lo ? lo : r > hi ? hi : r);
        r = ptec_dsp_scale_high(__qadd(acc[2 + j], b), m, sh) + zp;
        if (two) *o1 = (int8_t)(r < lo ? lo : r > hi ? hi : r);
      } else {
        *o0 = (int8_t)ptec_q_requantize(acc[j], b, m, sh, zp, lo, hi);
        if (two) *o1 = (int8_t)ptec_q_requantize(acc[2 + j], b, m, sh, zp, lo, hi);
      }
    }
  }
}

static void conv_fast(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  const int32_t K = (int32_t)(W.c * W.h * W.w), k4 = (K + 3) & ~3, quads = K / 4;
  const int32_t outs = (int32_t)Y.c, ow = (int32_t)Y.w, pixels = (int32_t)(Y.h * Y.w);
  const int8_t *x = p->in->data;
  int8_t *y = p->out->data;
  const int32_t *shift = p->shift->data;
  bool high = true; /* every shift >= 32: ptec_dsp_scale_high */
  for (int32_t c = 0; c < (p->scale_step ? outs : 1); c++) high = high && shift[c] >= 32;
  int8_t win[KMAX];
  int32_t xw[KMAX];   /* two pixels, two words each per four bytes */
  int32_t rest[2][3]; /* the last K % 4 values minus the zero point */
  for (int32_t n = 0; n < (int32_t)Y.n; n++) {
    const int8_t *xn = x + n * (ptrdiff_t)X.sn;
    for (int32_t i = 0; i < pixels; i += 2) {
      const bool two = i + 1 < pixels; /* an odd last pixel is computed twice */
      const int32_t i1 = two ? i + 1 : i;
      for (int32_t q = 0; q < 2; q++) {
        const int32_t at = q ? i1 : i;
        gather(p, xn, at / ow, at % ow, win, k4);
        ptec_dsp_widen(win, k4, p->in_zp, xw + 2 * q, 4);
        for (int32_t k = 4 * quads; k < K; k++) rest[q][k - 4 * quads] = win[k] - p->in_zp;
      }
      int8_t *y0 = y + n * (ptrdiff_t)Y.sn + (i / ow) * (ptrdiff_t)Y.sh + (i % ow) * (ptrdiff_t)Y.sw;
      int8_t *y1 = y + n * (ptrdiff_t)Y.sn + (i1 / ow) * (ptrdiff_t)Y.sh + (i1 % ow) * (ptrdiff_t)Y.sw;
      if (high)
        channel_pairs(p, xw, rest, quads, K, y0, y1, two, true);
      else
        channel_pairs(p, xw, rest, quads, K, y0, y1, two, false);
    }
  }
}

bool ptec_qconv_s8_dsp(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || p->groups != 1 ||
      X.sc != 1 || W.sc != 1 || W.c * W.h * W.w > PTEC_Q_MAX_TERMS_I32)
    return false;
  /* Each filter is K contiguous bytes. A size-1 dim's stride is never applied:
   * 1x1 weights stored OIHW (as the compiler emits them) qualify. */
  if (p->w_zp == 0 && (W.w == 1 || W.sw == W.c) && (W.h == 1 || W.sh == W.w * W.c) &&
      W.c * W.h * W.w <= KMAX) {
    conv_fast(p);
    return true;
  }
  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t depth = (int32_t)W.c, kh = (int32_t)W.h, kw = (int32_t)W.w;
  const int32_t ih = (int32_t)X.h, iw = (int32_t)X.w, oh = (int32_t)Y.h, ow = (int32_t)Y.w;
  const int32_t sh = (int32_t)p->stride[0], sw = (int32_t)p->stride[1];
  const int32_t dh = (int32_t)p->dilation[0], dw = (int32_t)p->dilation[1];
  const int32_t pt = (int32_t)p->pad[0], pl = (int32_t)p->pad[2];
  const ptrdiff_t xsh = (ptrdiff_t)X.sh, xsw = (ptrdiff_t)X.sw;
  const ptrdiff_t wsh = (ptrdiff_t)W.sh, wsw = (ptrdiff_t)W.sw;
  const ptrdiff_t ysh = (ptrdiff_t)Y.sh, ysw = (ptrdiff_t)Y.sw, ysc = (ptrdiff_t)Y.sc;
  const int32_t nx2 = ptec_dsp_neg_zp2(p->in_zp), nw2 = ptec_dsp_neg_zp2(p->w_zp);
  /* A row's taps form one run in both input and weights. */
  const bool rows = dw == 1 && xsw == depth && wsw == depth;

  for (int32_t n = 0; n < (int32_t)Y.n; n++) {
    const int8_t *xn = x + n * (ptrdiff_t)X.sn;
    int8_t *yn = y + n * (ptrdiff_t)Y.sn;
    for (int32_t oc0 = 0; oc0 < (int32_t)Y.c; oc0 += 4) {
      const int32_t count = (int32_t)Y.c - oc0 < 4 ? (int32_t)Y.c - oc0 : 4;
      const int8_t *wb[4];
      for (int32_t j = 0; j < 4; j++)
        wb[j] = w + (oc0 + (j < count ? j : count - 1)) * (ptrdiff_t)W.sn;
      for (int32_t oy = 0; oy < oh; oy++) {
        const int32_t iy0 = oy * sh - pt;
        for (int32_t ox = 0; ox < ow; ox++) {
          const int32_t ix0 = ox * sw - pl;
          int32_t acc[4] = {0, 0, 0, 0};
          /* Valid taps of the row: kx in [kx0, kx1). */
          int32_t kx0 = 0, kx1 = kw;
          while (kx0 < kw && ix0 + kx0 * dw < 0) kx0++;
          while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= iw) kx1--;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky * dh;
            if (iy < 0 || iy >= ih || kx0 >= kx1) continue;
            const int8_t *xr = xn + iy * xsh + (ix0 + kx0 * dw) * xsw;
            ptrdiff_t wo = ky * wsh + kx0 * wsw;
            if (rows) {
              ptec_dsp_dot4(xr, wb[0] + wo, wb[1] + wo, wb[2] + wo, wb[3] + wo,
                            (kx1 - kx0) * depth, nx2, nw2, acc);
            } else {
              for (int32_t kx = kx0; kx < kx1; kx++, xr += dw * xsw, wo += wsw)
                ptec_dsp_dot4(xr, wb[0] + wo, wb[1] + wo, wb[2] + wo, wb[3] + wo, depth, nx2,
                              nw2, acc);
            }
          }
          int8_t *yp = yn + oc0 * ysc + oy * ysh + ox * ysw;
          for (int32_t j = 0; j < count; j++)
            yp[j * ysc] = (int8_t)output(p, oc0 + j, acc[j]);
        }
      }
    }
  }
  return true;
}

#endif /* PTEC_KERNELS_DSP */
