/*
 * AVX-512 variant of op_matmul.c's matmul_f32 for B's rows contiguous (b_cs == 1: mm /
 * addmm / linear with the weight stored [K, N], what a language model's linear layers
 * and the prompt's rows through them are), handed over by matmul_f32_avx2.c when the
 * CPU has AVX-512:
 *   - fewer than four rows of C (a decode step): one row of C by up to 4096 columns,
 *     the sums in L1, four rows of B per pass (each sum loaded and stored once per
 *     four FMAs), so B is read in order, whole rows, as the hardware prefetcher likes
 *     (measured against sixteen registers of sums by 256 columns, which read B in
 *     1 KB pieces: as fast or faster, both at the read bandwidth of a loaded host);
 *   - four rows or more (a prompt), C's rows contiguous and apart from the operands:
 *     C itself holds the sums; blocks of 1024 columns by 64 rows of B (in L2 while
 *     every four rows of C pass over it), four rows of C by four rows of B per step
 *     (16 FMAs per 4 loads of B and 4 loads and stores of sums). Registers-only tiles
 *     (8 rows by 32 columns) read B 128 bytes per row at a stride of N floats, a new
 *     page every row: 6x slower (measured) on a language model's B; but when B is small
 *     (<= 128 KiB, a small transformer's projections and attention's bmm) registers-only
 *     tiles of 8 rows by 32 columns are what runs (tiles, below): 2-4x faster there.
 *     Other layouts go back to the AVX2 code.
 * Each element of C is the same chain of FMAs over k = 0..K-1 from zero as in
 * matmul_f32_avx2.c, so the bits are the same whichever variant runs. B's columns
 * contiguous (the tied LM head) are dot products here too (dots, below).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/x86/matmul_f32_x86.h"

static inline __mmask16 tail_mask(int64_t n) { /* lanes < n, n in 0..16 */
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Sums c[r][j .. j + 16) (lanes in m) += x[r][t] * B[t] over four rows of B from b (rs
 * apart), t in order, for R rows of C (R a constant where inlined). */
ALWAYS_INLINE void four_b_rows(int R, const __m512 x[4][4], const float *b, int64_t rs,
                               __mmask16 m, float *const c[4], int64_t j) {
  const __m512 b0 = _mm512_maskz_loadu_ps(m, b), b1 = _mm512_maskz_loadu_ps(m, b + rs);
  const __m512 b2 = _mm512_maskz_loadu_ps(m, b + 2 * rs);
  const __m512 b3 = _mm512_maskz_loadu_ps(m, b + 3 * rs);
  for (int r = 0; r < R; r++) {
    __m512 v = _mm512_maskz_loadu_ps(m, c[r] + j);
    v = _mm512_fmadd_ps(x[r][0], b0, v);
    v = _mm512_fmadd_ps(x[r][1], b1, v);
    v = _mm512_fmadd_ps(x[r][2], b2, v);
    v = _mm512_fmadd_ps(x[r][3], b3, v);
    _mm512_mask_storeu_ps(c[r] + j, m, v);
  }
}

/* R rows of C (sums in c[r], columns [j0, j0 + nb) of C at c[r][0..nb)), k in [k0, k1):
 * c += A . B, four rows of B per step (each sum loaded and stored once per four FMAs, in
 * k order). `first`: the pass that reads this block of B from memory, which prefetches
 * the next four rows of B. */
ALWAYS_INLINE void rows_of_c(int R, const ptec_matmul_f32 *p, const float *const a[4],
                             float *const c[4], int64_t j0, int64_t nb, int64_t k0,
                             int64_t k1, bool first) {
  const __mmask16 tail = tail_mask(nb % 16), all = (__mmask16)0xFFFF;
  const int64_t rs = p->b_rs, acs = p->a_cs, full = nb - nb % 16;
  int64_t k = k0;
  for (; k + 4 <= k1; k += 4) {
    __m512 x[4][4];
    for (int r = 0; r < R; r++)
      for (int t = 0; t < 4; t++) x[r][t] = _mm512_set1_ps(a[r][(k + t) * acs]);
    const float *b = p->b + k * rs + j0;
    if (first && k + 8 <= k1)
      for (int64_t j = 0; j < full; j += 16) {
        for (int t = 4; t < 8; t++) _mm_prefetch((const char *)(b + t * rs + j), _MM_HINT_T0);
        four_b_rows(R, x, b + j, rs, all, c, j);
      }
    else
      for (int64_t j = 0; j < full; j += 16) four_b_rows(R, x, b + j, rs, all, c, j);
    if (tail) four_b_rows(R, x, b + full, rs, tail, c, full);
  }
  for (; k < k1; k++) {
    const float *b = p->b + k * rs + j0;
    for (int64_t j = 0; j < nb; j += 16) {
      const __mmask16 m = j + 16 <= nb ? all : tail;
      const __m512 bv = _mm512_maskz_loadu_ps(m, b + j);
      for (int r = 0; r < R; r++)
        _mm512_mask_storeu_ps(c[r] + j, m,
                              _mm512_fmadd_ps(_mm512_set1_ps(a[r][k * acs]), bv,
                                              _mm512_maskz_loadu_ps(m, c[r] + j)));
    }
  }
}

