/*
 * int8 GEMM with AVX-512 VNNI (VPDPBUSD), for CPUs that have AVX-512 F/BW
 * and VNNI (gemm_s8_avx512.h has the arithmetic). The weights stay where
 * they are (each filter a contiguous run of k bytes), so the sums run along
 * k inside the vector lanes and are reduced at the end of each dot product:
 *
 *   4x4: four rows times four filters, sixteen accumulators, 64 values of k
 *        per step (eight 64-byte loads, four XORs, sixteen VPDPBUSD: 1024
 *        MACs); 1x8 for single rows (fully connected layers on one vector).
 *   The last k % 64 values are read with byte masks (masked-off bytes are
 *   neither read nor counted: a zero weight byte meets them), so nothing
 *   outside either operand is touched and no k is too short.
 *
 * Sums of up to CHUNK filters per row collect on the stack and go through
 * the AVX2 requantization (requantize_avx2.h), bit for bit the reference's.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/x86/gemm_s8_avx512.h"
#include "kernels/x86/vnni_s8_avx512.h"

enum { CHUNK = 256 };

/* Bytes [0, n) of 64, n <= 64. */
static inline __mmask64 first_bytes(int32_t n) {
  return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

/* x + 128 as unsigned bytes: flipping the sign bit. Masked-off bytes load as
 * zero and become 128, which meets a zero weight byte. */
static inline __m512i load_x(const int8_t *p, __mmask64 m) {
  return _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p), _mm512_set1_epi8((char)0x80));
}

static inline __m512i load_w(const int8_t *p, __mmask64 m) {
  return _mm512_maskz_loadu_epi8(m, p);
}

