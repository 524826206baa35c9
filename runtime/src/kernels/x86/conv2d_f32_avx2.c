/*
 * AVX2+FMA variant of convolution.out, float32 (portable/variants.h):
 *
 *   - groups 1, weights [OC, C, KH, KW] with each filter one contiguous run
 *     (OIHW), output rows contiguous: a GEMM of the filters (OC x K, K = C *
 *     KH * KW) by the input's windows (K x pixels). Microkernel: four output
 *     channels by sixteen pixels, eight FMA accumulators, filter values
 *     broadcast. A 1x1 convolution with stride 1 and no padding reads the
 *     input planes in place (pixels contiguous); other convolutions copy
 *     sixteen output pixels' windows (zeros in the padding) into a stack
 *     strip of KC x 16 floats and run over K in chunks of KC, the output
 *     holding the partial sums between chunks.
 *   - depthwise (groups == C == OC): each output row accumulates its taps in
 *     the reference's order, eight pixels at a time, with a multiply and an
 *     add (not fused), so it matches the reference except for the sign of
 *     a zero (padded taps add 0 * w where the reference adds nothing); the
 *     bias and a fused clamp come last, as in the reference.
 *
 * GEMM sums run in another order with fused multiply-adds, hence a
 * tolerance (docs/kernels-cpu.md). Filters come from the compiler's panels
 * when the call has them (ptec::conv2d_f32, ptec_f32_filters), and a fused
 * relu / hardtanh is applied as the outputs are stored.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <string.h>

#include "kernels/parallel.h"
#include "kernels/portable/variants.h"
#include "kernels/x86/conv2d_f32_x86.h"

enum { KC = 256, NR = 16, ROWMAX = 4096 };

static inline __m256i lane_mask(int64_t n) { /* lanes < n, n clamped to 0..8 */
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)), idx);
}

/* The ptec_f32_kernel (conv2d_f32_x86.h) with mr <= 4, nb <= 16. */
static void kernel_4x16(const float *w, int64_t ldw, int64_t ks, int64_t mr, const float *b,
                        int64_t ldb, int64_t k, float *y, int64_t ldy, int64_t nb, bool add,
                        const ptec_f32_epilogue *last) {
  const float *w0 = w, *w1 = w + (mr > 1 ? ldw : 0), *w2 = w + (mr > 2 ? 2 * ldw : 0),
              *w3 = w + (mr > 3 ? 3 * ldw : 0);
  const __m256i m0 = lane_mask(nb), m1 = lane_mask(nb - 8);
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
         c30 = c00, c31 = c00;
  const bool full = nb == NR; /* loop-invariant: the compiler unswitches it */
  for (int64_t i = 0, wi = 0; i < k; i++, wi += ks, b += ldb) {
    __m256 b0 = full ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);
    __m256 b1 = full ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, m1);
    __m256 a = _mm256_broadcast_ss(w0 + wi);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(w1 + wi);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(w2 + wi);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(w3 + wi);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
  }
  __m256 c[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  for (int64_t r = 0; r < mr; r++) {
    float *yr = y + r * ldy;
    __m256 v0 = c[r][0], v1 = c[r][1];
    if (add) {
      v0 = _mm256_add_ps(_mm256_maskload_ps(yr, m0), v0);
      v1 = _mm256_add_ps(_mm256_maskload_ps(yr + 8, m1), v1);
    }
    if (last) { /* + bias, clamped: max/min return v when it is NaN (second operand) */
      const __m256 bias = _mm256_set1_ps(last->bias ? last->bias[r] : 0.0f);
      const __m256 lo = _mm256_set1_ps(last->lo), hi = _mm256_set1_ps(last->hi);
      v0 = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(v0, bias)));
      v1 = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(v1, bias)));
    }
    _mm256_maskstore_ps(yr, m0, v0);
    _mm256_maskstore_ps(yr + 8, m1, v1);
  }
}

/* The microkernel of a call: avx2 4x16, or avx512's 8x32 (conv2d_f32_x86.h). */
typedef struct gemm_job {
  const ptec_conv_f32 *p;
  ptec_f32_kernel kernel;
  int64_t mr, nr;
} gemm_job;

