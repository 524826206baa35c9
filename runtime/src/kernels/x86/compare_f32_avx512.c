/*
 * AVX-512 rows of float32 comparisons into a bool out (elementwise.c's compare_f32 for
 * eq/ne/lt/le/gt/ge): sixteen lanes per VCMPPS, the mask stored as sixteen 0/1 bytes.
 * Ordered predicates for ==, <, <=, >, >= and unordered for != give IEEE's answers with
 * NaN, as C's operators: bit for bit the reference. The transformer's attention masks
 * (`eq(x, -inf)` over the scores) take it.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/portable/elementwise.h"
#include "kernels/x86/ops_f32_x86.h"

static inline __mmask16 cmp16(int op, __m512 a, __m512 b) {
  switch (op) {
    case PTEC_BINARY_EQ: return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ);
    case PTEC_BINARY_NE: return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ);
    case PTEC_BINARY_LT: return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ);
    case PTEC_BINARY_LE: return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ);
    case PTEC_BINARY_GT: return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ);
    default: return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ);
  }
}

bool ptec_compare_row_f32_avx512(int op, uint8_t *o, const float *a, int64_t sa, const float *b,
                                 int64_t sb, int64_t n) {
  if (op < PTEC_BINARY_EQ || op > PTEC_BINARY_GE) return false;
  if ((sa != 1 && sa != 0) || (sb != 1 && sb != 0) || n < 16) return false;
  const __m128i one = _mm_set1_epi8(1);
  const __m512 a0 = _mm512_set1_ps(a[0]), b0 = _mm512_set1_ps(b[0]);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    __m512 va = sa ? _mm512_maskz_loadu_ps(m, a + i) : a0;
    __m512 vb = sb ? _mm512_maskz_loadu_ps(m, b + i) : b0;
    _mm_mask_storeu_epi8(o + i, m, _mm_maskz_mov_epi8(cmp16(op, va, vb), one));
  }
  return true;
}

#endif /* PTEC_KERNELS_X86 */
