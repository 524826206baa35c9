/*
 * AVX-512 float32 convolution, groups 1, stride 2 x 2 (ResNet's 7 x 7 stem
 * on 3 channels, and stride-2 layers with rows of 24+ outputs and a small
 * bank), NCHW rows contiguous.
 *
 * The im2col strip it replaces (conv2d_f32_avx2.c) was filled value by
 * value of k for every 32 outputs: 147 rows of the stem's strip per block.
 * Here, per output row, each input row a filter row reads is split once into
 * its even and odd columns, zero-padded (a "phase" row of RW floats):
 *
 *     P[c][ky][ph][j] = x[c][2 oy - pad_t + ky][2 j + ph - pad_l]   (0 outside)
 *
 * so that tap kx = 2 a + ph of outputs ox .. ox + 15 is the contiguous
 * P[c][ky][ph][ox + a ..], one unmasked load. The row's outputs then run the
 * register blocks of the implicit GEMM (fma_8x32_avx512.h): eight filters by
 * 48 or 32 outputs, one FMA chain per output over k in OIHW order (c, ky,
 * kx), the bias and a fused relu / hardtanh at the store. The split rows are
 * on the stack (at most BUF floats: the stem's 3 x 7 rows take 19 KiB,
 * ResNet-18's 56 -> 28 layer's 64 x 3 rows 96 KiB).
 *
 * Rows under MIN_OW outputs (ResNet-18's 14 -> 7 layer, 512 filters) take
 * the whole image's phase rows at once (up to 336 KiB of them, on the
 * calling thread's stack: more channels go in chunks, the partial sums
 * stored in y and resumed), each output row's segment padded to
 * owp = ow + (kw - 1) / 2 so that tap a of output (oy, ox) is lane
 * oy * owp + ox + a of its (c, ky, ph) row: blocks run along those lanes
 * across output rows (lanes with ox >= ow are computed and not stored), as
 * the "same" layers' blocks do along their planes. There the bank may be
 * large: units are then filter group major (a group's values stay in L2
 * over the image's blocks), where the strip read the whole bank per block.
 *
 * Sums in another order than the reference's, with fused multiply-adds:
 * within the float tolerance of docs/kernels-cpu.md.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/parallel.h"
#include "kernels/portable/variants.h"
#include "kernels/x86/conv2d_f32_same_avx512.h"
#include "kernels/x86/conv2d_f32_stem_avx512.h"
#include "kernels/x86/conv2d_f32_x86.h"
#include "kernels/x86/fma_8x32_avx512.h"

/* Phase rows (floats) of a wide row's unit (stack) and of a narrow image
 * (the caller's stack), values of k per call at most. Wide rows with banks
 * over BANK bytes keep the strip path (its K-chunked order keeps them in
 * cache), and so do 1x1 windows (ResNet-18's 1x1 downsample layers: 8%
 * slower here). */
enum { BUF = 32768, NARROW_BUF = 86080, TAIL = 64, MAXK = 4608, MR = 8, MIN_OW = 24 };
#define BANK (1 << 20)

typedef struct stem {
  const ptec_conv_f32 *p;
  float *P;          /* narrow: the image's phase rows */
  int64_t n;         /* narrow: the image */
  int64_t rw;        /* floats per (c, ky, ph) phase row */
  int64_t owp;       /* lanes per output row in a phase row (wide: rw) */
  int64_t lanes;     /* lanes holding outputs: oh * owp (narrow), ow (wide) */
  int64_t nb;        /* narrow: lanes per block, 32 or 48 */
  int64_t blocks;    /* narrow: blocks per image */
  int64_t k0, k1;    /* the values of k of this pass (narrow: a chunk of channels) */
  int32_t off[MAXK]; /* value k's phase row (from P: its chunk's) and column shift a */
} stem;

/* Output row oy's segment of the phase rows of image n, channels [c0, c1):
 * `width` floats at P + at of every (c - c0, ky, ph) row. */