/* All output channels for nb pixels: b is K x (ldb) starting at the pixels. */
static void channels(const gemm_job *g, const float *b, int64_t ldb, int64_t k0, int64_t kc,
                     int64_t K, float *y, int64_t nb) {
  const ptec_conv_f32 *p = g->p;
  bool last = k0 + kc == K;
  for (int64_t oc = 0; oc < p->oc; oc += g->mr) {
    int64_t mr = p->oc - oc < g->mr ? p->oc - oc : g->mr, ldw, ks;
    const float *w = ptec_f32_filters(p, oc, k0, &ldw, &ks);
    const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, oc);
    g->kernel(w, ldw, ks, mr, b, ldb, kc, y + oc * p->ys[1], p->ys[1], nb, k0 > 0,
              last ? &e : NULL);
  }
}

/* 1x1, stride 1, unpadded: blocks [b0, b1) of nr pixels of every image's planes. */
static void inplace_blocks(const void *arg, int64_t b0, int64_t b1) {
  const gemm_job *g = arg;
  const ptec_conv_f32 *p = g->p;
  const int64_t K = p->c, pixels = p->h * p->w_, blocks = (pixels + g->nr - 1) / g->nr;
  for (int64_t blk = b0; blk < b1; blk++) {
    const int64_t n = blk / blocks, px = blk % blocks * g->nr;
    const int64_t nb = pixels - px < g->nr ? pixels - px : g->nr;
    channels(g, p->x + n * p->xs[0] + px, p->xs[1], 0, K, K, p->y + n * p->ys[0] + px, nb);
  }
}

/* dst[j] = s0[j * step] for j < n, where s0[0 .. avail - 1] may be read
 * (contiguous rows; 0: unknown). Stride 2 (ResNet's 7x7 stem, every
 * stride-2 layer) takes the even values of 16 loaded ones, 8 at a time. */
static void copy_strided(float *dst, const float *s0, int64_t n, int64_t step, int64_t avail) {
  if (step == 1) {
    memcpy(dst, s0, sizeof(float) * (size_t)n);
    return;
  }
  int64_t j = 0;
  if (step == 2)
    for (; j + 8 <= n && 2 * j + 16 <= avail; j += 8) { /* reads s0[2j .. 2j + 15] */
      const __m256 a = _mm256_loadu_ps(s0 + 2 * j), b = _mm256_loadu_ps(s0 + 2 * j + 8);
      const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0a2b0b2 a4a6b4b6 */
      _mm256_storeu_ps(dst + j, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                    _mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0))));
    }
  for (; j < n; j++) dst[j] = s0[j * step];
}

/* v / s for v >= 0 without a division for strides 1 and 2. */
static inline int64_t div_stride(int64_t v, int64_t s) {
  return s == 1 ? v : s == 2 ? v >> 1 : v / s;
}

/* Strip row values of output pixels (n, oy, ox0 .. ox0 + cnt - 1) for filter
 * value (ic, ky, kx): the input under each, zero in the padding. The pixels
 * whose input lies inside the row are one (strided) copy. */
static void fill(const ptec_conv_f32 *p, float *dst, int64_t n, int64_t oy, int64_t ox0,
                 int64_t cnt, int64_t ic, int64_t ky, int64_t kx) {
  const int64_t iy = oy * p->stride[0] - p->pad[0] + ky * p->dil[0];
  if (iy < 0 || iy >= p->h) {
    memset(dst, 0, sizeof(float) * (size_t)cnt);
    return;
  }
  const float *src = p->x + n * p->xs[0] + ic * p->xs[1] + iy * p->xs[2];
  const int64_t s = p->stride[1], ix0 = ox0 * s - p->pad[1] + kx * p->dil[1];
  /* Pixels [jl, jh) read columns 0 <= ix0 + j s < w. */
  int64_t jl = ix0 >= 0 ? 0 : div_stride(-ix0 + s - 1, s);
  int64_t jh = ix0 > p->w_ - 1 ? 0 : div_stride(p->w_ - 1 - ix0, s) + 1;
  if (jl > cnt) jl = cnt;
  if (jh > cnt) jh = cnt;
  if (jh < jl) jh = jl;
  for (int64_t j = 0; j < jl; j++) dst[j] = 0.0f;
  if (jh > jl) {
    const int64_t first = ix0 + jl * s;
    copy_strided(dst + jl, src + first * p->xs[3], jh - jl, s * p->xs[3],
                 p->xs[3] == 1 ? p->w_ - first : 0);
  }
  for (int64_t j = jh; j < cnt; j++) dst[j] = 0.0f;
}

/* A run of output pixels within one output row. */
typedef struct segment {
  int64_t oy, ox, cnt, at; /* at: its first pixel's place in the block */
} segment;

/* The strip of a block of nb <= nr output pixels of image n (its segments), then
 * every output channel over it, K in chunks of KC. y: the block's first output. */
