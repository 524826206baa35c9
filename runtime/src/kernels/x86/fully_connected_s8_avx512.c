/*
 * AVX-512 VNNI variant of the int32 path of ptec::quantized_linear and
 * ptec::quantized_matmul (ptec_qfc_s8): weight zero point 0, at most
 * PTEC_AVX512_GEMM_MAX_N outputs per row, over the VPDPBUSD rows kernel
 * (gemm_s8_avx512.h). Anything else declines to the AVX2 variant.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include "kernels/x86/gemm_s8_avx512.h"

bool ptec_qfc_s8_avx512(const ptec_qfc_s8 *p) {
  if (p->w_zp != 0 || p->n > PTEC_AVX512_GEMM_MAX_N || p->depth > PTEC_Q_MAX_TERMS_I32)
    return false;
  ptec_gemm_s8 g = ptec_qfc_s8_gemm(p);
  int32_t corr[PTEC_AVX512_GEMM_MAX_N];
  if (p->rows > 1) { /* one row sums the filters as it reads them (w_corr NULL) */
    ptec_avx512_gemm_s8_corr(&g, corr);
    g.w_corr = corr;
  }
  ptec_qfc_s8_run(p, &g, ptec_avx512_gemm_s8_rows);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
