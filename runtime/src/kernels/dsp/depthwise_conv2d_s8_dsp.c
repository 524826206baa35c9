/*
 * DSP-extension variant of ptec::quantized_conv2d when depthwise (depth
 * multiplier 1, or a single input channel): int8 in and out, NHWC input,
 * weights [KH, KW, C] in memory (dim order 1,2,3,0), any zero points.
 * Anything else returns false.
 *
 * Per output pixel the valid taps' offsets are listed once; then four
 * channels at a time: per tap, one 32-bit load each of input and weights,
 * widened to halfword pairs with the zero points subtracted (SXTAB16), and
 * SMLABB / SMLATT multiply-accumulate each channel's halves separately
 * (channels do not mix, so SMLAD's pairwise sum does not apply). Padded
 * taps are skipped, as in the reference. At most MAX_TAPS taps.
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_DSP
#include "kernels/dsp/dot_dsp.h"

enum { MAX_TAPS = 64 }; /* kernel taps (offsets kept on the stack) */

/*
 * Blocks of four channels over the listed taps (offs: input and weight
 * byte offsets per tap, >= 1 tap): per tap one load each of input and
 * weights, SXTAB16 (input minus its zero point) / SXTB16 halves, and
 * SMLABB / SMLATT into four accumulators (13 instructions per 4 MACs); each
 * block's accumulators go to out (STM). weight_zp must be 0.
 */
