/*
 * int8 GEMM microkernels for AVX2 (gemm_s8_avx2.h).
 *
 * 4x2: four rows times two output channels, eight accumulators of eight
 * int32 lanes; each step loads 16 values of every row and both filters,
 * widened to int16, and does eight VPMADDWD (128 MACs). 1x4 serves single
 * rows (fully connected layers on one vector). A k that is not a multiple
 * of 16 ends with one overlapping step over the last 16 values, with the
 * lanes already counted zeroed on the activation side, so nothing is read
 * outside either operand. k < 16 takes a scalar loop. Accumulators of up
 * to CHUNK channels per row collect on the stack and are requantized
 * eight at a time.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/x86/gemm_s8_avx2.h"

enum { CHUNK = 256 };

static inline __m256i load16(const int8_t *p, __m256i zp) {
  return _mm256_sub_epi16(
      _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p)), zp);
}

/* Lanes >= first of 16 int16 lanes kept, the others zero. */
static inline __m256i keep_from(int first) {
  const __m256i idx = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm256_cmpgt_epi16(idx, _mm256_set1_epi16((int16_t)(first - 1)));
}

#define MAC(acc, a, b) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, b))

/* out[r * 2 + j] = dot(x[r], w_j) for r < 4, j < 2. */
static void dot_4x2(const ptec_gemm_s8 *g, const int8_t *const x[4], const int8_t *w0,
                    const int8_t *w1, int32_t out[8]) {
  const __m256i izp = _mm256_set1_epi16((int16_t)g->in_zp);
  const __m256i wzp = _mm256_set1_epi16((int16_t)g->w_zp);
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
          c30 = c00, c31 = c00;
  const int32_t k = g->k;
  int32_t i = 0;
  for (; i + 16 <= k; i += 16) {
    __m256i b0 = load16(w0 + i, wzp), b1 = load16(w1 + i, wzp);
    __m256i a = load16(x0 + i, izp);
    MAC(c00, a, b0);
    MAC(c01, a, b1);
    a = load16(x1 + i, izp);
    MAC(c10, a, b0);
    MAC(c11, a, b1);
    a = load16(x2 + i, izp);
    MAC(c20, a, b0);
    MAC(c21, a, b1);
    a = load16(x3 + i, izp);
    MAC(c30, a, b0);
    MAC(c31, a, b1);
  }
  if (i < k) {
    int32_t t = k - 16;
    __m256i keep = keep_from(i - t);
    __m256i b0 = load16(w0 + t, wzp), b1 = load16(w1 + t, wzp);
    __m256i a = _mm256_and_si256(load16(x0 + t, izp), keep);
    MAC(c00, a, b0);
    MAC(c01, a, b1);
    a = _mm256_and_si256(load16(x1 + t, izp), keep);
    MAC(c10, a, b0);
    MAC(c11, a, b1);
    a = _mm256_and_si256(load16(x2 + t, izp), keep);
    MAC(c20, a, b0);
    MAC(c21, a, b1);
    a = _mm256_and_si256(load16(x3 + t, izp), keep);
    MAC(c30, a, b0);
    MAC(c31, a, b1);
  }
  __m256i h0 = _mm256_hadd_epi32(c00, c01), h1 = _mm256_hadd_epi32(c10, c11);
  __m256i h2 = _mm256_hadd_epi32(c20, c21), h3 = _mm256_hadd_epi32(c30, c31);
  __m256i g0 = _mm256_hadd_epi32(h0, h1), g1 = _mm256_hadd_epi32(h2, h3);
  __m256i s = _mm256_add_epi32(_mm256_permute2x128_si256(g0, g1, 0x20),
                               _mm256_permute2x128_si256(g0, g1, 0x31));
  _mm256_storeu_si256((__m256i *)(void *)out, s);
}

/* out[j] = dot(x, w_j) for j < 4. */
static void dot_1x4(const ptec_gemm_s8 *g, const int8_t *x, const int8_t *const w[4],
                    int32_t out[4]) {
  const __m256i izp = _mm256_set1_epi16((int16_t)g->in_zp);
  const __m256i wzp = _mm256_set1_epi16((int16_t)g->w_zp);
  const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
  const int32_t k = g->k;
  int32_t i = 0;
  for (; i + 16 <= k; i += 16) {
    __m256i a = load16(x + i, izp);
    MAC(c0, a, load16(w0 + i, wzp));
    MAC(c1, a, load16(w1 + i, wzp));
    MAC(c2, a, load16(w2 + i, wzp));
    MAC(c3, a, load16(w3 + i, wzp));
  }
  if (i < k) {
    int32_t t = k - 16;
    __m256i a = _mm256_and_si256(load16(x + t, izp), keep_from(i - t));
    MAC(c0, a, load16(w0 + t, wzp));
    MAC(c1, a, load16(w1 + t, wzp));
    MAC(c2, a, load16(w2 + t, wzp));
    MAC(c3, a, load16(w3 + t, wzp));
  }
  __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(c0, c1), _mm256_hadd_epi32(c2, c3));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  _mm_storeu_si128((__m128i *)(void *)out, s);
}

/* k < 16: plain loops. */
static int32_t dot_short(const ptec_gemm_s8 *g, const int8_t *x, const int8_t *w) {
  int32_t acc = 0;
  for (int32_t i = 0; i < g->k; i++) acc += ((int32_t)x[i] - g->in_zp) * ((int32_t)w[i] - g->w_zp);
  return acc;
}

void ptec_avx2_gemm_s8_rows(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                            int8_t *const y[4], ptrdiff_t y_col) {
  int32_t acc[4][CHUNK];
  const int8_t *xr[4];
  for (int r = 0; r < 4; r++) xr[r] = x[r < rows ? r : 0];
  for (int32_t j0 = 0; j0 < g->n; j0 += CHUNK) {
    int32_t jn = g->n - j0 < CHUNK ? g->n - j0 : CHUNK;
    if (g->k < 16) {
      for (int r = 0; r < rows; r++)
        for (int32_t j = 0; j < jn; j++) acc[r][j] = dot_short(g, xr[r], g->w + (j0 + j) * g->w_row);
    } else if (rows > 1) {
      for (int32_t j = 0; j < jn; j += 2) {
        const int8_t *w0 = g->w + (j0 + j) * g->w_row;
        const int8_t *w1 = j + 1 < jn ? w0 + g->w_row : w0;
        int32_t out[8];
        dot_4x2(g, xr, w0, w1, out);
        for (int r = 0; r < rows; r++) {
          acc[r][j] = out[2 * r];
          if (j + 1 < jn) acc[r][j + 1] = out[2 * r + 1];
        }
      }
    } else {
      for (int32_t j = 0; j < jn; j += 4) {
        const int8_t *w[4];
        for (int32_t i = 0; i < 4; i++)
          w[i] = g->w + (j0 + (j + i < jn ? j + i : j)) * g->w_row;
        int32_t out[4];
        dot_1x4(g, xr[0], w, out);
        for (int32_t i = 0; i < 4 && j + i < jn; i++) acc[0][j + i] = out[i];
      }
    }
    for (int r = 0; r < rows; r++)
      ptec_avx2_requantize_run(&g->q, acc[r], j0, jn, y[r] + j0 * y_col, y_col);
  }
}

#endif /* PTEC_KERNELS_X86 */
