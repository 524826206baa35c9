/*
 * exp and erf on sixteen float32 lanes, for the AVX-512 softmax and gelu variants.
 *
 * exp: Cephes' expf (x = n ln 2 + r, |r| <= ln 2 / 2, ln 2 split in two parts, a degree-6
 * polynomial), 2^n applied with VSCALEFPS so overflow gives inf and underflow 0 or a
 * denormal without exponent tricks; within 2 ulp of exp over float's range (tested against
 * float64 in test_ops_f32_x86.py through softmax). NaN stays NaN, -inf gives 0.
 * erf: Abramowitz and Stegun 7.1.26 (absolute error <= 1.5e-7), the same formula as
 * PyTorch's vectorised erf on x86, so its gelu and this one round alike.
 */
#ifndef PTEC_KERNELS_X86_VEC_MATH_F32_AVX512_H
#define PTEC_KERNELS_X86_VEC_MATH_F32_AVX512_H

#include <immintrin.h>

static inline __m512 ptec_exp_f32x16(__m512 x) {
  /* max/min with x second: a NaN x passes through (VMAXPS returns the second operand) */
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

/* |x| and sign bits with AVX-512F's integer logic (the float forms need AVX-512DQ). */
static inline __m512 ptec_abs_f32x16(__m512 x) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
}

static inline __m512 ptec_erf_f32x16(__m512 x) {
  const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
  __m512 ax = ptec_abs_f32x16(x);
  __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                           _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f)));
  __m512 r = _mm512_set1_ps(1.061405429f);
  r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(-1.453152027f));
  r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(1.421413741f));
  r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(-0.284496736f));
  r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(0.254829592f));
  r = _mm512_mul_ps(r, t);
  __m512 e = ptec_exp_f32x16(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), ax), ax));
  __m512 y = _mm512_fnmadd_ps(r, e, _mm512_set1_ps(1.0f)); /* erf |x| */
  return _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_castps_si512(y), _mm512_and_si512(sign, _mm512_castps_si512(x))));
}

#endif /* PTEC_KERNELS_X86_VEC_MATH_F32_AVX512_H */
