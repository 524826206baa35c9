/*
 * AVX-512 float32 convolution, groups 1, NCHW rows contiguous, as an
 * implicit GEMM: the pixel vectors of the GEMM are masked loads of the input
 * planes themselves, so nothing is copied. The im2col strip it replaces
 * (conv2d_f32_avx2.c's drivers) cost about half the instructions of a
 * 64-channel 3x3 layer.
 *
 *   - "same" stride-1 windows of 2+ taps (ResNet's 3x3 layers): blocks of 32
 *     outputs along the flattened plane, across rows (conv2d_f32_same_avx512.h);
 *   - other stride-1 windows of 2+ taps with rows of 32 outputs or more
 *     ("valid" or asymmetric padding): blocks of 32 outputs of one output row.
 *
 * Microkernel: eight output channels by 32 output pixels (two vectors),
 * sixteen FMA accumulators over the whole of
 * K = C * KH * KW (channel by channel, tap by tap: one FMA chain per
 * output, the same whatever the thread count), filter values broadcast into
 * the FMAs (from the compiler's panels when the call has them: one stream),
 * the bias added and a fused relu / hardtanh applied at the store. Windows of 2 or more taps only. Sums in another order than the
 * reference's, with fused multiply-adds: within the float tolerance of
 * docs/kernels-cpu.md.
 *
 * Order of the work: when the filters are small (<= 1 MiB) each block of 32
 * pixels runs every group of eight filters (the pixels' inputs stay in L1/L2);
 * larger banks (ResNet-18's 512-channel layers: 9.4 MB) run each group of
 * eight filters over every block (their 8 x K values stay in L2), where the
 * block-by-block order had read the whole bank from memory per block.
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

enum { MAXT = 64, MR = 8, NB = 48 };
#define BIG_BANK (1 << 20)
/* Input channels per pass of the small-bank order (by_block). */
enum { CB = 32 };

/* A block of up to 32 outputs of image n: where its inputs start in each
 * channel plane for each tap, which lanes are read, where its outputs go in
 * a plane and how many. */
typedef struct block {
  uint64_t m[MAXT];
  int64_t off[MAXT];
  int64_t n, at, left;
} block;

/* Lanes [16 v, 16 v + 16) of the first `left` outputs of a block. */
static __mmask16 lanes(int64_t left, int v) {
  const int64_t n = left - 16 * v;
  return n >= 16 ? (__mmask16)0xFFFF : n > 0 ? (__mmask16)((1u << n) - 1) : (__mmask16)0;
}

/* Stores nv vectors of each of the mr rows of c (c[r][v]): the last range of
 * input channels adds the bias and clamps, an earlier one stores the partial
 * sums as they are. */
static void store(const ptec_conv_f32 *p, const block *bl, int64_t oc, int64_t mr, int nv,
                  bool last, const __m512 (*c)[3]) {
  float *y = p->y + bl->n * p->ys[0] + oc * p->ys[1] + bl->at;
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, oc);
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  for (int64_t r = 0; r < mr; r++) {
    const __m512 bias = _mm512_set1_ps(e.bias ? e.bias[r] : 0.0f);
    for (int v = 0; v < nv; v++)
      _mm512_mask_storeu_ps(y + r * p->ys[1] + 16 * v, lanes(bl->left, v),
                            last ? ptec_f32_epi512(c[r][v], bias, lo, hi) : c[r][v]);
  }
}

/* Where accumulator (r, v) starts: the partial sums in y after the first
 * range of input channels (rows past mr: zero). */
static inline __m512 start(const ptec_conv_f32 *p, const block *bl, int64_t oc, int64_t mr,
                           int64_t c0, int r, int v) {
  if (c0 == 0 || r >= mr) return _mm512_setzero_ps();
  return _mm512_maskz_loadu_ps(lanes(bl->left, v), p->y + bl->n * p->ys[0] +
                                                       (oc + r) * p->ys[1] + bl->at + 16 * v);
}

/* The accumulators c{r}{v} start where start() says. */
#define START_ROW(r, nv)                                           \
  c##r##0 = start(p, bl, oc, mr, c0, r, 0);                        \
  c##r##1 = start(p, bl, oc, mr, c0, r, 1);                        \
  if (nv == 3) c##r##2 = start(p, bl, oc, mr, c0, r, 2)
#define START(nv)                                                                         \
  do {                                                                                    \
    START_ROW(0, nv); START_ROW(1, nv); START_ROW(2, nv); START_ROW(3, nv);              \
    START_ROW(4, nv); START_ROW(5, nv); START_ROW(6, nv); START_ROW(7, nv);              \
  } while (0)

