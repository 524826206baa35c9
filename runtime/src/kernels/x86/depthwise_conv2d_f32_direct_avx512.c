/*
 * AVX-512 float32 depthwise convolution read straight from the input planes
 * (groups == C == OC, NCHW planes with contiguous rows), tried first by
 * ptec_avx512_depthwise_f32 (depthwise_conv2d_f32_avx512.c).
 *
 * The copying variant it replaces spent most of its time copying each input
 * row with its padding into a stack buffer once per output row and filter
 * row (MobileNetV2's 112 x 112 layers: 0.6-0.8 ms each). Here every tap of
 * sixteen outputs is one masked load from the input itself: lanes whose
 * input lies in the padding are masked off, which both zeroes them and
 * keeps the load from touching memory outside the plane (AVX-512 masked
 * loads do not fault on masked lanes).
 *
 *   - "same" stride-1 layers (oh == h, ow == w): outputs are taken sixteen
 *     at a time along the flattened plane, across rows; tap (ky, kx) of
 *     output q is input q + (ky dil - pad) w + (kx dil - pad), masked per
 *     lane by its row and column (the 7 x 7 and 14 x 14 planes fill whole
 *     vectors).
 *   - "same" 3 x 3 windows on rows of 14 or more: same3, column masks in
 *     registers, four output rows at a time;
 *   - 3 x 3 windows with stride 2 and padding 1: stride2_3, each input row
 *     loaded once per sixteen output columns and split into its three taps;
 *   - stride 1 or 2 otherwise: sixteen outputs of one output row; stride 2
 *     loads the 32 inputs under them and keeps the even ones (one permute).
 *
 * Four groups of sixteen outputs are summed side by side (four independent
 * FMA chains). Sums run in another order than the reference's, with fused
 * multiply-adds: within the float tolerance of docs/kernels-cpu.md.
 * Channels are split over threads; an output is summed the same way
 * whatever the split.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/parallel.h"
#include "kernels/portable/variants.h"
#include "kernels/x86/conv2d_f32_same_avx512.h"
#include "kernels/x86/conv2d_f32_x86.h"

enum { G = 4, MAXT = 64, CAP = 4096 };

/* G groups of sixteen outputs of one image: per tap t and group g, where the
 * group's inputs start in a channel plane (off[t * G + g]) and which of its
 * lanes are read (m, 32 lanes for stride 2); where its outputs go and how
 * many. These depend on the position only, so they are worked out once and
 * used for every channel. */
typedef struct items {
  int64_t *off;
  uint32_t *m;
  int64_t *at;
  __mmask16 *tail;
} items;

/* The outputs of `it` for channels [c0, c1) of image n. */
static void sum_channels(const ptec_conv_f32 *p, const items *it, const int64_t *woff,
                         int64_t n, int64_t c0, int64_t c1) {
  const int64_t taps = p->kh * p->kw;
  const __m512i ev =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, 0);
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  for (int64_t c = c0; c < c1; c++) {
    const float *xc = p->x + n * p->xs[0] + c * p->xs[1], *wc = p->w + c * p->ws[0];
    float *yc = p->y + n * p->ys[0] + c * p->ys[1];
    const __m512 bias = _mm512_set1_ps(p->b ? p->b[c] : 0.0f);
    __m512 acc[G];
    for (int g = 0; g < G; g++) acc[g] = bias;
    if (p->stride[1] == 1) {
      for (int64_t t = 0; t < taps; t++) {
        const __m512 wv = _mm512_set1_ps(wc[woff[t]]);
        /* Masked lanes are not read: the address may lie outside the plane. */
        for (int g = 0; g < G; g++)
          acc[g] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps((__mmask16)it->m[t * G + g],
                                                         xc + it->off[t * G + g]),
                                   wv, acc[g]);
      }
    } else { /* stride 2: the 32 inputs under sixteen outputs, the even ones kept */
      for (int64_t t = 0; t < taps; t++) {
        const __m512 wv = _mm512_set1_ps(wc[woff[t]]);
        for (int g = 0; g < G; g++) {
          const float *src = xc + it->off[t * G + g];
          const uint32_t m = it->m[t * G + g];
          const __m512 a = _mm512_maskz_loadu_ps((__mmask16)m, src);
          const __m512 b = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), src + 16);
          acc[g] = _mm512_fmadd_ps(_mm512_permutex2var_ps(a, ev, b), wv, acc[g]);
        }
      }
    }
    for (int g = 0; g < G; g++) /* a fused relu / hardtanh: clamped (bias is in acc) */
      _mm512_mask_storeu_ps(yc + it->at[g], it->tail[g],
                            _mm512_min_ps(hi, _mm512_max_ps(lo, acc[g])));
  }
}

