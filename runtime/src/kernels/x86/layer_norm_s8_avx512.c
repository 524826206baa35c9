/*
 * AVX-512 variant of ptec::quantized_layer_norm's int8 rows
 * (quantized/op_quantized_layer_norm.c), equal to the scalar code for every
 * input:
 *
 * - the row sums S1 = sum q and S2 = sum q^2 (q = x - input_zp) are integers:
 *   VPMADDWD of int16 q against ones and against itself, int32 lanes (rows
 *   of at most 2^18 values: every lane stays below 2^31), summed exactly;
 * - each value then takes the scalar code's double operations in its order,
 *   eight lanes at a time: ((q - mean) * input_scale) * rstd, * weight,
 *   + bias, / output_scale (a division, as there: no reciprocal), rounded
 *   half to even (VRNDSCALEPD, as rint in the default mode), + output_zp,
 *   then max with act_min (VMAXPD returns act_min for NaN, as the scalar
 *   clamp does) and min with act_max. IEEE operations round the same in any
 *   lane, and the build has -ffp-contract=off (no fused multiply-add).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/quantized/variants.h"

bool ptec_layer_norm_s8_sums_avx512(const int8_t *x, int64_t n, int32_t in_zp, int64_t *s1,
                                    int64_t *s2) {
  if (n > ((int64_t)1 << 18)) return false;
  const __m512i zp = _mm512_set1_epi16((int16_t)in_zp), ones = _mm512_set1_epi16(1);
  __m512i a1 = _mm512_setzero_si512(), a2 = a1;
  for (int64_t i = 0; i < n; i += 32) {
    const __mmask32 m = n - i >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (n - i)) - 1);
    const __m512i q =
        _mm512_maskz_sub_epi16(m, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, x + i)), zp);
    a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(q, ones));
    a2 = _mm512_add_epi32(a2, _mm512_madd_epi16(q, q));
  }
  *s1 = _mm512_reduce_add_epi32(a1); /* |S1| <= 255 * 2^18 */
  /* S2 up to 65025 * 2^18 > 2^31: summed in 64-bit lanes. */
  *s2 = _mm512_reduce_add_epi64(_mm512_add_epi64(
      _mm512_cvtepu32_epi64(_mm512_castsi512_si256(a2)),
      _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(a2, 1))));
  return true;
}

void ptec_layer_norm_s8_row_avx512(const int8_t *x, int8_t *y, int64_t n, const float *w,
                                   const float *b, const ptec_layer_norm_s8_row *r) {
  const __m256i zp = _mm256_set1_epi32(r->in_zp);
  const __m512d mean = _mm512_set1_pd(r->mean), in_scale = _mm512_set1_pd(r->in_scale);
  const __m512d rstd = _mm512_set1_pd(r->rstd), out_scale = _mm512_set1_pd(r->out_scale);
  const __m512d out_zp = _mm512_set1_pd((double)r->out_zp);
  const __m512d lo = _mm512_set1_pd((double)r->act_min), hi = _mm512_set1_pd((double)r->act_max);
  for (int64_t i = 0; i < n; i += 8) {
    const __mmask8 m = n - i >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n - i)) - 1);
    const __m256i q = _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, x + i)), zp);
    __m512d v = _mm512_mul_pd(_mm512_mul_pd(_mm512_sub_pd(_mm512_cvtepi32_pd(q), mean), in_scale),
                              rstd);
    if (w) v = _mm512_mul_pd(v, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, w + i)));
    if (b) v = _mm512_add_pd(v, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, b + i)));
    v = _mm512_roundscale_pd(_mm512_div_pd(v, out_scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm512_min_pd(_mm512_max_pd(_mm512_add_pd(v, out_zp), lo), hi);
    _mm_mask_storeu_epi8(y + i, m, _mm256_cvtepi32_epi8(_mm512_cvtpd_epi32(v)));
  }
}

#endif /* PTEC_KERNELS_X86 */
