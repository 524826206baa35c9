/*
 * AVX-512 variant of ptec::rescale (quantized/op_rescale.c) for int8 in and
 * out, a per-tensor scale, both tensors dense in the same order: sixteen
 * values at a time through requantize_avx512.h, which computes
 * clamp(((v * m + 2^(s-1)) >> s), lo - zp, hi - zp) + zp in 64-bit lanes for
 * any shift in [2, 62]; with v = x - input_zp in [-255, 255] and int8 bounds
 * that is the scalar clamp(sat32(apply_scale_32(v)) + zp, lo, hi) bit for bit.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/quantized/variants.h"
#include "kernels/x86/requantize_avx512.h"

void ptec_rescale_s8_avx512(const int8_t *x, int8_t *y, int64_t n, int32_t in_zp,
                            int32_t multiplier, int32_t shift, int32_t out_zp, int32_t lo,
                            int32_t hi) {
  const ptec_avx512_q16 q = {_mm512_set1_epi32(multiplier), _mm512_set1_epi32(shift),
                             _mm512_setzero_si512()};
  const __m512i izp = _mm512_set1_epi32(in_zp), zp = _mm512_set1_epi32(out_zp);
  const __m512i lo64 = _mm512_set1_epi64((int64_t)lo - out_zp);
  const __m512i hi64 = _mm512_set1_epi64((int64_t)hi - out_zp);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    const __m512i v = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, x + i)), izp);
    _mm_mask_storeu_epi8(y + i, m,
                         _mm512_cvtepi32_epi8(ptec_avx512_requantize16_nobias(v, &q, zp, lo64, hi64)));
  }
}

#endif /* PTEC_KERNELS_X86 */
