/* The loops of avg_pool2d, max_pool2d_with_indices and _adaptive_avg_pool2d, a template
 * (half.h): the includer defines LD, ST, AVG_POOL, MAX_POOL and ADAPTIVE_AVG_POOL. They
 * mirror PyTorch's CPU kernels so window sums accumulate in the same order, in float32
 * for every element type (PyTorch's opmath), one rounding per output. */
#include <math.h>

static void AVG_POOL(const void *x, void *y, const pool_params *pp, bool include_pad,
                     int64_t divisor, bool bf) {
  (void)bf;
  view4 I = pp->in, O = pp->out;
  for (int64_t n = 0; n < O.n; n++)
    for (int64_t c = 0; c < O.c; c++) {
      int64_t xp = n * I.sn + c * I.sc;
      for (int64_t oh = 0; oh < O.h; oh++)
        for (int64_t ow = 0; ow < O.w; ow++) {
          int64_t ih0 = oh * pp->s[0] - pp->p[0], iw0 = ow * pp->s[1] - pp->p[1];
          int64_t ih1 = ih0 + pp->k[0] < I.h + pp->p[0] ? ih0 + pp->k[0] : I.h + pp->p[0];
          int64_t iw1 = iw0 + pp->k[1] < I.w + pp->p[1] ? iw0 + pp->k[1] : I.w + pp->p[1];
          int64_t pool_size = (ih1 - ih0) * (iw1 - iw0);
          ih0 = ih0 < 0 ? 0 : ih0;
          iw0 = iw0 < 0 ? 0 : iw0;
          ih1 = ih1 > I.h ? I.h : ih1;
          iw1 = iw1 > I.w ? I.w : iw1;
          int64_t yp = n * O.sn + c * O.sc + oh * O.sh + ow * O.sw;
          if (ih0 >= ih1 || iw0 >= iw1) {
            ST(y, yp, 0.0f);
            continue;
          }
          float sum = 0.0f;
          for (int64_t ih = ih0; ih < ih1; ih++)
            for (int64_t iw = iw0; iw < iw1; iw++) sum += LD(x, xp + ih * I.sh + iw * I.sw);
          int64_t div = divisor ? divisor : include_pad ? pool_size : (ih1 - ih0) * (iw1 - iw0);
          ST(y, yp, sum / (float)div);
        }
    }
}

static void MAX_POOL(const void *x, void *y, int64_t *yi, view4 X, const pool_params *pp,
                     bool bf) {
  (void)bf;
  view4 I = pp->in, O = pp->out;
  for (int64_t n = 0; n < O.n; n++)
    for (int64_t c = 0; c < O.c; c++) {
      int64_t xp = n * I.sn + c * I.sc;
      for (int64_t oh = 0; oh < O.h; oh++)
        for (int64_t ow = 0; ow < O.w; ow++) {
          int64_t ih0 = oh * pp->s[0] - pp->p[0], iw0 = ow * pp->s[1] - pp->p[1];
          int64_t ih1 = ih0 + (pp->k[0] - 1) * pp->d[0] + 1;
          int64_t iw1 = iw0 + (pp->k[1] - 1) * pp->d[1] + 1;
          ih1 = ih1 > I.h ? I.h : ih1;
          iw1 = iw1 > I.w ? I.w : iw1;
          /* First tap inside the input (padding may span many dilations). */
          if (ih0 < 0) ih0 += (-ih0 + pp->d[0] - 1) / pp->d[0] * pp->d[0];
          if (iw0 < 0) iw0 += (-iw0 + pp->d[1] - 1) / pp->d[1] * pp->d[1];
          int64_t best = ih0 * I.w + iw0;
          float maxval = -INFINITY;
          for (int64_t ih = ih0; ih < ih1; ih += pp->d[0])
            for (int64_t iw = iw0; iw < iw1; iw += pp->d[1]) {
              float v = LD(x, xp + ih * I.sh + iw * I.sw);
              if (v > maxval || v != v) {
                maxval = v;
                best = ih * I.w + iw;
              }
            }
          ST(y, n * O.sn + c * O.sc + oh * O.sh + ow * O.sw, maxval);
          yi[n * X.sn + c * X.sc + oh * X.sh + ow * X.sw] = best;
        }
    }
}

static void ADAPTIVE_AVG_POOL(const void *x, void *y, view4 I, view4 O, bool bf) {
  (void)bf;
  for (int64_t n = 0; n < O.n; n++)
    for (int64_t c = 0; c < O.c; c++) {
      int64_t xp = n * I.sn + c * I.sc;
      for (int64_t oh = 0; oh < O.h; oh++) {
        int64_t ih0 = oh * I.h / O.h, ih1 = ((oh + 1) * I.h + O.h - 1) / O.h;
        for (int64_t ow = 0; ow < O.w; ow++) {
          int64_t iw0 = ow * I.w / O.w, iw1 = ((ow + 1) * I.w + O.w - 1) / O.w;
          float sum = 0.0f;
          for (int64_t ih = ih0; ih < ih1; ih++)
            for (int64_t iw = iw0; iw < iw1; iw++) sum += LD(x, xp + ih * I.sh + iw * I.sw);
          ST(y, n * O.sn + c * O.sc + oh * O.sh + ow * O.sw,
             sum / (float)(ih1 - ih0) / (float)(iw1 - iw0));
        }
      }
    }
}