/* Eight 16-lane sums to one vector of eight totals, in order. */
static inline __m256i reduce8(const __m512i a[8]) {
  __m256i h[8];
  for (int i = 0; i < 8; i++)
    h[i] = _mm256_add_epi32(_mm512_castsi512_si256(a[i]), _mm512_extracti64x4_epi64(a[i], 1));
  __m256i g0 = _mm256_hadd_epi32(_mm256_hadd_epi32(h[0], h[1]), _mm256_hadd_epi32(h[2], h[3]));
  __m256i g1 = _mm256_hadd_epi32(_mm256_hadd_epi32(h[4], h[5]), _mm256_hadd_epi32(h[6], h[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(g0, g1, 0x20),
                          _mm256_permute2x128_si256(g0, g1, 0x31));
}

/* out[r * 4 + j] = sum_k (x[r][k] + 128) * w[j][k], r < 4, j < 4. */
static void dot_4x4(const int8_t *const x[4], const int8_t *const w[4], int32_t k,
                    int32_t out[16]) {
  __m512i c[16];
  for (int i = 0; i < 16; i++) c[i] = _mm512_setzero_si512();
  for (int32_t i = 0; i < k; i += 64) {
    const __mmask64 m = first_bytes(k - i);
    const __m512i w0 = load_w(w[0] + i, m), w1 = load_w(w[1] + i, m);
    const __m512i w2 = load_w(w[2] + i, m), w3 = load_w(w[3] + i, m);
    for (int r = 0; r < 4; r++) {
      const __m512i a = load_x(x[r] + i, m);
      c[4 * r + 0] = ptec_avx512_dpbusd(c[4 * r + 0], a, w0);
      c[4 * r + 1] = ptec_avx512_dpbusd(c[4 * r + 1], a, w1);
      c[4 * r + 2] = ptec_avx512_dpbusd(c[4 * r + 2], a, w2);
      c[4 * r + 3] = ptec_avx512_dpbusd(c[4 * r + 3], a, w3);
    }
  }
  _mm256_storeu_si256((__m256i *)(void *)out, reduce8(c));
  _mm256_storeu_si256((__m256i *)(void *)(out + 8), reduce8(c + 8));
}

/* out[j] = sum_k (x[k] + 128) * w[j][k], j < 8. */
static void dot_1x8(const int8_t *x, const int8_t *const w[8], int32_t k, int32_t out[8]) {
  __m512i c[8];
  for (int i = 0; i < 8; i++) c[i] = _mm512_setzero_si512();
  for (int32_t i = 0; i < k; i += 64) {
    const __mmask64 m = first_bytes(k - i);
    const __m512i a = load_x(x + i, m);
    for (int j = 0; j < 8; j++) c[j] = ptec_avx512_dpbusd(c[j], a, load_w(w[j] + i, m));
  }
  _mm256_storeu_si256((__m256i *)(void *)out, reduce8(c));
}

/* dot_1x8 that also sums the filters (for w_corr == NULL): one pass over weights
 * that only a single row reads, instead of a second one for the corrections. */
static void dot_1x8_corr(const int8_t *x, const int8_t *const w[8], int32_t k, int32_t in_zp,
                         int32_t out[8]) {
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i c[8], s[8];
  for (int i = 0; i < 8; i++) c[i] = s[i] = _mm512_setzero_si512();
  for (int32_t i = 0; i < k; i += 64) {
    const __mmask64 m = first_bytes(k - i);
    const __m512i a = load_x(x + i, m);
    for (int j = 0; j < 8; j++) {
      const __m512i b = load_w(w[j] + i, m);
      c[j] = ptec_avx512_dpbusd(c[j], a, b);
      s[j] = ptec_avx512_dpbusd(s[j], ones, b);
    }
  }
  const __m256i corr = _mm256_mullo_epi32(reduce8(s), _mm256_set1_epi32(128 + in_zp));
  _mm256_storeu_si256((__m256i *)(void *)out, _mm256_sub_epi32(reduce8(c), corr));
}

void ptec_avx512_gemm_s8_rows(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                              int8_t *const y[4], ptrdiff_t y_col) {
  int32_t acc[4][CHUNK];
  const int8_t *xr[4];
  for (int r = 0; r < 4; r++) xr[r] = x[r < rows ? r : 0];
  for (int32_t j0 = 0; j0 < g->n; j0 += CHUNK) {
    const int32_t jn = g->n - j0 < CHUNK ? g->n - j0 : CHUNK;
    const int32_t *corr = g->w_corr ? g->w_corr + j0 : NULL; /* NULL: one row, sums inline */
    if (rows > 1) {
      for (int32_t j = 0; j < jn; j += 4) {
        const int8_t *w[4];
        for (int i = 0; i < 4; i++) w[i] = g->w + (j0 + (j + i < jn ? j + i : j)) * g->w_row;
        int32_t out[16];
        dot_4x4(xr, w, g->k, out);
        for (int r = 0; r < rows; r++)
          for (int32_t i = 0; i < 4 && j + i < jn; i++) acc[r][j + i] = out[4 * r + i] - corr[j + i];
      }
    } else {
      for (int32_t j = 0; j < jn; j += 8) {
        const int8_t *w[8];
        for (int i = 0; i < 8; i++) w[i] = g->w + (j0 + (j + i < jn ? j + i : j)) * g->w_row;
        int32_t out[8];
        if (corr == NULL) {
          dot_1x8_corr(xr[0], w, g->k, g->in_zp, out);
          for (int32_t i = 0; i < 8 && j + i < jn; i++) acc[0][j + i] = out[i];
          continue;
        }
        dot_1x8(xr[0], w, g->k, out);
        for (int32_t i = 0; i < 8 && j + i < jn; i++) acc[0][j + i] = out[i] - corr[j + i];
      }
    }
    for (int r = 0; r < rows; r++)
      ptec_avx2_requantize_run(&g->q, acc[r], j0, jn, y[r] + j0 * y_col, y_col);
  }
}

void ptec_avx512_gemm_s8_corr(const ptec_gemm_s8 *g, int32_t *corr) {
  const __m512i ones = _mm512_set1_epi8(1);
  for (int32_t j = 0; j < g->n; j++) {
    const int8_t *w = g->w + j * g->w_row;
    __m512i s = _mm512_setzero_si512();
    for (int32_t i = 0; i < g->k; i += 64)
      s = ptec_avx512_dpbusd(s, ones, load_w(w + i, first_bytes(g->k - i)));
    /* |sum w| <= 128 k and |128 + in_zp| <= 255: exact in int32 for k <= 2^16. */
    corr[j] = (128 + g->in_zp) * _mm512_reduce_add_epi32(s);
  }
}

#endif /* PTEC_KERNELS_X86 */