/* One row of C at a time by up to ROW_BLOCK columns, the sums in L1: B streams in
 * order, four whole rows at a time. */
#define ROW_BLOCK 4096
static void rows(const ptec_matmul_f32 *p) {
  float acc[ROW_BLOCK];
  float *const c[4] = {acc, acc, acc, acc};
  for (int64_t i = 0; i < p->m; i++) {
    const float *const a[4] = {p->a + i * p->a_rs, NULL, NULL, NULL};
    for (int64_t j0 = 0; j0 < p->n; j0 += ROW_BLOCK) {
      const int64_t nb = p->n - j0 < ROW_BLOCK ? p->n - j0 : ROW_BLOCK;
      for (int64_t j = 0; j < nb; j++) acc[j] = 0.0f;
      rows_of_c(1, p, a, c, j0, nb, 0, p->k, false);
      for (int64_t j = 0; j < nb; j++) ptec_matmul_f32_finish(p, i, j0 + j, acc[j]);
    }
  }
}

/* Whether C's elements lie apart from A's, B's and D's (C is the sums' memory). */
static bool apart(const float *c, int64_t c_len, const float *x, int64_t x_len) {
  return c + c_len <= x || x + x_len <= c;
}

static int64_t extent(int64_t rows, int64_t rs, int64_t cols, int64_t cs) {
  return (rows - 1) * rs + (cols - 1) * cs + 1;
}

/* Four rows or more, C's rows contiguous and apart from the operands: C holds the sums.
 * Blocks of NB columns by KC rows of B (256 KB, in L2 while every group of four rows of
 * C passes over it; B's rows read 4 KB at a time), C's block in L2 (tried: 256 x 128,
 * 512 x 64, 128 x 256 are 5-20% slower on a 16-row prompt). Rows past m in the last
 * group repeat a row (computed, not stored: they write a scratch row). */
#define NB 1024
#define KC 64
/* C's rows contiguous and C apart from A, B (rows contiguous) and D. */
static bool c_rows_apart(const ptec_matmul_f32 *p) {
  const int64_t c_len = extent(p->m, p->c_rs, p->n, 1);
  return p->c_cs == 1 && apart(p->c, c_len, p->a, extent(p->m, p->a_rs, p->k, p->a_cs)) &&
         apart(p->c, c_len, p->b, extent(p->k, p->b_rs, p->n, 1)) &&
         (!p->d || apart(p->c, c_len, p->d, extent(p->m, p->d_rs, p->n, p->d_cs)));
}

static bool blocks(const ptec_matmul_f32 *p) {
  if (!c_rows_apart(p)) return false;
  float spare[NB];
  for (int64_t j0 = 0; j0 < p->n; j0 += NB) {
    const int64_t nb = p->n - j0 < NB ? p->n - j0 : NB;
    for (int64_t i = 0; i < p->m; i++)
      for (int64_t j = 0; j < nb; j++) p->c[i * p->c_rs + j0 + j] = 0.0f;
    for (int64_t k0 = 0; k0 < p->k; k0 += KC) {
      const int64_t k1 = p->k - k0 < KC ? p->k : k0 + KC;
      for (int64_t i0 = 0; i0 < p->m; i0 += 4) {
        const float *a[4];
        float *c[4];
        for (int64_t r = 0; r < 4; r++) {
          a[r] = p->a + (i0 + r < p->m ? i0 + r : i0) * p->a_rs;
          c[r] = i0 + r < p->m ? p->c + (i0 + r) * p->c_rs + j0 : spare;
        }
        rows_of_c(4, p, a, c, j0, nb, k0, k1, i0 == 0);
      }
    }
    for (int64_t i = 0; i < p->m; i++)
      for (int64_t j = 0; j < nb; j++)
        ptec_matmul_f32_finish(p, i, j0 + j, p->c[i * p->c_rs + j0 + j]);
  }
  return true;
}

/* B's columns contiguous (b_rs == 1: the tied LM head reads the embedding table [N, K]
 * as B = its transpose) and A's rows contiguous: each element is a dot product over K in
 * sixteen lanes (the K tail masked), four columns at a time, the same line of the next
 * four columns prefetched (each column is one short stream of K floats; the hardware
 * prefetcher does not follow four of them far enough ahead). The AVX2 variant sums in
 * eight lanes: another rounding order, within the same bound. */
static void dots(const ptec_matmul_f32 *p) {
  const int64_t K = p->k, cs = p->b_cs;
  for (int64_t i = 0; i < p->m; i++) {
    const float *a = p->a + i * p->a_rs;
    for (int64_t j = 0; j < p->n; j += 4) {
      const float *b[4];
      for (int64_t t = 0; t < 4; t++) b[t] = p->b + (j + t < p->n ? j + t : j) * cs;
      __m512 c[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
      for (int64_t k = 0; k < K; k += 16) {
        const __mmask16 m = tail_mask(K - k);
        const __m512 x = _mm512_maskz_loadu_ps(m, a + k);
        for (int t = 0; t < 4; t++) {
          _mm_prefetch((const char *)(b[t] + 4 * cs + k), _MM_HINT_T0);
          c[t] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, b[t] + k), c[t]);
        }
      }
      for (int64_t t = 0; t < 4 && j + t < p->n; t++)
        ptec_matmul_f32_finish(p, i, j + t, _mm512_reduce_add_ps(c[t]));
    }
  }
}

