/*
 * AVX-512 variant of _softmax's float32 row (softmax_body.h) for contiguous rows (the
 * attention's last dim): the max sixteen lanes at a time, exp(x - max) with
 * vec_math_f32_avx512.h's exp kept in the output, the sum in double (as the reference,
 * eight lanes at a time), then one multiply by 1 / sum. Only exp differs from the
 * reference (<= 2 ulp), and the order of the double sum.
 *
 * NaN: VMAXPS(x, max) skips NaN inputs where the reference's `v > max ? v : max` skips
 * them too (unless the row starts with one); either way exp(NaN - max) makes the sum and
 * every output NaN. Rows of -inf or with +inf give NaN, as the reference.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <math.h>

#include "kernels/x86/ops_f32_x86.h"
#include "kernels/x86/vec_math_f32_avx512.h"

static inline __mmask16 lanes(int64_t left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

void ptec_softmax_row_f32_avx512(const float *x, float *y, int64_t n) {
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16)
    vmax = _mm512_mask_max_ps(vmax, lanes(n - i), _mm512_maskz_loadu_ps(lanes(n - i), x + i),
                              vmax);
  const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512d sum = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = lanes(n - i);
    __m512 e = ptec_exp_f32x16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), max));
    e = _mm512_maskz_mov_ps(m, e);
    _mm512_mask_storeu_ps(y + i, m, e);
    sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm256_castpd_ps(
                                 _mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  const __m512 scale = _mm512_set1_ps(1.0f / (float)_mm512_reduce_add_pd(sum));
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = lanes(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), scale));
  }
}

#endif /* PTEC_KERNELS_X86 */