/* Tap t = ky * kw + kx's offset in the filter. */
static void filter_offsets(const ptec_conv_f32 *p, int64_t *woff) {
  for (int64_t ky = 0; ky < p->kh; ky++)
    for (int64_t kx = 0; kx < p->kw; kx++) woff[ky * p->kw + kx] = ky * p->ws[2] + kx * p->ws[3];
}

/* "Same" stride-1 planes, flattened (conv2d_f32_same_avx512.h): group i's
 * outputs are q = 16 (G i + g) .. + 15. */
static void flat_group(const ptec_conv_f32 *p, int64_t i, const items *it) {
  const int64_t P = p->h * p->w_;
  for (int g = 0; g < G; g++) {
    const int64_t q = (i * G + g) * 16, left = P - q;
    it->at[g] = q;
    it->tail[g] = left <= 0 ? 0 : left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
    ptec_avx512_same_taps(p, q, &it->m[g], G, &it->off[g], G);
  }
}

/* Stride 1 or 2, sixteen outputs of one output row per group. */
static void rows_group(const ptec_conv_f32 *p, int64_t i, const items *it) {
  const int64_t s = p->stride[1], chunks = (p->ow + 15) / 16, count = p->oh * chunks;
  for (int g = 0; g < G; g++) {
    const int64_t j = i * G + g < count ? i * G + g : count - 1;
    const int64_t oy = j / chunks, ox = j % chunks * 16;
    const int64_t left = i * G + g < count ? p->ow - ox : 0; /* a repeat stores nothing */
    const int64_t lanes = left >= 16 ? 16 * s : left * s;
    it->tail[g] = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
    it->at[g] = oy * p->ys[2] + ox;
    for (int64_t ky = 0; ky < p->kh; ky++) {
      const int64_t iy = oy * p->stride[0] - p->pad[0] + ky * p->dil[0];
      const bool in = iy >= 0 && iy < p->h;
      for (int64_t kx = 0; kx < p->kw; kx++) {
        const int64_t t = ky * p->kw + kx, ix = ox * s - p->pad[1] + kx * p->dil[1];
        it->m[t * G + g] = in ? (uint32_t)ptec_avx512_cols_inside(ix, lanes, p->w_) : 0;
        it->off[t * G + g] = in ? iy * p->xs[2] + ix : 0;
      }
    }
  }
}

typedef struct job {
  const ptec_conv_f32 *p;
  void (*group)(const ptec_conv_f32 *p, int64_t i, const items *it);
  int64_t groups; /* per plane */
} job;

/* Units: (image, channel) pairs [u0, u1). When every group's taps fit in
 * CAP entries they are worked out first and each channel's plane is then
 * done whole: one input plane streamed at a time, where going group by group
 * over every channel of the share streams C planes at once (MobileNetV2's
 * 112 -> 56 and 56 x 56 layers: ~10% faster measured). Planes of under 8
 * groups (7 x 7, 14 x 14) stay group by group: their per-channel work is too
 * short to repeat the loop over groups per channel (7 x 7 x 960: 15% slower). */
static void channels(const void *arg, int64_t u0, int64_t u1) {
  const job *j = arg;
  const ptec_conv_f32 *p = j->p;
  const int64_t T = p->kh * p->kw, per = T * G;
  const bool whole = j->groups >= 8 && j->groups * per <= CAP;
  int64_t woff[MAXT], off[CAP], at[CAP / G];
  uint32_t m[CAP];
  __mmask16 tail[CAP / G];
  filter_offsets(p, woff);
  if (whole)
    for (int64_t i = 0; i < j->groups; i++)
      j->group(p, i, &(items){off + i * per, m + i * per, at + i * G, tail + i * G});
  for (int64_t u = u0; u < u1;) {
    const int64_t n = u / p->c, c0 = u % p->c, c1 = u1 - u < p->c - c0 ? c0 + u1 - u : p->c;
    if (whole) {
      for (int64_t c = c0; c < c1; c++)
        for (int64_t i = 0; i < j->groups; i++)
          sum_channels(p, &(items){off + i * per, m + i * per, at + i * G, tail + i * G}, woff,
                       n, c, c + 1);
    } else {
      const items it = {off, m, at, tail};
      for (int64_t i = 0; i < j->groups; i++) {
        j->group(p, i, &it);
        sum_channels(p, &it, woff, n, c0, c1);
      }
    }
    u += c1 - c0;
  }
}

