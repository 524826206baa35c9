/*
 * NEON float32 convolution (groups 1, OIHW filters, called from
 * conv2d_f32_neon.c) for output planes of fewer than 16 pixels, where the
 * GEMM's blocks of 16 pixels would be mostly empty (ResNet-18's last stage at
 * small inputs: 1-pixel planes, 1 lane of 16 used). Here the vector runs
 * along k instead: up to four pixels' windows are copied into a stack strip,
 * each pixel's K values contiguous (zeros in the padding), and four filters
 * (their rows contiguous in OIHW) times up to four pixels keep sixteen
 * accumulators of four k lanes each: per four values of k, eight loads and
 * sixteen FMAs (256 MACs with four pixels), reduced across lanes at the end.
 * K goes in chunks of KT, the output holding the partial sums between chunks;
 * the bias is added after the last. Sums in another order than the
 * reference, within the tolerance of docs/kernels-cpu.md.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <arm_neon.h>
#include <math.h>

#include "kernels/neon/conv_f32_neon.h"

enum { KT = 1024, PX = 4 };

/* Input values k0 .. k0 + kc - 1 of output pixel (oy, ox)'s window into dst. */
static void window(const ptec_conv_f32 *p, int64_t n, int64_t oy, int64_t ox, int64_t k0,
                   int64_t kc, float *dst) {
  const int64_t khw = p->kh * p->kw;
  int64_t ic = k0 / khw, ky = k0 % khw / p->kw, kx = k0 % p->kw;
  const int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[1];
  for (int64_t i = 0; i < kc; i++) {
    const int64_t iy = iy0 + ky * p->dil[0], ix = ix0 + kx * p->dil[1];
    dst[i] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w_
                 ? p->x[n * p->xs[0] + ic * p->xs[1] + iy * p->xs[2] + ix * p->xs[3]]
                 : 0.0f;
    if (++kx == p->kw) {
      kx = 0;
      if (++ky == p->kh) ky = 0, ic++;
    }
  }
}

/* out[r][j] = sum_k w[r][k] * s[j][k], r < 4, j < PX (rows and pixels past
 * the real ones repeat the first; the caller drops them). */
static void dot_4x4(const float *const w[4], const float *const s[PX], int64_t kc,
                    float out[4][PX]) {
  float32x4_t c[4][PX];
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < PX; j++) c[r][j] = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 4 <= kc; i += 4) {
    const float32x4_t s0 = vld1q_f32(s[0] + i), s1 = vld1q_f32(s[1] + i),
                      s2 = vld1q_f32(s[2] + i), s3 = vld1q_f32(s[3] + i);
    for (int r = 0; r < 4; r++) {
      const float32x4_t wv = vld1q_f32(w[r] + i);
      c[r][0] = vfmaq_f32(c[r][0], wv, s0);
      c[r][1] = vfmaq_f32(c[r][1], wv, s1);
      c[r][2] = vfmaq_f32(c[r][2], wv, s2);
      c[r][3] = vfmaq_f32(c[r][3], wv, s3);
    }
  }
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < PX; j++) {
      float t = vaddvq_f32(c[r][j]);
      for (int64_t k = i; k < kc; k++) t = fmaf(w[r][k], s[j][k], t);
      out[r][j] = t;
    }
}

bool ptec_conv_f32_small_neon(const ptec_conv_f32 *p) {
  const int64_t K = p->c * p->kh * p->kw, pixels = p->oh * p->ow;
  float strip[PX][KT];
  for (int64_t n = 0; n < p->n; n++)
    for (int64_t q0 = 0; q0 < pixels; q0 += PX) {
      const int64_t nb = pixels - q0 < PX ? pixels - q0 : PX;
      float *y[PX];
      for (int64_t j = 0; j < PX; j++) {
        const int64_t q = q0 + (j < nb ? j : 0);
        y[j] = p->y + n * p->ys[0] + q / p->ow * p->ys[2] + q % p->ow * p->ys[3];
      }
      for (int64_t k0 = 0; k0 < K; k0 += KT) {
        const int64_t kc = K - k0 < KT ? K - k0 : KT;
        for (int64_t j = 0; j < nb; j++)
          window(p, n, (q0 + j) / p->ow, (q0 + j) % p->ow, k0, kc, strip[j]);
        const float *s[PX];
        for (int64_t j = 0; j < PX; j++) s[j] = strip[j < nb ? j : 0];
        const bool first = k0 == 0, last = k0 + kc == K;
        for (int64_t oc = 0; oc < p->oc; oc += 4) {
          const int64_t mr = p->oc - oc < 4 ? p->oc - oc : 4;
          const float *w[4];
          for (int64_t r = 0; r < 4; r++) w[r] = p->w + (oc + (r < mr ? r : 0)) * p->ws[0] + k0;
          float out[4][PX];
          dot_4x4(w, s, kc, out);
          for (int64_t r = 0; r < mr; r++)
            for (int64_t j = 0; j < nb; j++) {
              float *dst = y[j] + (oc + r) * p->ys[1];
              float v = first ? out[r][j] : *dst + out[r][j];
              *dst = last && p->b ? v + p->b[oc + r] : v;
            }
        }
      }
    }
  return true;
}

#endif /* PTEC_KERNELS_NEON */
