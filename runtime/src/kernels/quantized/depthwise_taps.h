/*
 * The window walk shared by the SIMD depthwise variants (x86/, neon/): for one
 * output pixel, the input and weight pointers of every tap inside the image
 * (padding taps are skipped: they add nothing once the zero points are
 * subtracted), and a zero-padded copy of the last channels' taps for a block
 * of 16. The variants differ only in how they multiply and requantize a block.
 */
#ifndef PTEC_KERNELS_QUANTIZED_DEPTHWISE_TAPS_H
#define PTEC_KERNELS_QUANTIZED_DEPTHWISE_TAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernels/quantized/conv2d.h"

/* Most taps a window may have: their pointers live on the stack. */
#define PTEC_DEPTHWISE_MAX_TAPS 64

/* Input and weight pointers of output pixel (n, oy, ox)'s taps; returns how many. */
static inline int ptec_depthwise_taps(const ptec_qconv *p, const int8_t *x, const int8_t *w,
                                      int64_t n, int64_t oy, int64_t ox, const int8_t **xs,
                                      const int8_t **ws) {
  const ptec_q_view4 X = p->x, W = p->w;
  int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[2];
  int taps = 0;
  for (int64_t ky = 0; ky < W.h; ky++) {
    int64_t iy = iy0 + ky * p->dilation[0];
    if (iy < 0 || iy >= X.h) continue;
    for (int64_t kx = 0; kx < W.w; kx++) {
      int64_t ix = ix0 + kx * p->dilation[1];
      if (ix < 0 || ix >= X.w) continue;
      xs[taps] = x + n * X.sn + iy * X.sh + ix * X.sw;
      ws[taps] = w + ky * W.sh + kx * W.sw;
      taps++;
    }
  }
  return taps;
}

/* The taps of channels [c0, c0 + rest), rest < 16, copied zero-padded to 16 into
 * tail (input, weights) and pointed at by xt, wt. With `one` the input has a single
 * channel, broadcast: one byte per tap. */
static inline void ptec_depthwise_tail(const int8_t *const *xs, const int8_t *const *ws,
                                       int taps, bool one, int32_t c0, size_t rest,
                                       int8_t tail[2][PTEC_DEPTHWISE_MAX_TAPS][16], const int8_t **xt,
                                       const int8_t **wt) {
  for (int t = 0; t < taps; t++) {
    memset(tail[0][t], 0, 16);
    memset(tail[1][t], 0, 16);
    memcpy(tail[0][t], one ? xs[t] : xs[t] + c0, one ? 1 : rest);
    memcpy(tail[1][t], ws[t] + c0, rest);
    xt[t] = tail[0][t];
    wt[t] = tail[1][t];
  }
}

#endif