/* Unit u = (image, channel) of a 3 x 3 depthwise layer: its input and
 * output planes, its bias and its nine filter values as vectors. */
typedef struct channel3 {
  const float *x;
  float *y;
  __m512 bias, w[9];
} channel3;

static channel3 channel3_of(const ptec_conv_f32 *p, int64_t u) {
  const int64_t n = u / p->c, c = u % p->c;
  const float *wc = p->w + c * p->ws[0];
  channel3 k;
  k.x = p->x + n * p->xs[0] + c * p->xs[1];
  k.y = p->y + n * p->ys[0] + c * p->ys[1];
  k.bias = _mm512_set1_ps(p->b ? p->b[c] : 0.0f);
  for (int t = 0; t < 9; t++) k.w[t] = _mm512_set1_ps(wc[t / 3 * p->ws[2] + t % 3 * p->ws[3]]);
  return k;
}

/* "Same" 3 x 3 windows (stride 1, dilation 1, padding 1) on rows of 14 or
 * more (MobileNetV2's 112 x 112, 56 x 56, 28 x 28 and 14 x 14 layers; its
 * 7 x 7 ones, 7 of 16 lanes, measured 1.3x slower than flattened). Per channel,
 * sixteen columns at a time: their three column masks (left tap, centre,
 * right tap: lanes whose input lies in the plane) stay in mask registers,
 * and four output rows are summed side by side from the six input rows
 * under them; a row above or below the image is read from zeros. The
 * flattened path loaded a mask and an offset from its tables for every tap
 * (three loads per FMA). The same FMA chain per output (bias, then the taps
 * in order, a tap outside the plane adding a product of zero), so the same
 * bits. Units: (image, channel). */
enum { R = 4 };
static void same3(const void *arg, int64_t u0, int64_t u1) {
  const ptec_conv_f32 *p = arg;
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, 0);
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  const float zeros[48] = {0};
  for (int64_t u = u0; u < u1; u++) {
    const channel3 k = channel3_of(p, u);
    for (int64_t ox = 0; ox < p->w_; ox += 16) {
      /* Lane l of tap kx reads column ox - 1 + kx + l. */
      const __mmask16 m0 = (__mmask16)ptec_avx512_cols_inside(ox - 1, 16, p->w_),
                      m1 = (__mmask16)ptec_avx512_cols_inside(ox, 16, p->w_),
                      m2 = (__mmask16)ptec_avx512_cols_inside(ox + 1, 16, p->w_);
      for (int64_t oy = 0; oy < p->h; oy += R) {
        const float *in[R + 2]; /* input rows oy - 1 .. oy + R, at column ox - 1 */
        for (int r = 0; r < R + 2; r++) {
          const int64_t iy = oy - 1 + r;
          in[r] = iy >= 0 && iy < p->h ? k.x + iy * p->xs[2] + ox - 1 : zeros + 16;
        }
        __m512 acc[R];
        for (int g = 0; g < R; g++) acc[g] = k.bias;
        /* Masked lanes are not read: the address may lie outside the plane. */
        for (int ky = 0; ky < 3; ky++)
          for (int g = 0; g < R; g++) {
            const float *s = in[g + ky];
            acc[g] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, s), k.w[3 * ky], acc[g]);
            acc[g] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, s + 1), k.w[3 * ky + 1], acc[g]);
            acc[g] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m2, s + 2), k.w[3 * ky + 2], acc[g]);
          }
        for (int g = 0; g < R && oy + g < p->h; g++) /* a fused clamp (bias is in acc) */
          _mm512_mask_storeu_ps(k.y + (oy + g) * p->ys[2] + ox, m1,
                                _mm512_min_ps(hi, _mm512_max_ps(lo, acc[g])));
      }
    }
  }
}

/* 3 x 3 windows with stride 2, dilation 1 and padding 1 (MobileNetV2's
 * 112 -> 56, 56 -> 28, 28 -> 14 and 14 -> 7 layers). Per channel, sixteen
 * output columns at a time: each input row under R output rows is loaded
 * once as 32 values from column 2 ox - 1 (A) and 32 from 2 ox + 1 (B), and
 * taps kx = 0, 1, 2 are the even values of A, the odd values of A and the
 * even values of B (three permutes, four loads per input row, where the
 * flattened path loaded two vectors, a mask and an offset per tap); a row
 * is shared by the two output rows it is under. The same FMA chain per
 * output as there (bias, then the taps in order), so the same bits. */