/* Small B (a transformer's projections, attention's bmm): C in register tiles of R rows
 * (up to 8) by V vectors of 16 columns (V = 1 or 2), every k of B's rows read per tile.
 * B fits L2 (SMALL_B), so the rows a stride of N apart are cheap to revisit, where
 * `blocks` would load and store every sum once per four FMAs (the 16 x 64 @ 64 x 192
 * projection: 9.7 us per call there, measured). Each element is the same FMA chain over
 * k = 0..K-1 from zero as `blocks` and `rows`, so the same bits. */
#define SMALL_B (32 * 1024) /* floats of B: 128 KiB */

ALWAYS_INLINE void tile(int R, int V, const ptec_matmul_f32 *p, int64_t i0, int64_t j0,
                        __mmask16 m0, __mmask16 m1) {
  __m512 acc[8][2];
  const float *a[8];
  for (int r = 0; r < R; r++) {
    a[r] = p->a + (i0 + r) * p->a_rs;
    for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_ps();
  }
  const float *b = p->b + j0;
  const int64_t rs = p->b_rs, acs = p->a_cs;
  for (int64_t k = 0; k < p->k; k++, b += rs) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
    const __m512 b1 = V == 2 ? _mm512_maskz_loadu_ps(m1, b + 16) : b0;
    for (int r = 0; r < R; r++) {
      const __m512 x = _mm512_set1_ps(a[r][k * acs]);
      acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
      if (V == 2) acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
    }
  }
  /* The sums leave their registers once, here: indexed by the epilogue's loops below,
   * `acc` itself would live in memory and GCC stored all 16 every k (measured). */
  __m512 sums[8][2];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) sums[r][v] = acc[r][v];
  /* The epilogue: alpha 1 and D's rows contiguous or broadcast, beta 1 (linear's and
   * addmm's bias) as vectors, acc + d as ptec_matmul_f32_finish adds it; else per element. */
  const bool vec = p->alpha == 1.0f && (!p->d || (p->beta == 1.0f && p->d_cs <= 1));
  for (int r = 0; r < R; r++) {
    float *c = p->c + (i0 + r) * p->c_rs + j0;
    const float *d = p->d ? p->d + (i0 + r) * p->d_rs + j0 * p->d_cs : NULL;
    for (int v = 0; v < V; v++) {
      const __mmask16 m = v ? m1 : m0;
      if (vec) {
        __m512 y = sums[r][v];
        if (d)
          y = _mm512_add_ps(y, p->d_cs ? _mm512_maskz_loadu_ps(m, d + 16 * v)
                                       : _mm512_set1_ps(*d));
        _mm512_mask_storeu_ps(c + 16 * v, m, y);
      } else {
        float out[16];
        _mm512_storeu_ps(out, sums[r][v]);
        for (int64_t t = 0; t < 16 && (m >> t & 1u); t++)
          ptec_matmul_f32_finish(p, i0 + r, j0 + 16 * v + t, out[t]);
      }
    }
  }
}

/* R rows of C from i0, every column: tiles 32 columns wide, a last one of 16 or fewer. */
ALWAYS_INLINE void tile_rows(int R, const ptec_matmul_f32 *p, int64_t i0) {
  int64_t j = 0;
  for (; j + 16 < p->n; j += 32) tile(R, 2, p, i0, j, 0xFFFF, tail_mask(p->n - j - 16));
  if (j < p->n) tile(R, 1, p, i0, j, tail_mask(p->n - j), 0);
}

static bool tiles(const ptec_matmul_f32 *p) {
  if (p->k * p->n > SMALL_B || !c_rows_apart(p)) return false;
  int64_t i = 0;
  for (; i + 8 <= p->m; i += 8) tile_rows(8, p, i);
  switch (p->m - i) { /* R a constant in each: the accumulators stay in registers */
    case 7: tile_rows(7, p, i); break;
    case 6: tile_rows(6, p, i); break;
    case 5: tile_rows(5, p, i); break;
    case 4: tile_rows(4, p, i); break;
    case 3: tile_rows(3, p, i); break;
    case 2: tile_rows(2, p, i); break;
    case 1: tile_rows(1, p, i); break;
    default: break;
  }
  return true;
}

bool ptec_matmul_f32_avx512(const ptec_matmul_f32 *p) {
  if (p->b_rs == 1 && p->a_cs == 1) {
    dots(p);
    return true;
  }
  if (p->b_cs != 1) return false;
  if (p->m >= 4 && tiles(p)) return true;
  if (p->m >= 4) return blocks(p);
  rows(p);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
