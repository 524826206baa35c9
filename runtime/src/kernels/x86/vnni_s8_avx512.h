/*
 * VPDPBUSD and VPDPWSSD accumulating in place, as inline assembly. GCC 12's
 * builtins (_mm512_dpbusd_epi32, _mm512_dpwssd_epi32) give the sum a new
 * register: in loops with many accumulators (the packed convolution's
 * sixteen, the depthwise kernel's eight) it then copied every accumulator
 * back, some through the stack, on every step. Same instructions, same
 * results. Included only by *_avx512.c files.
 */
#ifndef PTEC_KERNELS_X86_VNNI_S8_AVX512_H
#define PTEC_KERNELS_X86_VNNI_S8_AVX512_H

#include <immintrin.h>

/* c + sum over each lane's four byte pairs of a (unsigned) * w (signed). */
static inline __m512i ptec_avx512_dpbusd(__m512i c, __m512i a, __m512i w) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(c) : "v"(a), "vm"(w));
  return c;
}

/* c + sum over each lane's two int16 pairs of a * w. */
static inline __m512i ptec_avx512_dpwssd(__m512i c, __m512i a, __m512i w) {
  __asm__("vpdpwssd %2, %1, %0" : "+v"(c) : "v"(a), "vm"(w));
  return c;
}

#endif /* PTEC_KERNELS_X86_VNNI_S8_AVX512_H */