static void split_rows(const stem *s, int64_t n, int64_t oy, int64_t c0, int64_t c1, float *P,
                       int64_t at, int64_t width) {
  const ptec_conv_f32 *p = s->p;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t c = c0; c < c1; c++)
    for (int64_t ky = 0; ky < p->kh; ky++) {
      float *e = P + ((c - c0) * p->kh + ky) * 2 * s->rw + at, *o = e + s->rw;
      const int64_t iy = 2 * oy - p->pad[0] + ky;
      const bool in = iy >= 0 && iy < p->h;
      const float *row = p->x + n * p->xs[0] + c * p->xs[1] + (in ? iy : 0) * p->xs[2];
      for (int64_t j = 0; j < width; j += 16) {
        /* Input columns 2 j - pad_l .. + 31; masked lanes are not read. */
        const int64_t base = 2 * j - p->pad[1];
        const uint64_t m = in ? ptec_avx512_cols_inside(base, 32, p->w_) : 0;
        const __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m, row + base);
        const __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), row + base + 16);
        const __mmask16 keep = (__mmask16)ptec_avx512_cols_inside(j, 16, width);
        _mm512_mask_storeu_ps(e + j, keep, _mm512_permutex2var_ps(lo, even, hi));
        _mm512_mask_storeu_ps(o + j, keep, _mm512_permutex2var_ps(lo, odd, hi));
      }
    }
}

/* Filters [oc, oc + mr) by lanes ox .. ox + 16 nv - 1 (nv 2 or 3) of the
 * phase rows P, stored where they hold outputs into y (image n's, or a wide
 * row's start);
 * pk: the filters are the compiler's panels (a constant once inlined,
 * PTEC_F32_FILTER_ROWS). */
static inline __attribute__((always_inline)) void tile_pk(const stem *s, const float *P,
                                                          int64_t oc, int64_t ox, int nv, float *y,
                                                          const bool pk, const bool resume) {
  const ptec_conv_f32 *p = s->p;
  const int64_t K = p->c * p->kh * p->kw, mr = p->oc - oc < MR ? p->oc - oc : MR;
  PTEC_F32_FILTER_ROWS(p, oc, mr, pk);
  const float *at = P + ox;
  /* Lanes l .. l + 15 of vector v: output rows l / owp on, each row's part
   * (ox = lane - oy owp < ow) one masked store at y + part[v][i]. */
  int parts[3] = {0, 0, 0};
  __mmask16 pm[3][17];
  int64_t part[3][17];
  for (int v = 0; v < nv; v++) {
    const int64_t l = ox + 16 * v;
    /* (A wide row's lanes are all its own: no division there, ~4% of the
     * stem's time.) */
    for (int64_t oy = s->P ? l / s->owp : 0; oy * s->owp < l + 16 && oy * s->owp < s->lanes;
         oy++) {
      const int64_t first = oy * s->owp - l; /* lane of the row's ox = 0 */
      pm[v][parts[v]] = (__mmask16)ptec_avx512_cols_inside(-first, 16, p->ow);
      part[v][parts[v]++] = oy * p->ys[2] - first;
    }
  }
  /* A chunk after the first resumes each chain from the partial sums the
   * last one stored (float32 stored and reloaded exactly: the same bits as
   * one pass over k); lanes that hold no output start at zero. */
  __m512 c[8][3];
  for (int r = 0; r < 8; r++)
    for (int v = 0; v < 3; v++) {
      c[r][v] = _mm512_setzero_ps();
      if (resume && r < mr && v < nv)
        for (int i = 0; i < parts[v]; i++)
          c[r][v] = _mm512_mask_loadu_ps(c[r][v], pm[v][i],
                                         y + (oc + r) * p->ys[1] + part[v][i]);
    }
  if (nv == 3) {
    PTEC_ACC_8X48;
    c00 = c[0][0], c01 = c[0][1], c02 = c[0][2], c10 = c[1][0], c11 = c[1][1], c12 = c[1][2];
    c20 = c[2][0], c21 = c[2][1], c22 = c[2][2], c30 = c[3][0], c31 = c[3][1], c32 = c[3][2];
    c40 = c[4][0], c41 = c[4][1], c42 = c[4][2], c50 = c[5][0], c51 = c[5][1], c52 = c[5][2];
    c60 = c[6][0], c61 = c[6][1], c62 = c[6][2], c70 = c[7][0], c71 = c[7][1], c72 = c[7][2];
    for (int64_t k = s->k0, wk = s->k0 * ks; k < s->k1; k++, wk += ks) {
      const float *src = at + s->off[k];
      const __m512 b0 = _mm512_loadu_ps(src), b1 = _mm512_loadu_ps(src + 16),
                   b2 = _mm512_loadu_ps(src + 32);
      PTEC_FMA_8X48(wk, b0, b1, b2);
    }
    PTEC_ACC_ARRAY_8X48(a);
    for (int r = 0; r < 8; r++)
      for (int v = 0; v < 3; v++) c[r][v] = a[r][v];
  } else {
    PTEC_ACC_8X32;
    c00 = c[0][0], c01 = c[0][1], c10 = c[1][0], c11 = c[1][1], c20 = c[2][0], c21 = c[2][1];
    c30 = c[3][0], c31 = c[3][1], c40 = c[4][0], c41 = c[4][1], c50 = c[5][0], c51 = c[5][1];
    c60 = c[6][0], c61 = c[6][1], c70 = c[7][0], c71 = c[7][1];
    for (int64_t k = s->k0, wk = s->k0 * ks; k < s->k1; k++, wk += ks) {
      const float *src = at + s->off[k];
      const __m512 b0 = _mm512_loadu_ps(src), b1 = _mm512_loadu_ps(src + 16);
      PTEC_FMA_8X32(wk, b0, b1);
    }
    PTEC_ACC_ARRAY_8X32(a);
    for (int r = 0; r < 8; r++) c[r][0] = a[r][0], c[r][1] = a[r][1];
  }
  if (s->k1 < K) { /* partial sums, stored as they are */
    for (int64_t r = 0; r < mr; r++)
      for (int v = 0; v < nv; v++)
        for (int i = 0; i < parts[v]; i++)
          _mm512_mask_storeu_ps(y + (oc + r) * p->ys[1] + part[v][i], pm[v][i], c[r][v]);
    return;
  }
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, oc);
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  for (int64_t r = 0; r < mr; r++) {
    const __m512 bias = _mm512_set1_ps(e.bias ? e.bias[r] : 0.0f);
    float *yr = y + (oc + r) * p->ys[1];
    for (int v = 0; v < nv; v++) {
      const __m512 out = ptec_f32_epi512(c[r][v], bias, lo, hi);
      for (int i = 0; i < parts[v]; i++) _mm512_mask_storeu_ps(yr + part[v][i], pm[v][i], out);
    }
  }
}

