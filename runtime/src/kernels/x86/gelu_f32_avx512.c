/*
 * AVX-512 variant of gelu's float32 rows (op_activation.c), sixteen lanes, masked tail.
 * "none": x/2 (1 + erf(x / sqrt 2)) with vec_math_f32_avx512.h's erf (PyTorch's
 * vectorised formula); "tanh": 1 + tanh(u) = 2 e / (e + 1) with e = exp(2u), so
 * y = x (e / (e + 1)), which does not cancel for large negative x (2u is clamped to 80,
 * where e / (e + 1) is already 1 in float, so e stays finite).
 * Tolerance (test_ops_f32_x86.py, against float64): |y - gelu(x)| <= 2^-21 |gelu(x)| +
 * 2^-22 |x|, the second term from erf's absolute error (1.5e-7) times x / 2.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include "kernels/x86/ops_f32_x86.h"
#include "kernels/x86/vec_math_f32_avx512.h"

static inline __m512 gelu16(__m512 x, bool tanh_approx) {
  const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
  if (!tanh_approx) {
    __m512 erf = ptec_erf_f32x16(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)));
    return _mm512_mul_ps(_mm512_mul_ps(x, half), _mm512_add_ps(one, erf));
  }
  const __m512 beta = _mm512_set1_ps(0.79788456080286536f), kappa = _mm512_set1_ps(0.044715f);
  __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  __m512 u2 = _mm512_mul_ps(_mm512_set1_ps(2.0f), _mm512_mul_ps(beta, _mm512_fmadd_ps(kappa, x3, x)));
  __m512 e = ptec_exp_f32x16(_mm512_min_ps(_mm512_set1_ps(80.0f), u2));
  return _mm512_mul_ps(x, _mm512_div_ps(e, _mm512_add_ps(e, one)));
}

void ptec_gelu_row_f32_avx512(float *o, const float *in, int64_t n, bool tanh_approx) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(o + i, gelu16(_mm512_loadu_ps(in + i), tanh_approx));
  if (i < n) {
    __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(o + i, m, gelu16(_mm512_maskz_loadu_ps(m, in + i), tanh_approx));
  }
}

#endif /* PTEC_KERNELS_X86 */