static void block(const gemm_job *g, int64_t n, const segment *seg, int nseg, int64_t nb,
                  float *y, float *strip) {
  const ptec_conv_f32 *p = g->p;
  const int64_t K = p->c * p->kh * p->kw, khw = p->kh * p->kw, nr = g->nr;
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    const int64_t kc = K - k0 < KC ? K - k0 : KC;
    /* (ic, ky, kx) of k0, then stepped: no divisions per row of the strip. */
    int64_t ic = k0 / khw, ky = k0 % khw / p->kw, kx = k0 % p->kw;
    for (int64_t kk = 0; kk < kc; kk++) {
      float *dst = strip + kk * nr;
      for (int i = 0; i < nseg; i++)
        fill(p, dst + seg[i].at, n, seg[i].oy, seg[i].ox, seg[i].cnt, ic, ky, kx);
      for (int64_t j = nb; j < nr; j++) dst[j] = 0.0f;
      if (++kx == p->kw) {
        kx = 0;
        if (++ky == p->kh) ky = 0, ic++;
      }
    }
    channels(g, strip, nr, k0, kc, K, y, nb);
  }
}

/* Output planes contiguous (ys[2] == ow): blocks [b0, b1) of nr pixels of each
 * image's plane, across output rows (the 7x7 and 14x14 layers of ResNet would
 * fill a fifth of a 32-pixel block row by row). */
static void strip_blocks(const void *arg, int64_t b0, int64_t b1) {
  const gemm_job *g = arg;
  const ptec_conv_f32 *p = g->p;
  const int64_t pixels = p->oh * p->ow, blocks = (pixels + g->nr - 1) / g->nr;
  float strip[KC * PTEC_F32_MAX_NR];
  segment seg[PTEC_F32_MAX_NR];
  for (int64_t b = b0; b < b1; b++) {
    const int64_t n = b / blocks, px0 = b % blocks * g->nr;
    const int64_t nb = pixels - px0 < g->nr ? pixels - px0 : g->nr;
    int nseg = 0;
    for (int64_t q = px0; q < px0 + nb; nseg++) {
      const int64_t oy = q / p->ow, ox = q % p->ow;
      const int64_t cnt = p->ow - ox < px0 + nb - q ? p->ow - ox : px0 + nb - q;
      seg[nseg] = (segment){oy, ox, cnt, q - px0};
      q += cnt;
    }
    block(g, n, seg, nseg, nb, p->y + n * p->ys[0] + px0, strip);
  }
}

/* Other output layouts: output rows [r0, r1) of all images, nr pixels at a time. */
static void strip_rows(const void *arg, int64_t r0, int64_t r1) {
  const gemm_job *g = arg;
  const ptec_conv_f32 *p = g->p;
  float strip[KC * PTEC_F32_MAX_NR];
  for (int64_t r = r0; r < r1; r++) {
    const int64_t n = r / p->oh, oy = r % p->oh;
    for (int64_t ox0 = 0; ox0 < p->ow; ox0 += g->nr) {
      const int64_t nb = p->ow - ox0 < g->nr ? p->ow - ox0 : g->nr;
      const segment seg = {oy, ox0, nb, 0};
      block(g, n, &seg, 1, nb, p->y + n * p->ys[0] + oy * p->ys[2] + ox0, strip);
    }
  }
}

/* Each output pixel is summed by one thread in the same order whatever the
 * split (kernels/parallel.h), so results do not depend on the thread count. */
static bool gemm_conv(const ptec_conv_f32 *p) {
  if ((!p->packed && (p->ws[3] != 1 || p->ws[2] != p->kw || p->ws[1] != p->kh * p->kw)) ||
      p->ys[3] != 1)
    return false;
  const bool wide = ptec_x86_has_avx512_vnni();
  const gemm_job g = {.p = p, .kernel = wide ? ptec_avx512_f32_kernel_8x32 : kernel_4x16,
                      .mr = wide ? 8 : 4, .nr = wide ? 32 : NR};
  const bool inplace = p->kh == 1 && p->kw == 1 && p->stride[0] == 1 && p->stride[1] == 1 &&
                       p->pad[0] == 0 && p->pad[1] == 0 && p->xs[3] == 1 &&
                       p->xs[2] == p->w_ && p->ys[2] == p->ow;
  if (inplace) /* pixels of a plane contiguous in x and y */
    ptec_parallel_range(p->parallel, inplace_blocks, &g,
                        p->n * ((p->h * p->w_ + g.nr - 1) / g.nr));
  else if (p->ys[2] == p->ow)
    ptec_parallel_range(p->parallel, strip_blocks, &g,
                        p->n * ((p->oh * p->ow + g.nr - 1) / g.nr));
  else
    ptec_parallel_range(p->parallel, strip_rows, &g, p->n * p->oh);
  return true;
}

