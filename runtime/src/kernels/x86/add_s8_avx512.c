/*
 * AVX-512 variant of ptec::quantized_add on int8 runs (op_quantized_add.c has
 * the formula), sixteen elements at a time, bit for bit:
 *
 *   va = apply_scale_32(a - a_zp, a_m, a_s)       sat32, in 64-bit lanes
 *   vb = apply_scale_32(b - b_zp, b_m, b_s)
 *   y  = clamp(apply_scale_32(sat32(va + vb), out_m, out_s) + out_zp, lo, hi)
 *
 * Even and odd int32 lanes go through the 64-bit steps separately
 * (requantize_avx512.h's scale step with int32's bounds, or the output's
 * bounds minus its zero point, which equals clamping after adding it: the
 * bounds and the zero point lie within int8). a or b may be one broadcast
 * value (stride 0); the last count % 16 go through masked loads and stores.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/quantized/variants.h"
#include "kernels/x86/requantize_avx512.h"

typedef struct side {
  __m512i zp, m, s;
} side;

/* One input's 16 values (x - zp) scaled: even lanes in `even`, odd in `odd`. */
static inline void scale_in(__m512i x, const side *k, __m512i lo, __m512i hi, __m512i *even,
                            __m512i *odd) {
  x = _mm512_sub_epi32(x, k->zp);
  *even = ptec_avx512_scale64(x, k->m, k->s, lo, hi);
  *odd = ptec_avx512_scale64(_mm512_srli_epi64(x, 32), k->m, k->s, lo, hi);
}

static inline __m512i load16(const int8_t *p, ptrdiff_t stride, __mmask16 m) {
  return stride ? _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)) : _mm512_set1_epi32(*p);
}

bool ptec_qadd_s8_avx512(const ptec_qadd_params *p, const int8_t *a, ptrdiff_t sa,
                         const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count) {
  if ((sa != 0 && sa != 1) || (sb != 0 && sb != 1)) return false;
  const side ka = {_mm512_set1_epi32(p->a_zp), _mm512_set1_epi64(p->a_m),
                   _mm512_set1_epi64(p->a_s)};
  const side kb = {_mm512_set1_epi32(p->b_zp), _mm512_set1_epi64(p->b_m),
                   _mm512_set1_epi64(p->b_s)};
  const __m512i om = _mm512_set1_epi64(p->out_m), os = _mm512_set1_epi64(p->out_s);
  const __m512i i32lo = _mm512_set1_epi64(INT32_MIN), i32hi = _mm512_set1_epi64(INT32_MAX);
  const __m512i lo = _mm512_set1_epi64((int64_t)p->act_min - p->out_zp);
  const __m512i hi = _mm512_set1_epi64((int64_t)p->act_max - p->out_zp);
  const __m512i zp = _mm512_set1_epi32(p->out_zp);
  for (int32_t i = 0; i < count; i += 16) {
    const __mmask16 m = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
    __m512i ae, ao, be, bo;
    scale_in(load16(a + i * sa, sa, m), &ka, i32lo, i32hi, &ae, &ao);
    scale_in(load16(b + i * sb, sb, m), &kb, i32lo, i32hi, &be, &bo);
    /* sat32(va + vb): the 64-bit sums clamped to int32. */
    __m512i se = _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(ae, be), i32lo), i32hi);
    __m512i so = _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(ao, bo), i32lo), i32hi);
    __m512i re = ptec_avx512_scale64(se, om, os, lo, hi);
    __m512i ro = ptec_avx512_scale64(so, om, os, lo, hi);
    __m512i r = _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, re, _mm512_slli_epi64(ro, 32)), zp);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(r));
  }
  return true;
}

#endif /* PTEC_KERNELS_X86 */
