/*
 * NEON variant of convolution.out, float32 (portable/variants.h), groups 1
 * with weights [OC, C, KH, KW] whose filters are contiguous runs (OIHW) and
 * output rows contiguous: a GEMM of the filters (OC x K, K = C * KH * KW)
 * by the input's windows (K x pixels). Microkernel: four output channels
 * by sixteen pixels, sixteen FMA accumulators of four lanes, filter values
 * broadcast. A 1x1 convolution with stride 1 and no padding reads the
 * input planes in place (pixels contiguous) for full blocks of sixteen
 * pixels; other convolutions, and the last pixels of a plane, copy sixteen
 * output pixels' windows (zeros in the padding) into a stack strip of
 * KC x 16 floats and run over K in chunks of KC, the output holding the
 * partial sums between chunks. The sixteen pixels run across output rows
 * when the output plane is contiguous (planes of 7 or 14 columns would
 * otherwise leave most of each block empty). Blocks of pixels are split over
 * the method's threads (kernels/parallel.h), each block for every output
 * channel, so results do not depend on the thread count. Depthwise
 * convolutions go to depthwise_conv2d_f32_neon.c.
 *
 * Sums run in another order with fused multiply-adds, hence a tolerance
 * (docs/kernels-cpu.md).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <arm_neon.h>
#include <string.h>

#include "kernels/neon/conv_f32_neon.h"
#include "kernels/parallel.h"

enum { KC = 256, NR = 16 };

/*
 * y[r * ldy + j] (+)= sum_k w[r * ldw + k] * b[k * ldb + j] for r < mr (1..4),
 * j < nb (1..16, b holds 16 readable values per k); `add` keeps y's values
 * as the start, `bias` (NULL: none) is added at the end, b[r] to row r.
 */
static void kernel_4x16(const float *w, int64_t ldw, int64_t mr, const float *b, int64_t ldb,
                        int64_t k, float *y, int64_t ldy, int64_t nb, bool add,
                        const float *bias) {
  const float *wr[4] = {w, w + (mr > 1 ? ldw : 0), w + (mr > 2 ? 2 * ldw : 0),
                        w + (mr > 3 ? 3 * ldw : 0)};
  float32x4_t c[4][4];
  for (int r = 0; r < 4; r++) c[r][0] = c[r][1] = c[r][2] = c[r][3] = vdupq_n_f32(0.0f);
  for (int64_t i = 0; i < k; i++, b += ldb) {
    float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8),
                b3 = vld1q_f32(b + 12);
    for (int r = 0; r < 4; r++) {
      float32x4_t a = vdupq_n_f32(wr[r][i]);
      c[r][0] = vfmaq_f32(c[r][0], a, b0);
      c[r][1] = vfmaq_f32(c[r][1], a, b1);
      c[r][2] = vfmaq_f32(c[r][2], a, b2);
      c[r][3] = vfmaq_f32(c[r][3], a, b3);
    }
  }
  for (int64_t r = 0; r < mr; r++) {
    float *yr = y + r * ldy, t[NR];
    float *dst = nb == NR ? yr : t;
    if (add && nb < NR) memcpy(t, yr, sizeof(float) * (size_t)nb);
    for (int q = 0; q < 4; q++) {
      float32x4_t v = c[r][q];
      if (add) v = vaddq_f32(vld1q_f32(dst + 4 * q), v);
      if (bias) v = vaddq_f32(v, vdupq_n_f32(bias[r]));
      vst1q_f32(dst + 4 * q, v);
    }
    if (nb < NR) memcpy(yr, t, sizeof(float) * (size_t)nb);
  }
}

/* All output channels for nb pixels: b is K x (ldb) starting at the pixels. */
static void channels(const ptec_conv_f32 *p, const float *b, int64_t ldb, int64_t k0,
                     int64_t kc, int64_t K, float *y, int64_t nb) {
  bool last = k0 + kc == K;
  for (int64_t oc = 0; oc < p->oc; oc += 4) {
    int64_t mr = p->oc - oc < 4 ? p->oc - oc : 4;
    kernel_4x16(p->w + oc * p->ws[0] + k0, p->ws[0], mr, b, ldb, kc, y + oc * p->ys[1],
                p->ys[1], nb, k0 > 0, last && p->b ? p->b + oc : NULL);
  }
}

/* Input value k of pixels ox0 .. ox0 + nb - 1 of output row oy into dst[0 .. nb)
 * (zeros in the padding). */
static void strip_run(const ptec_conv_f32 *p, int64_t n, int64_t oy, int64_t ox0, int64_t nb,
                      int64_t k, float *dst) {
  const int64_t khw = p->kh * p->kw, ic = k / khw, ky = k % khw / p->kw, kx = k % p->kw;
  int64_t iy = oy * p->stride[0] - p->pad[0] + ky * p->dil[0];
  if (iy < 0 || iy >= p->h) {
    memset(dst, 0, sizeof(float) * (size_t)nb);
    return;
  }
  const float *src = p->x + n * p->xs[0] + ic * p->xs[1] + iy * p->xs[2];
  int64_t ix0 = ox0 * p->stride[1] - p->pad[1] + kx * p->dil[1];
  int64_t ixl = ix0 + (nb - 1) * p->stride[1];
  if (p->stride[1] == 1 && p->xs[3] == 1 && ix0 >= 0 && ixl < p->w_) {
    memcpy(dst, src + ix0, sizeof(float) * (size_t)nb);
  } else {
    for (int64_t j = 0; j < nb; j++) {
      int64_t ix = ix0 + j * p->stride[1];
      dst[j] = ix >= 0 && ix < p->w_ ? src[ix * p->xs[3]] : 0.0f;
    }
  }
}