/* Filters [oc, oc + mr) by the block bl, nv = 2 or 3 vectors (32 or 48
 * outputs; a constant once inlined), input channels [c0, c1): channel by
 * channel, tap by tap, one FMA chain per output. */
static inline __attribute__((always_inline)) void tile_nv(const ptec_conv_f32 *p,
                                                          const block *bl, int64_t oc,
                                                          int64_t mr, int64_t c0, int64_t c1,
                                                          const int nv, const bool pk) {
  const int64_t T = p->kh * p->kw;
  PTEC_F32_FILTER_ROWS(p, oc, mr, pk);
  __m512 c00, c01, c02 = _mm512_setzero_ps(), c10, c11, c12 = c02, c20, c21, c22 = c02, c30,
                   c31, c32 = c02, c40, c41, c42 = c02, c50, c51, c52 = c02, c60, c61,
                   c62 = c02, c70, c71, c72 = c02;
  START(nv);
  /* One loop over k (channel by channel, tap by tap): GCC spent ~40
   * instructions a channel shuffling registers between two nested loops. */
  const float *xc = p->x + bl->n * p->xs[0] + c0 * p->xs[1];
  for (int64_t k = c0 * T * ks, end = c1 * T * ks, t = 0; k < end; k += ks) {
    /* Masked lanes are not read: the address may lie outside the plane. */
    const float *src = xc + bl->off[t];
    const uint64_t m = bl->m[t];
    const __m512 b0 = _mm512_maskz_loadu_ps((__mmask16)m, src);
    const __m512 b1 = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), src + 16);
    if (nv == 3) {
      const __m512 b2 = _mm512_maskz_loadu_ps((__mmask16)(m >> 32), src + 32);
      PTEC_FMA_8X48(k, b0, b1, b2);
    } else {
      PTEC_FMA_8X32(k, b0, b1);
    }
    if (++t == T) t = 0, xc += p->xs[1];
  }
  PTEC_ACC_ARRAY_8X48(c);
  store(p, bl, oc, mr, nv, c1 == p->c, c);
}

/* Filters [oc, oc + MR) (or to the last) by the block bl, input channels
 * [c0, c1): the four constant-folded copies of tile_nv. */
static void tile(const ptec_conv_f32 *p, const block *bl, int64_t oc, int64_t nb, int64_t c0,
                 int64_t c1) {
  const int64_t mr = p->oc - oc < MR ? p->oc - oc : MR;
  if (nb == 48 && p->packed)
    tile_nv(p, bl, oc, mr, c0, c1, 3, true);
  else if (nb == 48)
    tile_nv(p, bl, oc, mr, c0, c1, 3, false);
  else if (p->packed)
    tile_nv(p, bl, oc, mr, c0, c1, 2, true);
  else
    tile_nv(p, bl, oc, mr, c0, c1, 2, false);
}

/* Block b of nb outputs of image n. "Same" stride-1 planes: along the
 * flattened plane (conv2d_f32_same_avx512.h); otherwise of one output row. */
static void make_block(const ptec_conv_f32 *p, bool same, int64_t nb, int64_t n, int64_t b,
                       block *bl) {
  bl->n = n;
  if (same) {
    uint32_t m[NB / 16][MAXT];
    int64_t unused[MAXT];
    bl->at = b * nb;
    bl->left = p->h * p->w_ - bl->at < nb ? p->h * p->w_ - bl->at : nb;
    for (int64_t v = 0; v < nb / 16; v++)
      ptec_avx512_same_taps(p, bl->at + 16 * v, m[v], 1, v ? unused : bl->off, 1);
    for (int64_t t = 0; t < p->kh * p->kw; t++) {
      bl->m[t] = 0;
      for (int64_t v = 0; v < nb / 16; v++) bl->m[t] |= (uint64_t)m[v][t] << (16 * v);
    }
    return;
  }
  const int64_t chunks = (p->ow + nb - 1) / nb, oy = b / chunks, ox = b % chunks * nb;
  bl->at = oy * p->ys[2] + ox;
  bl->left = p->ow - ox < nb ? p->ow - ox : nb;
  for (int64_t ky = 0; ky < p->kh; ky++) {
    const int64_t iy = oy * p->stride[0] - p->pad[0] + ky * p->dil[0];
    const bool in = iy >= 0 && iy < p->h;
    for (int64_t kx = 0; kx < p->kw; kx++) {
      const int64_t t = ky * p->kw + kx, ix = ox - p->pad[1] + kx * p->dil[1];
      bl->m[t] = in ? ptec_avx512_cols_inside(ix, bl->left, p->w_) : 0;
      bl->off[t] = in ? iy * p->xs[2] + ix : 0;
    }
  }
}

