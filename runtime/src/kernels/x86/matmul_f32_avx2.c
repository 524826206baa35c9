/*
 * AVX2+FMA variant of op_matmul.c's matmul_f32 (mm, bmm, addmm, linear):
 * C = alpha * (A @ B) + beta * D, float32 (portable/variants.h).
 *
 * Two layouts qualify, and cover linear's weight and mm/addmm's usual
 * operands:
 *   - B's columns contiguous (b_rs == 1, linear's [N, K] weight) and A's
 *     rows contiguous: every output is a dot product; four columns at a
 *     time, eight lanes of K per FMA, the K tail with masked loads;
 *   - B's rows contiguous (b_cs == 1): four rows of C by sixteen columns,
 *     A's values broadcast, B's rows loaded, eight FMA accumulators; with
 *     fewer than four rows, one row by up to 512 columns (row_blocks).
 * With AVX-512, B's rows contiguous go to matmul_f32_avx512.c first (same bits), and
 * so do B's columns contiguous (sixteen lanes: another order, within the tolerance).
 * The epilogue (alpha, beta, D) is the reference's, per element. Sums run
 * in another order than the reference's k = 0..K-1 with separate roundings,
 * hence a tolerance (docs/kernels-cpu.md).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/x86/cpu_features.h"
#include "kernels/x86/matmul_f32_x86.h"

static inline __m256i lane_mask(int64_t n) { /* lanes < n (n in 0..8) */
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
}

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* B's columns contiguous: dot products, four columns at a time. */
static void dots(const ptec_matmul_f32 *p) {
  const int64_t K = p->k, tail = K % 8, kk = K - tail;
  const __m256i mask = lane_mask(tail);
  for (int64_t i = 0; i < p->m; i++) {
    const float *a = p->a + i * p->a_rs;
    for (int64_t j = 0; j < p->n; j += 4) {
      const float *b[4];
      for (int64_t t = 0; t < 4; t++) b[t] = p->b + (j + t < p->n ? j + t : j) * p->b_cs;
      __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
      for (int64_t k = 0; k < kk; k += 8) {
        __m256 x = _mm256_loadu_ps(a + k);
        c0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b[0] + k), c0);
        c1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b[1] + k), c1);
        c2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b[2] + k), c2);
        c3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b[3] + k), c3);
      }
      if (tail) {
        __m256 x = _mm256_maskload_ps(a + kk, mask);
        c0 = _mm256_fmadd_ps(x, _mm256_maskload_ps(b[0] + kk, mask), c0);
        c1 = _mm256_fmadd_ps(x, _mm256_maskload_ps(b[1] + kk, mask), c1);
        c2 = _mm256_fmadd_ps(x, _mm256_maskload_ps(b[2] + kk, mask), c2);
        c3 = _mm256_fmadd_ps(x, _mm256_maskload_ps(b[3] + kk, mask), c3);
      }
      float s[4] = {hsum(c0), hsum(c1), hsum(c2), hsum(c3)};
      for (int64_t t = 0; t < 4 && j + t < p->n; t++) ptec_matmul_f32_finish(p, i, j + t, s[t]);
    }
  }
}

/* B's rows contiguous: 4x16 blocks of C, A broadcast. */
static void panels(const ptec_matmul_f32 *p) {
  for (int64_t i0 = 0; i0 < p->m; i0 += 4) {
    int64_t mr = p->m - i0 < 4 ? p->m - i0 : 4;
    const float *a[4];
    for (int64_t r = 0; r < 4; r++) a[r] = p->a + (i0 + (r < mr ? r : 0)) * p->a_rs;
    for (int64_t j0 = 0; j0 < p->n; j0 += 16) {
      int64_t nb = p->n - j0 < 16 ? p->n - j0 : 16;
      __m256i m0 = lane_mask(nb), m1 = lane_mask(nb - 8 < 0 ? 0 : nb - 8);
      __m256 c[4][2];
      for (int r = 0; r < 4; r++) c[r][0] = c[r][1] = _mm256_setzero_ps();
      const float *b = p->b + j0;
      for (int64_t k = 0; k < p->k; k++, b += p->b_rs) {
        __m256 b0, b1;
        if (nb == 16) {
          b0 = _mm256_loadu_ps(b);
          b1 = _mm256_loadu_ps(b + 8);
        } else {
          b0 = _mm256_maskload_ps(b, m0);
          b1 = _mm256_maskload_ps(b + 8, m1);
        }
        for (int r = 0; r < 4; r++) {
          __m256 x = _mm256_broadcast_ss(a[r] + k * p->a_cs);
          c[r][0] = _mm256_fmadd_ps(x, b0, c[r][0]);
          c[r][1] = _mm256_fmadd_ps(x, b1, c[r][1]);
        }
      }
      for (int64_t r = 0; r < mr; r++) {
        float s[16];
        _mm256_storeu_ps(s, c[r][0]);
        _mm256_storeu_ps(s + 8, c[r][1]);
        for (int64_t j = 0; j < nb; j++) ptec_matmul_f32_finish(p, i0 + r, j0 + j, s[j]);
      }
    }
  }
}

/* B's rows contiguous and fewer than four rows of C (a decode step's linear
 * layers): one row of C at a time, ROW_BLOCK columns per pass, their sums in
 * memory that stays in L1, so B is read in long runs of each row rather than
 * 64-byte pieces strided by N. Each sum is the same chain of FMAs over k from
 * zero as in panels(), so the results are the same bits. */
#define ROW_BLOCK 512
static void row_blocks(const ptec_matmul_f32 *p) {
  float acc[ROW_BLOCK];
  for (int64_t i = 0; i < p->m; i++) {
    const float *a = p->a + i * p->a_rs;
    for (int64_t j0 = 0; j0 < p->n; j0 += ROW_BLOCK) {
      const int64_t nb = p->n - j0 < ROW_BLOCK ? p->n - j0 : ROW_BLOCK, tail = nb % 8;
      const __m256i mask = lane_mask(tail);
      for (int64_t j = 0; j < nb; j++) acc[j] = 0.0f;
      const float *b = p->b + j0;
      for (int64_t k = 0; k < p->k; k++, b += p->b_rs) {
        const __m256 x = _mm256_broadcast_ss(a + k * p->a_cs);
        int64_t j = 0;
        for (; j + 8 <= nb; j += 8)
          _mm256_storeu_ps(acc + j, _mm256_fmadd_ps(x, _mm256_loadu_ps(b + j),
                                                    _mm256_loadu_ps(acc + j)));
        if (tail)
          _mm256_maskstore_ps(acc + j, mask,
                              _mm256_fmadd_ps(x, _mm256_maskload_ps(b + j, mask),
                                              _mm256_maskload_ps(acc + j, mask)));
      }
      for (int64_t j = 0; j < nb; j++) ptec_matmul_f32_finish(p, i, j0 + j, acc[j]);
    }
  }
}

bool ptec_matmul_f32_avx2(const ptec_matmul_f32 *p) {
  if (p->k < 8 || p->k > INT32_MAX) return false;
  if (p->b_rs == 1 && p->a_cs == 1) {
    if (!ptec_x86_has_avx512_vnni() || !ptec_matmul_f32_avx512(p)) dots(p);
  } else if (p->b_cs == 1 && ptec_x86_has_avx512_vnni() && ptec_matmul_f32_avx512(p)) return true;
  else if (p->b_cs == 1 && p->m < 4) row_blocks(p);
  else if (p->b_cs == 1) panels(p);
  else return false;
  return true;
}

#endif /* PTEC_KERNELS_X86 */
