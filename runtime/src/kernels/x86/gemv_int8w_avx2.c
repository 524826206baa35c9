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

static float finish(const ptec_llm_int8w *p, int64_t n, float acc) {
  float v = acc * p->scales[n];
  return p->bias != NULL ? v + p->bias[n] : v;
}

void ptec_llm_linear_int8w_avx2(const ptec_llm_int8w *p, int64_t n0, int64_t n1) {
  const int64_t K = p->K;
  for (int64_t m = 0; m < p->M; m++) {
    const float *x = p->x + m * K;
    float *out = p->out + m * p->N;
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) {
      const int8_t *w0 = p->w + n * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      int64_t k = 0;
      for (; k + 8 <= K; k += 8) {
        __m256 xv = _mm256_loadu_ps(x + k);
        a0 = _mm256_fmadd_ps(xv, w8(w0 + k), a0);
        a1 = _mm256_fmadd_ps(xv, w8(w1 + k), a1);
        a2 = _mm256_fmadd_ps(xv, w8(w2 + k), a2);
        a3 = _mm256_fmadd_ps(xv, w8(w3 + k), a3);
      }
      float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (; k < K; k++) {
        s0 += x[k] * (float)w0[k];
        s1 += x[k] * (float)w1[k];
        s2 += x[k] * (float)w2[k];
        s3 += x[k] * (float)w3[k];
      }
      out[n] = finish(p, n, s0);
      out[n + 1] = finish(p, n + 1, s1);
      out[n + 2] = finish(p, n + 2, s2);
      out[n + 3] = finish(p, n + 3, s3);
    }
    for (; n < n1; n++) {
      const int8_t *w = p->w + n * K;
      __m256 a = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 8 <= K; k += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), w8(w + k), a);
      float s = hsum(a);
      for (; k < K; k++) s += x[k] * (float)w[k];
      out[n] = finish(p, n, s);
    }
  }
}

#endif /* PTEC_KERNELS_X86 */