/* Outputs per block for lines (planes or rows) of n outputs: 48 unless the
 * lanes it leaves empty cost more than the 8x48 block saves (~10% per lane
 * used, measured on ResNet-18's 56 x 56 and 28 x 28 layers; its 7 x 7 plane,
 * 49 outputs in 96 lanes, ran 1.3x slower than in 64). */
static int64_t block_width(int64_t n) {
  return (n + 47) / 48 * 48 * 9 < (n + 31) / 32 * 32 * 10 ? 48 : 32;
}

typedef struct job {
  const ptec_conv_f32 *p;
  bool same;
  int64_t nb;     /* outputs per block: 32 or 48 */
  int64_t blocks; /* per image (with tail: the full ones and the tail) */
  int64_t n;      /* tail: the image */
  int64_t tail;   /* outputs past the last full block done as dot products */
  const float *col; /* tail: their windows, K values each */
} job;

/* Planes whose last block would be nearly empty (ResNet-18's 7 x 7 = 48 + 1,
 * which 32-output blocks take in 64 lanes; 14 x 14 = 4 x 48 + 4, in 240):
 * the last MAXTAIL outputs or fewer are dot products of each filter with the
 * output's window (col, copied once per image), 16 values of k per FMA, the
 * rest 48-output blocks (7 x 7 layers 0.78x, 14 x 14 0.88x). OIHW filters of banks over 1 MiB only: their rows are contiguous
 * in k, and both the host and the x86-64-avx512 programs leave them
 * unpacked, so the two still agree bit for bit. */
enum { MAXTAIL = 4, MAXCOL = 4608 };

/* The windows of outputs q0 .. q0 + tail - 1 of image n into col. */
static void tail_columns(const ptec_conv_f32 *p, int64_t n, int64_t q0, int64_t tail,
                         float *col) {
  const int64_t T = p->kh * p->kw, K = p->c * T;
  uint32_t m[MAXT];
  int64_t off[MAXT];
  ptec_avx512_same_taps(p, q0, m, 1, off, 1);
  for (int64_t q = 0; q < tail; q++)
    for (int64_t ic = 0; ic < p->c; ic++) {
      const float *xc = p->x + n * p->xs[0] + ic * p->xs[1];
      for (int64_t t = 0; t < T; t++)
        col[q * K + ic * T + t] = (m[t] >> q & 1) ? xc[off[t] + q] : 0.0f;
    }
}

/* Filters [oc, oc + MR) (or to the last) by the tail outputs of j's image. */
static void tail_tile(const job *j, int64_t oc) {
  const ptec_conv_f32 *p = j->p;
  const int64_t K = p->c * p->kh * p->kw, mr = p->oc - oc < MR ? p->oc - oc : MR;
  const int64_t q0 = p->h * p->w_ - j->tail;
  const float *w = p->w + oc * p->ws[0];
  const ptec_f32_epilogue e = ptec_f32_epilogue_of(p, oc);
  for (int64_t q = 0; q < j->tail; q++) {
    const float *col = j->col + q * K;
    __m512 acc[MR];
    for (int r = 0; r < MR; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
      const __mmask16 m = (__mmask16)ptec_avx512_cols_inside(k, 16, K);
      const __m512 c = _mm512_maskz_loadu_ps(m, col + k);
      for (int r = 0; r < MR; r++)
        acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + (r < mr ? r : 0) * p->ws[0] + k),
                                 c, acc[r]);
    }
    for (int64_t r = 0; r < mr; r++) {
      /* + bias, clamped as ptec_f32_epi512 does (a NaN sum stays NaN). */
      const __m128 v = _mm_add_ss(_mm_set_ss(_mm512_reduce_add_ps(acc[r])),
                                  _mm_set_ss(e.bias ? e.bias[r] : 0.0f));
      const __m128 out = _mm_min_ss(_mm_set_ss(e.hi), _mm_max_ss(_mm_set_ss(e.lo), v));
      p->y[j->n * p->ys[0] + (oc + r) * p->ys[1] + q0 + q] = _mm_cvtss_f32(out);
    }
  }
}

/* Large banks with a tail, image j->n: units are (filter group, block), the
 * last block of each group the tail. */