/* Row kk of the strip: input value k of the nb output pixels from q0 on in the
 * plane's row-major order (across output rows: ResNet's 7x7 and 14x14 planes
 * fill whole blocks of 16), zeros past nb. */
static void strip_row(const ptec_conv_f32 *p, int64_t n, int64_t q0, int64_t nb, int64_t k,
                      float *dst) {
  for (int64_t j = 0; j < nb;) {
    const int64_t oy = (q0 + j) / p->ow, ox = (q0 + j) % p->ow;
    const int64_t seg = p->ow - ox < nb - j ? p->ow - ox : nb - j;
    strip_run(p, n, oy, ox, seg, k, dst + j);
    j += seg;
  }
  for (int64_t j = nb; j < NR; j++) dst[j] = 0.0f;
}

/* The call's units of work: blocks of up to 16 output pixels, each for every
 * output channel, so threads write disjoint outputs and every sum runs as on
 * one thread. */
typedef struct gemm_job {
  const ptec_conv_f32 *p;
  int64_t K, rows, cols, blocks; /* per image: rows x blocks of 16 of cols pixels */
  bool inplace;                  /* 1x1, stride 1, no padding: the planes read in place */
} gemm_job;

/* Pixels px .. px + 15 of image n of a 1x1 convolution read in place; a
 * short last block goes through the strip. */
static void block_inplace(const gemm_job *job, int64_t n, int64_t px, float *strip) {
  const ptec_conv_f32 *p = job->p;
  const int64_t K = job->K, nb = job->cols - px < NR ? job->cols - px : NR;
  const float *xb = p->x + n * p->xs[0] + px;
  float *y = p->y + n * p->ys[0] + px;
  if (nb == NR) {
    channels(p, xb, p->xs[1], 0, K, K, y, nb);
    return;
  }
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    int64_t kc = K - k0 < KC ? K - k0 : KC;
    for (int64_t kk = 0; kk < kc; kk++) {
      float *dst = strip + kk * NR;
      memcpy(dst, xb + (k0 + kk) * p->xs[1], sizeof(float) * (size_t)nb);
      for (int64_t j = nb; j < NR; j++) dst[j] = 0.0f;
    }
    channels(p, strip, NR, k0, kc, K, y, nb);
  }
}

/* Pixels q0 .. q0 + 15 of row oy (or of the flattened plane: rows == 1) of
 * image n, their windows copied into the strip KC values of k at a time. */
static void block_strip(const gemm_job *job, int64_t n, int64_t oy, int64_t q0, float *strip) {
  const ptec_conv_f32 *p = job->p;
  const int64_t K = job->K, nb = job->cols - q0 < NR ? job->cols - q0 : NR;
  float *y = p->y + n * p->ys[0] + oy * p->ys[2] + q0;
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    int64_t kc = K - k0 < KC ? K - k0 : KC;
    for (int64_t kk = 0; kk < kc; kk++)
      strip_row(p, n, oy * p->ow + q0, nb, k0 + kk, strip + kk * NR);
    channels(p, strip, NR, k0, kc, K, y, nb);
  }
}

static void gemm_units(const void *arg, int64_t u0, int64_t u1) {
  const gemm_job *job = arg;
  float strip[KC * NR]; /* 16 KiB per thread (hosts' stacks) */
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n = u / (job->rows * job->blocks), oy = u / job->blocks % job->rows,
                  q0 = u % job->blocks * NR;
    if (job->inplace)
      block_inplace(job, n, q0, strip);
    else
      block_strip(job, n, oy, q0, strip);
  }
}

bool ptec_conv_f32_neon(const ptec_conv_f32 *p) {
  if (p->groups != 1) return ptec_depthwise_f32_neon(p);
  if (p->ws[3] != 1 || p->ws[2] != p->kw || p->ws[1] != p->kh * p->kw || p->ys[3] != 1)
    return false;
  if (p->oh * p->ow < NR) return ptec_conv_f32_small_neon(p); /* blocks of 16 mostly empty */
  gemm_job job = {.p = p, .K = p->c * p->kh * p->kw};
  job.inplace = p->kh == 1 && p->kw == 1 && p->stride[0] == 1 && p->stride[1] == 1 &&
                p->pad[0] == 0 && p->pad[1] == 0 && p->xs[3] == 1 && p->xs[2] == p->w_ &&
                p->ys[2] == p->ow;
  /* Blocks of 16 output pixels: along the flattened plane when its rows are
   * contiguous (in place: pixels contiguous in x and y), else row by row. */
  const bool flat = job.inplace || p->ys[2] == p->ow;
  job.rows = flat ? 1 : p->oh;
  job.cols = job.inplace ? p->h * p->w_ : flat ? p->oh * p->ow : p->ow;
  job.blocks = (job.cols + NR - 1) / NR;
  ptec_parallel_chunks(p->parallel, gemm_units, &job, p->n * job.rows * job.blocks, 4);
  return true;
}

#endif /* PTEC_KERNELS_NEON */