static void stride2_3(const void *arg, int64_t u0, int64_t u1) {
  const ptec_conv_f32 *p = arg;
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, 0);
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  const __m512i ev =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
  const float zeros[64] = {0};
  for (int64_t u = u0; u < u1; u++) {
    const channel3 k = channel3_of(p, u);
    for (int64_t ox = 0; ox < p->ow; ox += 16) {
      const uint64_t ma = ptec_avx512_cols_inside(2 * ox - 1, 32, p->w_),
                     mb = ptec_avx512_cols_inside(2 * ox + 1, 32, p->w_);
      const int64_t left = p->ow - ox;
      const __mmask16 tail = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
      for (int64_t oy = 0; oy < p->oh; oy += R) {
        __m512 acc[R];
        for (int g = 0; g < R; g++) acc[g] = k.bias;
        /* Input rows 2 oy - 1 + r; output row oy + g takes r = 2 g + ky. */
        for (int r = 0; r < 2 * R + 1; r++) {
          const int64_t iy = 2 * oy - 1 + r;
          const float *s = iy >= 0 && iy < p->h ? k.x + iy * p->xs[2] + 2 * ox - 1 : zeros + 8;
          /* Masked lanes are not read: the address may lie outside the plane. */
          const __m512 a0 = _mm512_maskz_loadu_ps((__mmask16)ma, s),
                       a1 = _mm512_maskz_loadu_ps((__mmask16)(ma >> 16), s + 16),
                       b0 = _mm512_maskz_loadu_ps((__mmask16)mb, s + 2),
                       b1 = _mm512_maskz_loadu_ps((__mmask16)(mb >> 16), s + 18);
          const __m512 t0 = _mm512_permutex2var_ps(a0, ev, a1),
                       t1 = _mm512_permutex2var_ps(a0, od, a1),
                       t2 = _mm512_permutex2var_ps(b0, ev, b1);
          for (int g = 0; g < R; g++) {
            const int ky = r - 2 * g;
            if (ky < 0 || ky > 2) continue;
            acc[g] = _mm512_fmadd_ps(t0, k.w[3 * ky], acc[g]);
            acc[g] = _mm512_fmadd_ps(t1, k.w[3 * ky + 1], acc[g]);
            acc[g] = _mm512_fmadd_ps(t2, k.w[3 * ky + 2], acc[g]);
          }
        }
        for (int g = 0; g < R && oy + g < p->oh; g++) /* a fused clamp (bias is in acc) */
          _mm512_mask_storeu_ps(k.y + (oy + g) * p->ys[2] + ox, tail,
                                _mm512_min_ps(hi, _mm512_max_ps(lo, acc[g])));
      }
    }
  }
}

bool ptec_avx512_depthwise_f32_direct(const ptec_conv_f32 *p) {
  if (p->kh * p->kw > MAXT || p->xs[3] != 1 || p->ys[3] != 1 || p->h >= (1 << 28) ||
      p->w_ >= (1 << 28))
    return false;
  if (p->kh == 3 && p->kw == 3 && p->pad[0] == 1 && p->pad[1] == 1 && p->dil[0] == 1 &&
      p->dil[1] == 1 && ptec_avx512_same_plane(p) && p->w_ >= 14) {
    ptec_parallel_range(p->parallel, same3, p, p->n * p->c);
    return true;
  }
  if (p->kh == 3 && p->kw == 3 && p->pad[0] == 1 && p->pad[1] == 1 && p->dil[0] == 1 &&
      p->dil[1] == 1 && p->stride[0] == 2 && p->stride[1] == 2) {
    ptec_parallel_range(p->parallel, stride2_3, p, p->n * p->c);
    return true;
  }
  job j = {p, flat_group, (p->h * p->w_ + 16 * G - 1) / (16 * G)};
  if (!ptec_avx512_same_plane(p)) {
    if (p->stride[1] != 1 && p->stride[1] != 2) return false;
    j = (job){p, rows_group, (p->oh * ((p->ow + 15) / 16) + G - 1) / G};
  }
  ptec_parallel_range(p->parallel, channels, &j, p->n * p->c);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