static void by_filters_tail(const void *arg, int64_t u0, int64_t u1) {
  const job *j = arg;
  const ptec_conv_f32 *p = j->p;
  block bl;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t oc = u / j->blocks * MR, b = u % j->blocks;
    if (b == j->blocks - 1) {
      tail_tile(j, oc);
      continue;
    }
    make_block(p, true, j->nb, j->n, b, &bl);
    tile(p, &bl, oc, j->nb, 0, p->c);
  }
}

/* Small banks: units are (image, block) pairs. Each runs every filter group
 * over CB input channels at a time, so that the block's inputs of those
 * channels stay in L1 across the groups (64 channels' worth, 48 KiB, did
 * not: ResNet-18's 56 x 56 layer ~10% slower). */
static void by_block(const void *arg, int64_t u0, int64_t u1) {
  const job *j = arg;
  const ptec_conv_f32 *p = j->p;
  block bl;
  for (int64_t u = u0; u < u1; u++) {
    make_block(p, j->same, j->nb, u / j->blocks, u % j->blocks, &bl);
    for (int64_t c0 = 0; c0 < p->c; c0 += CB)
      for (int64_t oc = 0; oc < p->oc; oc += MR)
        tile(p, &bl, oc, j->nb, c0, p->c - c0 <= CB ? p->c : c0 + CB);
  }
}

/* Large banks: units are (filter group, image, block), filter group
 * outermost: the group's 8 x K values stay in L2, where the block-by-block
 * order read the whole bank from memory per block. (Taking the input
 * channels CB at a time here too measured no faster on ResNet-18's 14 x 14
 * and 7 x 7 layers.) */
static void by_filters(const void *arg, int64_t u0, int64_t u1) {
  const job *j = arg;
  const ptec_conv_f32 *p = j->p;
  const int64_t per = p->n * j->blocks;
  block bl;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t oc = u / per * MR;
    make_block(p, j->same, j->nb, u % per / j->blocks, u % j->blocks, &bl);
    tile(p, &bl, oc, j->nb, 0, p->c);
  }
}

bool ptec_avx512_conv_f32_implicit(const ptec_conv_f32 *p) {
  const int64_t T = p->kh * p->kw;
  if (p->groups != 1 || T > MAXT ||
      (!p->packed && (p->ws[3] != 1 || p->ws[2] != p->kw || p->ws[1] != T)) ||
      p->xs[3] != 1 || p->ys[3] != 1)
    return false;
  /* Stride 2 both ways (ResNet's stem): its input rows split into even and
   * odd columns once per output row (conv2d_f32_stem_avx512.c). */
  if (p->stride[0] == 2 && p->stride[1] == 2) return ptec_avx512_conv_f32_stem(p);
  const bool same = ptec_avx512_same_plane(p);
  /* 1x1 stride-1 layers read their planes in place in conv2d_f32_avx2.c, or
   * copy a short strip: here the input and output planes' vectors of a block
   * (MobileNetV2's 112 x 112 planes: 49 KiB apart, 16 cache sets apart) fall
   * into the same few L1 sets and evict each other (2.5x slower measured). */
  if (T < 2) return false;
  /* Row by row: stride 1 along rows, rows of 32 outputs or more. Blocks of
   * shorter rows are mostly empty, and stride 2 (64 loads' worth of lanes
   * and two permutes per 32 outputs) measured 1.3-3.6x slower than the
   * im2col strip on ResNet-18's stride-2 layers (28 to 7 columns). */
  if (!same && (p->stride[1] != 1 || p->ow < 32)) return false;
  const int64_t nb = block_width(same ? p->h * p->w_ : p->ow), P = p->h * p->w_;
  const bool big = p->oc * p->c * T * (int64_t)sizeof(float) > BIG_BANK;
  if (same && big && !p->packed && P > 48 && P % 48 <= MAXTAIL &&
      p->c * T <= MAXCOL) {
    float col[MAXTAIL * MAXCOL];
    job jt = {p, true, 48, P / 48 + 1, 0, P % 48, col};
    for (jt.n = 0; jt.n < p->n; jt.n++) {
      tail_columns(p, jt.n, P - jt.tail, jt.tail, col);
      ptec_parallel_range(p->parallel, by_filters_tail, &jt, (p->oc + MR - 1) / MR * jt.blocks);
    }
    return true;
  }
  const job j = {p, same, nb,
                 same ? (p->h * p->w_ + nb - 1) / nb : p->oh * ((p->ow + nb - 1) / nb), 0, 0,
                 NULL};
  if (!big)
    ptec_parallel_range(p->parallel, by_block, &j, p->n * j.blocks);
  else
    ptec_parallel_range(p->parallel, by_filters, &j, (p->oc + MR - 1) / MR * p->n * j.blocks);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
