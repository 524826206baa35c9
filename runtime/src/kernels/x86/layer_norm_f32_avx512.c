/*
 * AVX-512 variant of native_layer_norm on float32 (norm_body.h's LAYER_NORM) for
 * contiguous rows: the mean and the sum of squared deviations in double, eight lanes at a
 * time (the reference sums in double too, in another order), then the reference's float
 * operations per element, x * rstd + shift, then * weight + bias (separate multiplies and
 * adds: the build has -ffp-contract=off), sixteen lanes at a time. Only the order of the
 * double sums differs from the reference: rstd and mean round to the same float but in
 * rare ties, so outputs agree within an ulp of their terms (test_ops_f32_x86.py).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <math.h>

#include "kernels/x86/ops_f32_x86.h"

static inline __mmask8 lanes8(int64_t left) {
  return left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1);
}

void ptec_layer_norm_rows_f32_avx512(const float *x, float *y, const float *w, const float *b,
                                     float *mean_out, float *rstd_out, int64_t rows,
                                     int64_t width, double eps) {
  for (int64_t r = 0; r < rows; r++, x += width, y += width) {
    __m512d s = _mm512_setzero_pd();
    for (int64_t i = 0; i < width; i += 8)
      s = _mm512_add_pd(s, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(lanes8(width - i), x + i)));
    double mean = width ? _mm512_reduce_add_pd(s) / (double)width : 0.0;
    const __m512d vm = _mm512_set1_pd(mean);
    __m512d q = _mm512_setzero_pd();
    for (int64_t i = 0; i < width; i += 8) {
      __mmask8 m = lanes8(width - i);
      __m512d d = _mm512_maskz_sub_pd(m, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + i)), vm);
      q = _mm512_add_pd(q, _mm512_mul_pd(d, d));
    }
    double var = width ? _mm512_reduce_add_pd(q) / (double)width : 0.0;
    float rstd = (float)(1.0 / sqrt(var + eps));
    float meanf = (float)mean, shift = -rstd * meanf;
    mean_out[r] = meanf;
    rstd_out[r] = rstd;
    const __m512 vr = _mm512_set1_ps(rstd), vs = _mm512_set1_ps(shift), one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < width; i += 16) {
      __mmask16 m = width - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (width - i)) - 1);
      __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vr), vs);
      __m512 wv = w ? _mm512_maskz_loadu_ps(m, w + i) : one;
      __m512 bv = b ? _mm512_maskz_loadu_ps(m, b + i) : _mm512_setzero_ps();
      _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_mul_ps(v, wv), bv));
    }
  }
}

#endif /* PTEC_KERNELS_X86 */
