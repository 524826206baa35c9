/* The loops of avg_pool3d, max_pool3d_with_indices, _adaptive_avg_pool3d and
 * adaptive_max_pool3d, included once by op_pool3d.c, which defines LD and ST on the
 * element type `dt` (float32, float16 or bfloat16: one copy of the loops for all three,
 * which keeps them small on Cortex-M). Like pool_body.h they mirror
 * PyTorch's CPU kernels (AvgPoolKernel.cpp, MaxPoolKernel.cpp, AdaptiveAvgPoolKernel.cpp,
 * AdaptiveMaxPoolKernel.cpp): window sums run d, h, w in that order in float32 for every
 * element type, one rounding per output; indices are flat d * H * W + h * W + w. */
#include <math.h>

static void avg_pool3d(const void *x, void *y, const pool3d_params *pp, bool include_pad,
                       int64_t divisor, int dt) {
  view5 I = pp->in, O = pp->out;
  for (int64_t n = 0; n < O.n; n++)
    for (int64_t c = 0; c < O.c; c++) {
      int64_t xp = n * I.sn + c * I.sc;
      for (int64_t od = 0; od < O.d; od++)
        for (int64_t oh = 0; oh < O.h; oh++)
          for (int64_t ow = 0; ow < O.w; ow++) {
            int64_t i0[3] = {od * pp->s[0] - pp->p[0], oh * pp->s[1] - pp->p[1],
                             ow * pp->s[2] - pp->p[2]};
            int64_t size[3] = {I.d, I.h, I.w}, i1[3];
            int64_t pool_size = 1, count = 1;
            for (int a = 0; a < 3; a++) {
              /* The window clipped to the padded input first (the divisor with pads)... */
              i1[a] = i0[a] + pp->k[a] < size[a] + pp->p[a] ? i0[a] + pp->k[a]
                                                            : size[a] + pp->p[a];
              pool_size *= i1[a] - i0[a];
              /* ...then to the input itself (the taps summed). */
              i0[a] = i0[a] < 0 ? 0 : i0[a];
              i1[a] = i1[a] > size[a] ? size[a] : i1[a];
              count *= i1[a] > i0[a] ? i1[a] - i0[a] : 0;
            }
            int64_t yp = n * O.sn + c * O.sc + od * O.sd + oh * O.sh + ow * O.sw;
            if (count == 0) {
              ST(y, yp, 0.0f);
              continue;
            }
            float sum = 0.0f;
            for (int64_t id = i0[0]; id < i1[0]; id++)
              for (int64_t ih = i0[1]; ih < i1[1]; ih++)
                for (int64_t iw = i0[2]; iw < i1[2]; iw++)
                  sum += LD(x, xp + id * I.sd + ih * I.sh + iw * I.sw);
            int64_t div = divisor ? divisor : include_pad ? pool_size : count;
            ST(y, yp, sum / (float)div);
          }
    }
}

/* The first tap at or after `start` that lies inside the input: padding may span
 * several dilations. */
static int64_t first_tap(int64_t start, int64_t dil) {
  return start < 0 ? start + (-start + dil - 1) / dil * dil : start;
}

static void max_pool3d(const void *x, void *y, int64_t *yi, view5 X, const pool3d_params *pp,
                       int dt) {
  view5 I = pp->in, O = pp->out;
  for (int64_t n = 0; n < O.n; n++)
    for (int64_t c = 0; c < O.c; c++) {
      int64_t xp = n * I.sn + c * I.sc;
      for (int64_t od = 0; od < O.d; od++)
        for (int64_t oh = 0; oh < O.h; oh++)
          for (int64_t ow = 0; ow < O.w; ow++) {
            int64_t i0[3] = {od * pp->s[0] - pp->p[0], oh * pp->s[1] - pp->p[1],
                             ow * pp->s[2] - pp->p[2]};
            int64_t size[3] = {I.d, I.h, I.w}, i1[3];
            for (int a = 0; a < 3; a++) {
              i1[a] = i0[a] + (pp->k[a] - 1) * pp->dil[a] + 1;
              i1[a] = i1[a] > size[a] ? size[a] : i1[a];
              i0[a] = first_tap(i0[a], pp->dil[a]);
            }
            int64_t best = (i0[0] * I.h + i0[1]) * I.w + i0[2];
            float maxval = -INFINITY;
            for (int64_t id = i0[0]; id < i1[0]; id += pp->dil[0])
              for (int64_t ih = i0[1]; ih < i1[1]; ih += pp->dil[1])
                for (int64_t iw = i0[2]; iw < i1[2]; iw += pp->dil[2]) {
                  float v = LD(x, xp + id * I.sd + ih * I.sh + iw * I.sw);
                  if (v > maxval || v != v) {
                    maxval = v;
                    best = (id * I.h + ih) * I.w + iw;
                  }
                }
            ST(y, n * O.sn + c * O.sc + od * O.sd + oh * O.sh + ow * O.sw, maxval);
            yi[n * X.sn + c * X.sc + od * X.sd + oh * X.sh + ow * X.sw] = best;
          }
    }
}

/* PyTorch's adaptive window along one axis: [o * in / out, ceil((o + 1) * in / out)). */
static void adaptive_window(int64_t o, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
  *lo = o * in / out;
  *hi = ((o + 1) * in + out - 1) / out;
}

/* Both adaptive pools: with yi the max and its index (adaptive_max_pool3d), without
 * the average (_adaptive_avg_pool3d), over the same windows. */
static void adaptive_pool3d(const void *x, void *y, int64_t *yi, view5 X, view5 I, view5 O,
                            int dt) {
  for (int64_t n = 0; n < O.n; n++)
    for (int64_t c = 0; c < O.c; c++) {
      int64_t xp = n * I.sn + c * I.sc;
      for (int64_t od = 0; od < O.d; od++) {
        int64_t d0, d1;
        adaptive_window(od, I.d, O.d, &d0, &d1);
        for (int64_t oh = 0; oh < O.h; oh++) {
          int64_t h0, h1;
          adaptive_window(oh, I.h, O.h, &h0, &h1);
          for (int64_t ow = 0; ow < O.w; ow++) {
            int64_t w0, w1;
            adaptive_window(ow, I.w, O.w, &w0, &w1);
            int64_t best = (d0 * I.h + h0) * I.w + w0;
            float acc = yi ? -INFINITY : 0.0f;
            for (int64_t id = d0; id < d1; id++)
              for (int64_t ih = h0; ih < h1; ih++)
                for (int64_t iw = w0; iw < w1; iw++) {
                  float v = LD(x, xp + id * I.sd + ih * I.sh + iw * I.sw);
                  if (!yi) {
                    acc += v;
                  } else if (v > acc || v != v) {
                    acc = v;
                    best = (id * I.h + ih) * I.w + iw;
                  }
                }
            int64_t yp = n * O.sn + c * O.sc + od * O.sd + oh * O.sh + ow * O.sw;
            if (yi) {
              ST(y, yp, acc);
              yi[n * X.sn + c * X.sc + od * X.sd + oh * X.sh + ow * X.sw] = best;
            } else {
              ST(y, yp, acc / (float)(d1 - d0) / (float)(h1 - h0) / (float)(w1 - w0));
            }
          }
        }
      }
    }
}
