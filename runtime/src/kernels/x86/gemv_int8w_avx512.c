/*
 * AVX-512 variant of ptec::linear_int8w (kernels/llm/op_linear_int8w.c): fp32
 * activations times int8 weights, sixteen input channels per step (int8 -> int32 ->
 * fp32, one FMA), four weight rows at a time, each converted once for up to four rows
 * of x (a prompt's rows share the conversion, which is what bounds the AVX2 variant;
 * the four weight rows stay in L1 while the groups of x rows pass over them). Sums in
 * sixteen lanes, so it differs from the reference's sequential sum by rounding only
 * (the same bound as the AVX2 and NEON variants); an output's value does not depend on
 * how many rows of x are computed with it.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/llm/llm_quant.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Weight rows between those being read and those prefetched (a prefetch past the
 * weights is harmless: it never faults): the next block of four rows. Decode over
 * OPT-125M's int8 weights against a one-core read of the same bytes, CPU time on this
 * host: 4 ahead 70-72%, 8 ahead 61-65%, 16 ahead 59-62%, no prefetch 41%; prefetching
 * to L2 (T1) or non-temporally, a fixed distance in bytes, or eight rows per block
 * (more sums in flight) were slower. */
#ifndef AHEAD
#define AHEAD 4
#endif

/* 16 int8 weights from w (lanes in m) as fp32. */
static inline __m512 w16(const int8_t *w, __mmask16 m) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, w)));
}

/* sums[r][j] = x[r] . w[j] for MR rows of x and NR weight rows (K apart). */
ALWAYS_INLINE void dots(const float *const x[4], const int8_t *w, int64_t K, int MR, int NR,
                        float sums[4][4]) {
  __m512 acc[4][4];
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NR; j++) acc[r][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1u);
    if (k % 64 == 0) /* the same line of the weight rows AHEAD rows on */
      for (int j = 0; j < NR; j++) _mm_prefetch((const char *)(w + (AHEAD + j) * K + k), _MM_HINT_T0);
    __m512 wv[4];
    for (int j = 0; j < NR; j++) wv[j] = w16(w + j * K + k, m);
    for (int r = 0; r < MR; r++) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x[r] + k);
      for (int j = 0; j < NR; j++) acc[r][j] = _mm512_fmadd_ps(xv, wv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NR; j++) sums[r][j] = _mm512_reduce_add_ps(acc[r][j]);
}

void ptec_llm_linear_int8w_avx512(const ptec_llm_int8w *p, int64_t n0, int64_t n1) {
  float sums[4][4];
  for (int64_t n = n0; n < n1;) {
    const int nr = n + 4 <= n1 ? 4 : 1;
    const int8_t *w = p->w + n * p->K;
    for (int64_t m = 0; m < p->M;) {
      const int mr = p->M - m >= 4 ? 4 : 1;
      const float *x[4];
      for (int r = 0; r < 4; r++) x[r] = p->x + (m + (r < mr ? r : 0)) * p->K;
      if (mr == 4 && nr == 4) dots(x, w, p->K, 4, 4, sums);
      else if (mr == 4) dots(x, w, p->K, 4, 1, sums);
      else if (nr == 4) dots(x, w, p->K, 1, 4, sums);
      else dots(x, w, p->K, 1, 1, sums);
      for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
          float v = sums[r][j] * p->scales[n + j];
          p->out[(m + r) * p->N + n + j] = p->bias != NULL ? v + p->bias[n + j] : v;
        }
      m += mr;
    }
    n += nr;
  }
}

#endif /* PTEC_KERNELS_X86 */
