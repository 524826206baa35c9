/*
 * AVX-512 variant of quantize_per_tensor's float32 -> int8 row
 * (op_quantize.c: quantize_f32 then to_integer), sixteen values at a time,
 * equal to the scalar code for every input:
 *
 *   v = nearbyint(x * inv_scale) + zp      (single-precision multiply and add;
 *                                           VRNDSCALEPS rounds half to even,
 *                                           as nearbyintf in the default mode)
 *   y = NaN ? zp : clamp(v, lo, hi)        (infinities clamp; v is integral)
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/quantized/variants.h"

void ptec_quantize_s8_avx512(const float *x, int8_t *y, int64_t n, float inv_scale, int32_t zp,
                             int32_t lo, int32_t hi) {
  const __m512 inv = _mm512_set1_ps(inv_scale), zpf = _mm512_set1_ps((float)zp);
  const __m512 flo = _mm512_set1_ps((float)lo), fhi = _mm512_set1_ps((float)hi);
  const __m512i izp = _mm512_set1_epi32(zp);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv);
    v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zpf);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, flo, _CMP_LT_OQ), flo);
    v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, fhi, _CMP_GT_OQ), fhi);
    __m512i r = _mm512_mask_mov_epi32(_mm512_cvttps_epi32(v), nan, izp);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(r));
  }
}

#endif /* PTEC_KERNELS_X86 */