static void tile(const stem *s, const float *P, int64_t oc, int64_t ox, int nv, float *y) {
  if (s->k0 > 0) {
    if (s->p->packed)
      tile_pk(s, P, oc, ox, nv, y, true, true);
    else
      tile_pk(s, P, oc, ox, nv, y, false, true);
  } else if (s->p->packed) {
    tile_pk(s, P, oc, ox, nv, y, true, false);
  } else {
    tile_pk(s, P, oc, ox, nv, y, false, false);
  }
}

/* Wide rows: units are output rows (image, oy): split its input rows, then
 * every filter group over the row in blocks of 48 or 32 outputs (112 = 48 +
 * 32 + 32: no lane empty). */
static void rows(const void *arg, int64_t u0, int64_t u1) {
  const stem *s = arg;
  const ptec_conv_f32 *p = s->p;
  float P[BUF];
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n = u / p->oh, oy = u % p->oh;
    split_rows(s, n, oy, 0, p->c, P, 0, s->rw);
    float *y = p->y + n * p->ys[0] + oy * p->ys[2];
    for (int64_t oc = 0; oc < p->oc; oc += MR)
      for (int64_t ox = 0; ox < p->ow;) {
        const int64_t left = p->ow - ox, nb = left >= 48 && left != 64 ? 48 : 32;
        tile(s, P, oc, ox, (int)(nb / 16), y);
        ox += nb;
      }
  }
}

/* Narrow rows: units are (filter group, block) of image s->n, group major. */
static void narrow(const void *arg, int64_t u0, int64_t u1) {
  const stem *s = arg;
  const ptec_conv_f32 *p = s->p;
  for (int64_t u = u0; u < u1; u++)
    tile(s, s->P, u / s->blocks * MR, u % s->blocks * s->nb, (int)(s->nb / 16),
         p->y + s->n * p->ys[0]);
}

