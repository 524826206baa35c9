/*
 * AVX2 + FMA variant of ptec::linear_int8w (kernels/llm/op_linear_int8w.c):
 * fp32 activations times int8 weights, four output rows at a time so each
 * load of x serves four weight rows, eight input channels per step (int8 ->
 * int32 -> fp32, one FMA). A GEMV at decode (M = 1); rows of x one after the
 * other at prefill. Sums in eight lanes, so it differs from the reference's
 * sequential sum by rounding only.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <string.h>

#include "kernels/llm/llm_quant.h"

static float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static __m256 w8(const int8_t *w) {
  int64_t v;
  memcpy(&v, w, 8); /* unaligned */
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(v)));
}

/* ptec_llm_int8w_dots_fn: four rows share each load of x. */
static void dots(const float *x, const int8_t *w, int64_t K, int rows, float *sums) {
  if (rows == 4) {
    const int8_t *w0 = w, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      __m256 xv = _mm256_loadu_ps(x + k);
      a0 = _mm256_fmadd_ps(xv, w8(w0 + k), a0);
      a1 = _mm256_fmadd_ps(xv, w8(w1 + k), a1);
      a2 = _mm256_fmadd_ps(xv, w8(w2 + k), a2);
      a3 = _mm256_fmadd_ps(xv, w8(w3 + k), a3);
    }
    sums[0] = hsum(a0), sums[1] = hsum(a1), sums[2] = hsum(a2), sums[3] = hsum(a3);
    for (; k < K; k++)
      for (int r = 0; r < 4; r++) sums[r] += x[k] * (float)w[r * K + k];
    return;
  }
  __m256 a = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), w8(w + k), a);
  sums[0] = hsum(a);
  for (; k < K; k++) sums[0] += x[k] * (float)w[k];
}

void ptec_llm_linear_int8w_avx2(const ptec_llm_int8w *p, int64_t n0, int64_t n1) {
  ptec_llm_int8w_rows(p, n0, n1, dots);
}

#endif /* PTEC_KERNELS_X86 */
