/*
 * TOSA requantization (qparams.h: ptec_q_requantize) on sixteen int32 lanes
 * with AVX-512, bit for bit; the same steps as requantize_avx2.h, with the
 * 64-bit arithmetic shift, min and max that AVX-512 has:
 *
 *   v   = sat32(acc + bias)
 *   r   = (v * m + 2^(s-1)) >> s                 in 64-bit lanes, arithmetic
 *   out = clamp(r, lo - zp, hi - zp) + zp
 *
 * Included only by files compiled with -mavx512f -mavx512bw (the *_avx512.c).
 */
#ifndef PTEC_KERNELS_X86_REQUANTIZE_AVX512_H
#define PTEC_KERNELS_X86_REQUANTIZE_AVX512_H

#include <immintrin.h>
#include <stdint.h>

static inline __m512i ptec_avx512_sat_add_i32(__m512i a, __m512i b) {
  __m512i s = _mm512_add_epi32(a, b);
  /* Overflow: a and b of one sign, s of the other (bit 31 of (a^s)&(b^s)). */
  __mmask16 ovf = _mm512_cmplt_epi32_mask(
      _mm512_and_si512(_mm512_xor_si512(a, s), _mm512_xor_si512(b, s)), _mm512_setzero_si512());
  __m512i sat = _mm512_xor_si512(_mm512_srai_epi32(a, 31), _mm512_set1_epi32(INT32_MAX));
  return _mm512_mask_blend_epi32(ovf, s, sat);
}

/* Eight 64-bit lanes: v and m in the low 32 bits (signed), s the shift. */
static inline __m512i ptec_avx512_scale64(__m512i v, __m512i m, __m512i s, __m512i lo,
                                          __m512i hi) {
  const __m512i one = _mm512_set1_epi64(1);
  __m512i p = _mm512_mul_epi32(v, m);
  p = _mm512_add_epi64(p, _mm512_sllv_epi64(one, _mm512_sub_epi64(s, one)));
  return _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(p, s), lo), hi);
}

/* The parameters of sixteen channels: multiplier, shift, bias. */
typedef struct ptec_avx512_q16 {
  __m512i m, s, bias;
} ptec_avx512_q16;

/* Sixteen lanes; zp the output zero point, lo64/hi64 act_min - zp, act_max - zp. */
static inline __m512i ptec_avx512_requantize16(__m512i acc, const ptec_avx512_q16 *q, __m512i zp,
                                               __m512i lo64, __m512i hi64) {
  const __m512i low = _mm512_set1_epi64(0xFFFFFFFF);
  __m512i v = ptec_avx512_sat_add_i32(acc, q->bias);
  __m512i even = ptec_avx512_scale64(v, q->m, _mm512_and_si512(q->s, low), lo64, hi64);
  __m512i odd = ptec_avx512_scale64(_mm512_srli_epi64(v, 32), _mm512_srli_epi64(q->m, 32),
                                    _mm512_srli_epi64(q->s, 32), lo64, hi64);
  return _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)), zp);
}

/* The same when acc already holds sat32(acc + bias) (the bias folded into a
 * sum that cannot overflow): q->bias is not read. */
static inline __m512i ptec_avx512_requantize16_nobias(__m512i v, const ptec_avx512_q16 *q,
                                                      __m512i zp, __m512i lo64, __m512i hi64) {
  const __m512i low = _mm512_set1_epi64(0xFFFFFFFF);
  __m512i even = ptec_avx512_scale64(v, q->m, _mm512_and_si512(q->s, low), lo64, hi64);
  __m512i odd = ptec_avx512_scale64(_mm512_srli_epi64(v, 32), _mm512_srli_epi64(q->m, 32),
                                    _mm512_srli_epi64(q->s, 32), lo64, hi64);
  return _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)), zp);
}

#endif /* PTEC_KERNELS_X86_REQUANTIZE_AVX512_H */