/* Narrow rows, image by image and, when the image's phase rows exceed
 * NARROW_BUF, channels at a time (a contiguous range of k: the partial sums
 * stored in y and resumed, so the same bits as one pass): the phase rows on
 * this thread's stack (a function of its own, so that wide calls do not
 * reserve it), read by every thread. NARROW_BUF holds ResNet-18's 14 -> 7
 * layer (256 x 3 x 2 rows of 56: 336 KiB, was 512 KiB) in one chunk: three
 * chunks of 128 KiB cost it 7% (per-op best, alternated); its 28 -> 14 layer
 * (630 KiB) now comes here in two chunks instead of the im2col strip. */
static __attribute__((noinline)) void run_narrow(stem *s) {
  const ptec_conv_f32 *p = s->p;
  const int64_t per_c = p->kh * 2 * s->rw, taps = p->kh * p->kw;
  /* Chunks as even as the buffer allows (ResNet-18's 28 -> 14 layer: 128 =
   * 3 x 43 channels, not 2 x 52 + 24). */
  const int64_t most = (NARROW_BUF - TAIL) / per_c, chunks = (p->c + most - 1) / most;
  const int64_t cc = (p->c + chunks - 1) / chunks;
  float P[NARROW_BUF];
  s->P = P;
  /* Each chunk's phase rows start at P. */
  for (int64_t k = 0; k < p->c * taps; k++) s->off[k] -= (int32_t)(k / (cc * taps) * cc * per_c);
  for (s->n = 0; s->n < p->n; s->n++)
    for (int64_t c0 = 0; c0 < p->c; c0 += cc) {
      const int64_t c1 = c0 + cc < p->c ? c0 + cc : p->c;
      /* The last block's lanes past the phase rows read up to nb + amax more
       * floats (not stored). */
      const int64_t end = (c1 - c0) * per_c;
      for (int64_t i = end; i < end + TAIL; i++) P[i] = 0.0f;
      s->k0 = c0 * taps;
      s->k1 = c1 * taps;
      for (int64_t oy = 0; oy < p->oh; oy++)
        split_rows(s, s->n, oy, c0, c1, P, oy * s->owp, s->owp);
      ptec_parallel_range(p->parallel, narrow, s, (p->oc + MR - 1) / MR * s->blocks);
    }
}

bool ptec_avx512_conv_f32_stem(const ptec_conv_f32 *p) {
  const int64_t K = p->c * p->kh * p->kw, amax = (p->kw - 1) / 2;
  const bool wide = p->ow >= MIN_OW;
  stem s = {.p = p, .k0 = 0, .k1 = K};
  if (wide) {
    s.rw = s.owp = (p->ow + 32 + amax + 15) / 16 * 16;
    s.lanes = p->ow;
  } else {
    s.owp = p->ow + amax;
    s.lanes = s.rw = p->oh * s.owp;
    /* Blocks of 48 unless the lanes 48 leaves empty cost more than it saves
     * (conv2d_f32_implicit_avx512.c's block_width). */
    s.nb = (s.lanes + 47) / 48 * 48 * 9 < (s.lanes + 31) / 32 * 32 * 10 ? 48 : 32;
    s.blocks = (s.lanes + s.nb - 1) / s.nb;
  }
  if (p->groups != 1 || p->stride[0] != 2 || p->stride[1] != 2 || p->dil[0] != 1 ||
      p->dil[1] != 1 || K / p->c < 2 || p->xs[3] != 1 || p->ys[3] != 1 || K > MAXK ||
      (wide && (p->c * p->kh * 2 * s.rw > BUF || p->oc * K * (int64_t)sizeof(float) > BANK)) ||
      (!wide && (p->kh * 2 * s.rw + TAIL > NARROW_BUF || amax > TAIL - 48)) ||
      (!p->packed && (p->ws[3] != 1 || p->ws[2] != p->kw || p->ws[1] != p->kh * p->kw)))
    return false;
  for (int64_t c = 0, k = 0; c < p->c; c++)
    for (int64_t ky = 0; ky < p->kh; ky++)
      for (int64_t kx = 0; kx < p->kw; kx++, k++)
        s.off[k] = (int32_t)(((c * p->kh + ky) * 2 + kx % 2) * s.rw + kx / 2);
  if (wide) {
    ptec_parallel_range(p->parallel, rows, &s, p->n * p->oh);
    return true;
  }
  run_narrow(&s);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
