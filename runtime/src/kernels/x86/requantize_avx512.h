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
#include <stdbool.h>
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

/*
 * A shorter form for shifts of 32 or more (every int8 layer of the example
 * models: their scales are below 2^-1), the same result bit for bit:
 *
 * - |v * m| < 2^62 and s >= 32, so r = (v*m + 2^(s-1)) >> s lies in
 *   [-2^30, 2^31): it fits int32, no sat32 is needed, and r + zp does not
 *   overflow.
 * - The odd lanes are shifted by s - 32 instead of s: the high half of
 *   (p >> (s-32)) is (p >> s) (arithmetic shifts compose), so it is already
 *   where the odd result belongs and one blend joins the halves (no shift
 *   back, no 64-bit clamps).
 * - clamp(r, lo - zp, hi - zp) + zp = clamp(r + zp, lo, hi); with lo and hi
 *   int8 that is clamp(sat8(r + zp), lo, hi): VPMOVSDB, then int8 min/max.
 *
 * Per sixteen outputs: two multiplies, two adds, two shifts, one 32-bit
 * shift, a blend, the zero point, the narrowing and two byte clamps.
 */
typedef struct ptec_avx512_q16s {
  __m512i m, m_odd;        /* multipliers: even lanes in place, odd ones moved down */
  __m512i round, round_odd; /* 2^(s-1) of the even and odd channels, 64-bit lanes */
  __m512i s, s_odd;        /* s of the even channels, s - 32 of the odd ones */
} ptec_avx512_q16s;

/* The constants of sixteen channels' multipliers m and shifts s (each s in [32, 62]). */
static inline ptec_avx512_q16s ptec_avx512_q16s_make(__m512i m, __m512i s) {
  const __m512i one = _mm512_set1_epi64(1), low = _mm512_set1_epi64(0xFFFFFFFF);
  ptec_avx512_q16s q;
  q.m = m;
  q.m_odd = _mm512_srli_epi64(m, 32);
  q.s = _mm512_and_si512(s, low);
  q.s_odd = _mm512_sub_epi64(_mm512_srli_epi64(s, 32), _mm512_set1_epi64(32));
  q.round = _mm512_sllv_epi64(one, _mm512_sub_epi64(q.s, one));
  q.round_odd = _mm512_sllv_epi64(one, _mm512_add_epi64(q.s_odd, _mm512_set1_epi64(31)));
  return q;
}

/* Sixteen int8 outputs of v = sat32(acc + bias) (already added); zp the output
 * zero point in 32-bit lanes, lo and hi act_min and act_max in bytes. */
static inline __m128i ptec_avx512_requantize16s(__m512i v, const ptec_avx512_q16s *q,
                                                 __m512i zp, __m128i lo, __m128i hi) {
  __m512i even = _mm512_add_epi64(_mm512_mul_epi32(v, q->m), q->round);
  __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(v, 32), q->m_odd),
                                 q->round_odd);
  __m512i r = _mm512_mask_blend_epi32(0xAAAA, _mm512_srav_epi64(even, q->s),
                                      _mm512_srav_epi64(odd, q->s_odd));
  __m128i b = _mm512_cvtsepi32_epi8(_mm512_add_epi32(r, zp));
  return _mm_min_epi8(_mm_max_epi8(b, lo), hi);
}

/* True when shifts[0, n) are all >= 32 and act_min <= act_max are int8: the
 * short form applies. */
static inline bool ptec_avx512_requantize16s_fits(const int32_t *shift, int64_t n,
                                                  int32_t act_min, int32_t act_max) {
  if (act_min < -128 || act_max > 127 || act_min > act_max) return false;
  for (int64_t i = 0; i < n; i++)
    if (shift[i] < 32) return false;
  return true;
}

#endif /* PTEC_KERNELS_X86_REQUANTIZE_AVX512_H */
