/*
 * The AVX-512 float32 GEMM microkernel of the x86 convolution variant
 * (conv2d_f32_x86.h): eight output channels by 32 pixels, sixteen FMA
 * accumulators; per value of k two 64-byte loads of the pixels and eight
 * filter values broadcast (folded into the FMAs). Pixels past nb are masked
 * (neither read nor written). The last chunk of K adds the bias and clamps
 * (a fused relu / hardtanh) before the store.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/x86/conv2d_f32_x86.h"
#include "kernels/x86/fma_8x32_avx512.h"

void ptec_avx512_f32_kernel_8x32(const float *w, int64_t ldw, int64_t ks, int64_t mr,
                                 const float *b, int64_t ldb, int64_t k, float *y, int64_t ldy,
                                 int64_t nb, bool add, const ptec_f32_epilogue *last) {
  const float *wr[8];
  for (int r = 0; r < 8; r++) wr[r] = w + (r < mr ? r : 0) * ldw;
  const __mmask16 m0 = nb >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nb) - 1);
  const __mmask16 m1 = nb >= 32 ? (__mmask16)0xFFFF
                       : nb > 16 ? (__mmask16)((1u << (nb - 16)) - 1) : (__mmask16)0;
  PTEC_ACC_8X32;
  const float *w0 = wr[0], *w1 = wr[1], *w2 = wr[2], *w3 = wr[3], *w4 = wr[4], *w5 = wr[5],
              *w6 = wr[6], *w7 = wr[7];
  const bool full = nb == 32; /* loop-invariant: unswitched */
  for (int64_t i = 0, wi = 0; i < k; i++, wi += ks, b += ldb) {
    const __m512 b0 = full ? _mm512_loadu_ps(b) : _mm512_maskz_loadu_ps(m0, b);
    const __m512 b1 = full ? _mm512_loadu_ps(b + 16) : _mm512_maskz_loadu_ps(m1, b + 16);
    PTEC_FMA_8X32(wi, b0, b1);
  }
  PTEC_ACC_ARRAY_8X32(c);
  const __m512 lo = _mm512_set1_ps(last ? last->lo : 0.0f);
  const __m512 hi = _mm512_set1_ps(last ? last->hi : 0.0f);
  for (int64_t r = 0; r < mr; r++) {
    float *yr = y + r * ldy;
    __m512 v0 = c[r][0], v1 = c[r][1];
    if (add) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, yr), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, yr + 16), v1);
    }
    if (last) {
      const __m512 bias = _mm512_set1_ps(last->bias ? last->bias[r] : 0.0f);
      v0 = ptec_f32_epi512(v0, bias, lo, hi);
      v1 = ptec_f32_epi512(v1, bias, lo, hi);
    }
    _mm512_mask_storeu_ps(yr, m0, v0);
    _mm512_mask_storeu_ps(yr + 16, m1, v1);
  }
}

#endif /* PTEC_KERNELS_X86 */
