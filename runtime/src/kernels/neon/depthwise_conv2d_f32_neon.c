/*
 * NEON depthwise convolution.out, float32 (groups == C == OC; called from
 * conv2d_f32_neon.c): output rows contiguous (any input strides), planes of
 * at most PLANE floats once padded, any kernel size, stride and dilation.
 *
 * Per channel the input plane is copied once into a zero-padded stack plane
 * (so no tap needs a bounds test), then each output row goes 16 outputs at a
 * time (four vectors of accumulators): for every tap in (ky, kx) order one
 * broadcast filter value and four loads of the padded plane (stride 1: plain
 * loads; stride 2: LD2, whose first register holds the even inputs; other
 * strides: lane by lane), four FMAs; the bias is added once at the end. Tails
 * of 4 and of single outputs run the same sums. Each output's taps are summed
 * in the reference's order but with fused multiply-adds (one rounding per
 * tap, not two), and taps in the padding add 0 * w: the result is within
 * (K + 2) * 2^-24 * (sum |w x| + |b|) of the exact value, K = KH * KW
 * (docs/kernels-cpu.md; tests/python/test_aarch64_kernels.py).
 *
 * Channels split over threads (kernels/parallel.h), each with its own plane.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels/neon/conv_f32_neon.h"
#include "kernels/parallel.h"

/* 64 KiB of padded plane: MobileNetV2's 112 x 112 layers (114 x 114) fit. */
enum { PLANE = 16384, SLACK = 8 };

typedef struct dw_geom {
  int64_t hp, wp; /* padded plane */
} dw_geom;

/* Channel (n, c)'s plane, zero-padded, into pl (hp x wp, then SLACK zeros). */
static void pad_plane(const ptec_conv_f32 *p, const dw_geom *g, int64_t n, int64_t c,
                      float *pl) {
  const float *xc = p->x + n * p->xs[0] + c * p->xs[1];
  const int64_t ph = p->pad[0], pw = p->pad[1];
  memset(pl, 0, sizeof(float) * (size_t)(g->hp * g->wp + SLACK));
  for (int64_t iy = 0; iy < p->h; iy++) {
    float *dst = pl + (iy + ph) * g->wp + pw;
    const float *src = xc + iy * p->xs[2];
    if (p->xs[3] == 1) {
      memcpy(dst, src, sizeof(float) * (size_t)p->w_);
    } else {
      for (int64_t ix = 0; ix < p->w_; ix++) dst[ix] = src[ix * p->xs[3]];
    }
  }
}

/* Four inputs at src, src + s, src + 2 s, src + 3 s. */
static inline float32x4_t load4(const float *src, int64_t s) {
  if (s == 1) return vld1q_f32(src);
  if (s == 2) return vld2q_f32(src).val[0];
  float32x4_t v = vdupq_n_f32(src[0]);
  v = vsetq_lane_f32(src[s], v, 1);
  v = vsetq_lane_f32(src[2 * s], v, 2);
  return vsetq_lane_f32(src[3 * s], v, 3);
}

/* Output row oy of one channel: y[ox] = sum_taps pl[...] * w + bias. */
static void row(const ptec_conv_f32 *p, const dw_geom *g, const float *pl, const float *wc,
                float bias, int64_t oy, float *yr) {
  const int64_t s = p->stride[1], dy = p->dil[0], dx = p->dil[1];
  const float *base = pl + oy * p->stride[0] * g->wp;
  const float32x4_t bv = vdupq_n_f32(bias);
  int64_t ox = 0;
  for (; ox + 16 <= p->ow; ox += 16) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t ky = 0; ky < p->kh; ky++)
      for (int64_t kx = 0; kx < p->kw; kx++) {
        const float32x4_t wv = vdupq_n_f32(wc[ky * p->ws[2] + kx * p->ws[3]]);
        const float *src = base + ky * dy * g->wp + kx * dx + ox * s;
        a0 = vfmaq_f32(a0, load4(src, s), wv);
        a1 = vfmaq_f32(a1, load4(src + 4 * s, s), wv);
        a2 = vfmaq_f32(a2, load4(src + 8 * s, s), wv);
        a3 = vfmaq_f32(a3, load4(src + 12 * s, s), wv);
      }
    vst1q_f32(yr + ox, vaddq_f32(a0, bv));
    vst1q_f32(yr + ox + 4, vaddq_f32(a1, bv));
    vst1q_f32(yr + ox + 8, vaddq_f32(a2, bv));
    vst1q_f32(yr + ox + 12, vaddq_f32(a3, bv));
  }
  for (; ox + 4 <= p->ow; ox += 4) {
    float32x4_t a = vdupq_n_f32(0.0f);
    for (int64_t ky = 0; ky < p->kh; ky++)
      for (int64_t kx = 0; kx < p->kw; kx++)
        a = vfmaq_f32(a, load4(base + ky * dy * g->wp + kx * dx + ox * s, s),
                      vdupq_n_f32(wc[ky * p->ws[2] + kx * p->ws[3]]));
    vst1q_f32(yr + ox, vaddq_f32(a, bv));
  }
  for (; ox < p->ow; ox++) {
    float a = 0.0f;
    for (int64_t ky = 0; ky < p->kh; ky++)
      for (int64_t kx = 0; kx < p->kw; kx++)
        a = fmaf(base[ky * dy * g->wp + kx * dx + ox * s], wc[ky * p->ws[2] + kx * p->ws[3]], a);
    yr[ox] = a + bias;
  }
}

typedef struct dw_job {
  const ptec_conv_f32 *p;
  dw_geom g;
} dw_job;

/* Channels [u0, u1) of all images (unit u = image u / C, channel u % C). */
static void channels(const void *arg, int64_t u0, int64_t u1) {
  const dw_job *job = arg;
  const ptec_conv_f32 *p = job->p;
  float pl[PLANE + SLACK];
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n = u / p->c, c = u % p->c;
    pad_plane(p, &job->g, n, c, pl);
    const float *wc = p->w + c * p->ws[0];
    float *yc = p->y + n * p->ys[0] + c * p->ys[1];
    const float bias = p->b ? p->b[c] : 0.0f;
    for (int64_t oy = 0; oy < p->oh; oy++) row(p, &job->g, pl, wc, bias, oy, yc + oy * p->ys[2]);
  }
}

bool ptec_depthwise_f32_neon(const ptec_conv_f32 *p) {
  if (p->groups != p->c || p->oc != p->c || p->ys[3] != 1) return false;
  const dw_job job = {.p = p, .g = {.hp = p->h + 2 * p->pad[0], .wp = p->w_ + 2 * p->pad[1]}};
  if (job.g.hp * job.g.wp > PLANE) return false;
  ptec_parallel_range(p->parallel, channels, &job, p->n * p->c);
  return true;
}

#endif /* PTEC_KERNELS_NEON */