static void taps_blocks(const int8_t *xc, const int8_t *wc, const int32_t *offs, int32_t taps,
                        int32_t nx2, int32_t blocks, int32_t *out) {
#if defined(__OPTIMIZE__) /* -O0 keeps a frame pointer: too few registers */
  register const int8_t *px __asm__("r8") = xc;
  register const int8_t *pw __asm__("r9") = wc;
  register int32_t z __asm__("r12") = nx2;
  const int32_t *mo = offs;
  int32_t mt = taps, mb = blocks;
  int32_t *mout = out;
  __asm__ volatile(
      "2:\n\t"
      "movs r0, #0\n\t"
      "movs r1, #0\n\t"
      "movs r2, #0\n\t"
      "movs r3, #0\n\t"
      "ldr r10, %[mo]\n\t"
      "ldr r11, %[mt]\n"
      "1:\n\t"
      "ldrd r4, r5, [r10], #8\n\t"
      "ldr r4, [%[px], r4]\n\t"
      "ldr r5, [%[pw], r5]\n\t"
      "sxtab16 r6, %[z], r4\n\t"
      "sxtab16 r4, %[z], r4, ror #8\n\t"
      "sxtb16 lr, r5\n\t"
      "sxtb16 r5, r5, ror #8\n\t"
      "smlabb r0, r6, lr, r0\n\t"
      "smlatt r2, r6, lr, r2\n\t"
      "smlabb r1, r4, r5, r1\n\t"
      "smlatt r3, r4, r5, r3\n\t"
      "subs r11, r11, #1\n\t"
      "bne 1b\n\t"
      "ldr r4, %[mout]\n\t"
      "stm r4!, {r0, r1, r2, r3}\n\t"
      "str r4, %[mout]\n\t"
      "adds %[px], %[px], #4\n\t"
      "adds %[pw], %[pw], #4\n\t"
      "ldr r4, %[mb]\n\t"
      "subs r4, r4, #1\n\t"
      "str r4, %[mb]\n\t"
      "bne 2b"
      : [px] "+r"(px), [pw] "+r"(pw), [mout] "+m"(mout), [mb] "+m"(mb)
      : [mo] "m"(mo), [mt] "m"(mt), [z] "r"(z)
      : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r10", "r11", "lr", "memory", "cc");
#else
  for (int32_t b = 0; b < blocks; b++, xc += 4, wc += 4, out += 4) {
    int32_t a[4] = {0, 0, 0, 0};
    for (int32_t t = 0; t < taps; t++) {
      uint32_t xv = ptec_dsp_read4(xc + offs[2 * t]), wv = ptec_dsp_read4(wc + offs[2 * t + 1]);
      int32_t xe = ptec_dsp_even(xv, nx2), we = ptec_dsp_even(wv, 0);
      int32_t xo = ptec_dsp_odd(xv, nx2), wo = ptec_dsp_odd(wv, 0);
      a[0] = __smlabb(xe, we, a[0]);
      a[2] = __smlatt(xe, we, a[2]);
      a[1] = __smlabb(xo, wo, a[1]);
      a[3] = __smlatt(xo, wo, a[3]);
    }
    for (int32_t j = 0; j < 4; j++) out[j] = a[j];
  }
#endif
}

/* acc[i] for channels c0 + i, i < count (any zero points): the C loops. */
static void taps_c(const int8_t *xn, const int8_t *w, const int32_t *offs, int32_t taps,
                   int32_t c0, int32_t count, int32_t izp, int32_t wzp, int32_t *acc) {
  for (int32_t i = 0; i < count; i++) acc[i] = 0;
  for (int32_t t = 0; t < taps; t++) {
    const int8_t *xp = xn + offs[2 * t] + c0, *wp = w + offs[2 * t + 1] + c0;
    for (int32_t i = 0; i < count; i++) acc[i] += (xp[i] - izp) * (wp[i] - wzp);
  }
}

/* Requantizes count channels from acc to yp (channel stride ysc). */
static inline __attribute__((always_inline)) void requantize_run(
    const ptec_qconv *p, const int32_t *acc, int32_t c0, int32_t count, int8_t *yp,
    ptrdiff_t ysc, bool high) {
  const int32_t *mul = p->multiplier->data, *shift = p->shift->data;
  const int32_t *bias = p->bias ? p->bias->data : NULL;
  const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max, step = (int32_t)p->scale_step;
  for (int32_t i = 0; i < count; i++) {
    const int32_t c = c0 + i, sc = c * step, b = bias ? bias[c] : 0;
    int32_t r;
    if (high) {
      r = ptec_dsp_scale_high(__qadd(acc[i], b), mul[sc], shift[sc]) + zp;
      r = r < lo ? lo : r > hi ? hi : r;
    } else {
      r = ptec_q_requantize(acc[i], b, mul[sc], shift[sc], zp, lo, hi);
    }
    yp[c * ysc] = (int8_t)r;
  }
}

enum { CHUNK = 256 }; /* channels accumulated at a time (1 KiB of stack) */

/*
 * One input channel (groups == C == 1, weights [KH, KW, O], O innermost):
 * each tap is one input value times a run of O weights; four outputs at a
 * time, the weights widened in pairs (SXTB16) and multiplied by x - izp in
 * a bottom halfword (SMLABB / SMLABT). acc holds up to CHUNK outputs.
 */
static void single_channel(const ptec_qconv *p, const int8_t *xn, const int8_t *w,
                           const int32_t *offs, int32_t taps, int32_t *acc, int8_t *yp,
                           ptrdiff_t ysc, bool high) {
  const int32_t outs = (int32_t)p->y.c, izp = p->in_zp, wzp = p->w_zp;
  for (int32_t o0 = 0; o0 < outs; o0 += CHUNK) {
    const int32_t count = outs - o0 < CHUNK ? outs - o0 : CHUNK, quads = wzp == 0 ? count / 4 : 0;
    for (int32_t i = 0; i < count; i++) acc[i] = 0;
    for (int32_t t = 0; t < taps; t++) {
      const int32_t xv = xn[offs[2 * t]] - izp;
      const int8_t *wp = w + offs[2 * t + 1] + o0;
      for (int32_t q = 0; q < quads; q++) {
        const uint32_t v = ptec_dsp_read4(wp + 4 * q);
        const int32_t we = ptec_dsp_even(v, 0), wo = ptec_dsp_odd(v, 0);
        int32_t *a = acc + 4 * q;
        a[0] = __smlabb(xv, we, a[0]);
        a[1] = __smlabb(xv, wo, a[1]);
        a[2] = __smlabt(xv, we, a[2]);
        a[3] = __smlabt(xv, wo, a[3]);
      }
      for (int32_t i = 4 * quads; i < count; i++) acc[i] += xv * (wp[i] - wzp);
    }
    if (high)
      requantize_run(p, acc, o0, count, yp, ysc, true);
    else
      requantize_run(p, acc, o0, count, yp, ysc, false);
  }
}

bool ptec_qconv_depthwise_s8_dsp(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 ||
      (X.sc != 1 && X.c != 1) || W.sn != 1 || (Y.c != X.c && X.c != 1) ||
      W.h * W.w > MAX_TAPS)
    return false;
  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t channels = (int32_t)X.c, kh = (int32_t)W.h, kw = (int32_t)W.w;
  const int32_t ih = (int32_t)X.h, iw = (int32_t)X.w, oh = (int32_t)Y.h, ow = (int32_t)Y.w;
  const int32_t sh = (int32_t)p->stride[0], sw = (int32_t)p->stride[1];
  const int32_t dh = (int32_t)p->dilation[0], dw = (int32_t)p->dilation[1];
  const int32_t pt = (int32_t)p->pad[0], pl = (int32_t)p->pad[2];
  const ptrdiff_t xsh = (ptrdiff_t)X.sh, xsw = (ptrdiff_t)X.sw;
  const ptrdiff_t wsh = (ptrdiff_t)W.sh, wsw = (ptrdiff_t)W.sw;
  const ptrdiff_t ysh = (ptrdiff_t)Y.sh, ysw = (ptrdiff_t)Y.sw, ysc = (ptrdiff_t)Y.sc;
  const int32_t izp = p->in_zp, wzp = p->w_zp;
  const int32_t nx2 = ptec_dsp_neg_zp2(izp);

  /* Every shift >= 32: ptec_dsp_scale_high. */
  const int32_t *shift = p->shift->data;
  bool high = true;
  for (int32_t c = 0; c < (p->scale_step ? (int32_t)Y.c : 1); c++) high = high && shift[c] >= 32;
  int32_t offs[2 * MAX_TAPS]; /* the pixel's valid taps: input and weight offsets */
  int32_t acc[CHUNK];
  const bool fast = wzp == 0; /* the assembly widens weights without a zero point */
  for (int32_t n = 0; n < (int32_t)Y.n; n++)
    for (int32_t oy = 0; oy < oh; oy++)
      for (int32_t ox = 0; ox < ow; ox++) {
        const int32_t iy0 = oy * sh - pt, ix0 = ox * sw - pl;
        const int8_t *xn = x + n * (ptrdiff_t)X.sn;
        int8_t *yp = y + n * (ptrdiff_t)Y.sn + oy * ysh + ox * ysw;
        int32_t taps = 0;
        for (int32_t ky = 0; ky < kh; ky++) {
          const int32_t iy = iy0 + ky * dh;
          if (iy < 0 || iy >= ih) continue;
          for (int32_t kx = 0; kx < kw; kx++) {
            const int32_t ix = ix0 + kx * dw;
            if (ix < 0 || ix >= iw) continue;
            offs[2 * taps] = (int32_t)(iy * xsh + ix * xsw);
            offs[2 * taps + 1] = (int32_t)(ky * wsh + kx * wsw);
            taps++;
          }
        }
        if (channels == 1) { /* one input channel, many outputs: a first layer */
          single_channel(p, xn, w, offs, taps, acc, yp, ysc, high);
          continue;
        }
        for (int32_t c0 = 0; c0 < channels; c0 += CHUNK) {
          const int32_t count = channels - c0 < CHUNK ? channels - c0 : CHUNK;
          const int32_t quads = fast && taps > 0 ? count / 4 : 0;
          if (quads > 0) taps_blocks(xn + c0, w + c0, offs, taps, nx2, quads, acc);
          taps_c(xn, w, offs, taps, c0 + 4 * quads, count - 4 * quads, izp, wzp, acc + 4 * quads);
          if (high)
            requantize_run(p, acc, c0, count, yp, ysc, true);
          else
            requantize_run(p, acc, c0, count, yp, ysc, false);
        }
      }
  return true;
}

#endif /* PTEC_KERNELS_DSP */
