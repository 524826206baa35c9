/*
 * TOSA requantization (qparams.h: ptec_q_requantize) on eight int32 lanes
 * with AVX2, bit for bit:
 *
 *   v   = sat32(acc + bias)                      (acc is already exact int32)
 *   r   = (v * m + 2^(s-1)) >> s                 in 64-bit lanes, arithmetic
 *   out = clamp(r, lo - zp, hi - zp) + zp
 *
 * The last line equals clamp(sat32(r) + zp, lo, hi) because [lo, hi] and zp
 * lie within int8: a value beyond int32 lands on the same bound either way.
 * AVX2 has no 64-bit arithmetic right shift, so r uses the logical one on
 * the value's one's complement when it is negative (floor division by 2^s).
 * |v * m| < 2^62 and the rounding term is at most 2^61, so nothing wraps.
 *
 * Included only by files compiled with -mavx2 -mfma.
 */
#ifndef PTEC_KERNELS_X86_REQUANTIZE_AVX2_H
#define PTEC_KERNELS_X86_REQUANTIZE_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/quantized/gemm_s8.h"


static inline __m256i ptec_avx2_sat_add_i32(__m256i a, __m256i b) {
  __m256i s = _mm256_add_epi32(a, b);
  __m256i ovf = _mm256_and_si256(_mm256_xor_si256(a, s), _mm256_xor_si256(b, s));
  __m256i sat = _mm256_xor_si256(_mm256_srai_epi32(a, 31), _mm256_set1_epi32(INT32_MAX));
  return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(s), _mm256_castsi256_ps(sat),
                                              _mm256_castsi256_ps(ovf)));
}

/* Four 64-bit lanes: v and m in the low 32 bits (signed), s the shift. */
static inline __m256i ptec_avx2_scale64(__m256i v, __m256i m, __m256i s, __m256i lo,
                                        __m256i hi) {
  const __m256i one = _mm256_set1_epi64x(1);
  __m256i p = _mm256_mul_epi32(v, m);
  p = _mm256_add_epi64(p, _mm256_sllv_epi64(one, _mm256_sub_epi64(s, one)));
  __m256i sgn = _mm256_cmpgt_epi64(_mm256_setzero_si256(), p);
  __m256i r = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(p, sgn), s), sgn);
  r = _mm256_blendv_epi8(r, lo, _mm256_cmpgt_epi64(lo, r));
  return _mm256_blendv_epi8(r, hi, _mm256_cmpgt_epi64(r, hi));
}

/* Eight lanes: lo64 and hi64 are act_min - zp and act_max - zp. */
static inline __m256i ptec_avx2_requantize8(__m256i acc, __m256i bias, __m256i m, __m256i s,
                                            __m256i zp, __m256i lo64, __m256i hi64) {
  __m256i v = ptec_avx2_sat_add_i32(acc, bias);
  __m256i low = _mm256_set1_epi64x(0xFFFFFFFF);
  __m256i even = ptec_avx2_scale64(v, m, _mm256_and_si256(s, low), lo64, hi64);
  __m256i odd = ptec_avx2_scale64(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(m, 32),
                                  _mm256_srli_epi64(s, 32), lo64, hi64);
  return _mm256_add_epi32(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA), zp);
}

/* Eight int32 lanes already within int8 to eight bytes. */
static inline void ptec_avx2_store8_s8(int8_t *y, __m256i r) {
  __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
  _mm_storel_epi64((__m128i *)(void *)y, _mm_packs_epi16(h, h));
}

/* y[j * y_col] = requantize(acc[j]) with channel c0 + j's parameters, for
 * j < count. */
static inline void ptec_avx2_requantize_run(const ptec_qout_s8 *q, const int32_t *acc,
                                            int32_t c0, int32_t count, int8_t *y,
                                            ptrdiff_t y_col) {
  const __m256i zp = _mm256_set1_epi32(q->out_zp);
  const __m256i lo = _mm256_set1_epi64x((int64_t)q->act_min - q->out_zp);
  const __m256i hi = _mm256_set1_epi64x((int64_t)q->act_max - q->out_zp);
  const int32_t step = q->scale_step;
  __m256i m = _mm256_set1_epi32(q->multiplier[0]), s = _mm256_set1_epi32(q->shift[0]);
  __m256i b = _mm256_setzero_si256();
  int32_t j = 0;
  for (; j + 8 <= count; j += 8) {
    int32_t c = c0 + j;
    if (step) {
      m = _mm256_loadu_si256((const __m256i *)(const void *)(q->multiplier + c));
      s = _mm256_loadu_si256((const __m256i *)(const void *)(q->shift + c));
    }
    if (q->bias) b = _mm256_loadu_si256((const __m256i *)(const void *)(q->bias + c));
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(acc + j));
    __m256i r = ptec_avx2_requantize8(a, b, m, s, zp, lo, hi);
    if (y_col == 1) {
      ptec_avx2_store8_s8(y + j, r);
    } else {
      int8_t t[8];
      ptec_avx2_store8_s8(t, r);
      for (int i = 0; i < 8; i++) y[(j + i) * y_col] = t[i];
    }
  }
  if (j < count) { /* the last 1..7: padded copies (multiplier 2^30, shift 31 are valid) */
    int32_t a[8], bb[8], mm[8], ss[8];
    int8_t t[8];
    int32_t n = count - j;
    for (int i = 0; i < 8; i++) {
      int32_t c = c0 + j + (i < n ? i : 0);
      a[i] = i < n ? acc[j + i] : 0;
      bb[i] = q->bias ? q->bias[c] : 0;
      mm[i] = q->multiplier[c * step];
      ss[i] = q->shift[c * step];
    }
    __m256i r = ptec_avx2_requantize8(
        _mm256_loadu_si256((const __m256i *)(const void *)a),
        _mm256_loadu_si256((const __m256i *)(const void *)bb),
        _mm256_loadu_si256((const __m256i *)(const void *)mm),
        _mm256_loadu_si256((const __m256i *)(const void *)ss), zp, lo, hi);
    ptec_avx2_store8_s8(t, r);
    for (int32_t i = 0; i < n; i++) y[(j + i) * y_col] = t[i];
  }
}

#endif /* PTEC_KERNELS_X86_REQUANTIZE_AVX2_H */