/* Depthwise: per channel and output row, taps in the reference's order. */
static bool depthwise_conv(const ptec_conv_f32 *p) {
  if (p->ys[3] != 1 || p->w_ + 2 * p->pad[1] > ROWMAX) return false;
  float row[ROWMAX + 8];
  const int64_t wp = p->w_ + 2 * p->pad[1];
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, 0);
  for (int64_t n = 0; n < p->n; n++)
    for (int64_t c = 0; c < p->c; c++) {
      const float *xc = p->x + n * p->xs[0] + c * p->xs[1], *wc = p->w + c * p->ws[0];
      float *yc = p->y + n * p->ys[0] + c * p->ys[1];
      float bias = p->b ? p->b[c] : 0.0f;
      for (int64_t oy = 0; oy < p->oh; oy++) {
        float *yr = yc + oy * p->ys[2];
        for (int64_t ox = 0; ox < p->ow; ox++) yr[ox] = 0.0f;
        for (int64_t ky = 0; ky < p->kh; ky++) {
          int64_t iy = oy * p->stride[0] - p->pad[0] + ky * p->dil[0];
          if (iy < 0 || iy >= p->h) continue;
          /* The input row with its padding, zeros beyond. */
          for (int64_t i = 0; i < p->pad[1]; i++) row[i] = 0.0f;
          for (int64_t i = 0; i < p->w_; i++) row[p->pad[1] + i] = xc[iy * p->xs[2] + i * p->xs[3]];
          for (int64_t i = p->pad[1] + p->w_; i < wp + 8; i++) row[i] = 0.0f;
          for (int64_t kx = 0; kx < p->kw; kx++) {
            __m256 wv = _mm256_set1_ps(wc[ky * p->ws[2] + kx * p->ws[3]]);
            const float *src = row + kx * p->dil[1];
            int64_t ox = 0;
            if (p->stride[1] == 1) {
              for (; ox + 8 <= p->ow; ox += 8)
                _mm256_storeu_ps(yr + ox, _mm256_add_ps(_mm256_loadu_ps(yr + ox),
                                                        _mm256_mul_ps(_mm256_loadu_ps(src + ox), wv)));
            } else {
              const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                     _mm256_set1_epi32((int)p->stride[1]));
              for (; ox + 8 <= p->ow; ox += 8) {
                __m256 xv = _mm256_i32gather_ps(src + ox * p->stride[1], idx, 4);
                _mm256_storeu_ps(yr + ox, _mm256_add_ps(_mm256_loadu_ps(yr + ox),
                                                        _mm256_mul_ps(xv, wv)));
              }
            }
            float ws = wc[ky * p->ws[2] + kx * p->ws[3]];
            for (; ox < p->ow; ox++) yr[ox] += src[ox * p->stride[1]] * ws;
          }
        }
        /* + bias, and a fused relu / hardtanh clamped here (NaN stays NaN) */
        const __m256 bv = _mm256_set1_ps(bias), lo = _mm256_set1_ps(e.lo),
                     hi = _mm256_set1_ps(e.hi);
        int64_t ox = 0;
        for (; ox + 8 <= p->ow; ox += 8) {
          const __m256 v = _mm256_add_ps(_mm256_loadu_ps(yr + ox), bv);
          _mm256_storeu_ps(yr + ox, _mm256_min_ps(hi, _mm256_max_ps(lo, v)));
        }
        for (; ox < p->ow; ox++) {
          const float v = yr[ox] + bias;
          yr[ox] = v < e.lo ? e.lo : v > e.hi ? e.hi : v;
        }
      }
    }
  return true;
}

/* Every path clamps a fused relu / hardtanh (p->clamp) at its stores (the
 * AVX-512 depthwise variants that copy their input clamp after). */
bool ptec_conv_f32_avx2(const ptec_conv_f32 *p) {
  if (p->groups == 1)
    return (ptec_x86_has_avx512_vnni() && ptec_avx512_conv_f32_implicit(p)) || gemm_conv(p);
  if (p->groups == p->c && p->oc == p->c) {
    return (ptec_x86_has_avx512_vnni() && ptec_avx512_depthwise_f32(p)) || depthwise_conv(p);
  }
  return false;
}

#endif /* PTEC_KERNELS_X86 */
