/*
 * AVX-512 sum of a contiguous float32 row in double (op_reduce.c's slice_sum, under mean
 * and sum: global average pooling), two accumulators of eight double lanes. The reference
 * adds in double one element at a time (a 4-cycle chain per element); this adds the same
 * exactly converted values in another order, so the double sums differ by at most n
 * roundings of 2^-53 relative, and the float result by at most an ulp (in practice not at
 * all; test_ops_f32_x86.py states 1 ulp).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/x86/ops_f32_x86.h"

double ptec_sum_row_f32_avx512(const float *x, int64_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)));
  }
  for (; i < n; i += 8) {
    __mmask8 m = n - i >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n - i)) - 1);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + i)));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

#endif /* PTEC_KERNELS_X86 */
