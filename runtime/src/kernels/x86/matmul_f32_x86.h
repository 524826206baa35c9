/*
 * What the x86 variants of op_matmul.c's matmul_f32 share (matmul_f32_avx2.c,
 * matmul_f32_avx512.c): the reference's epilogue, per element, and the AVX-512
 * entry point the AVX2 variant hands the layouts it serves better to.
 */
#ifndef PTEC_KERNELS_X86_MATMUL_F32_X86_H
#define PTEC_KERNELS_X86_MATMUL_F32_X86_H

#include "kernels/portable/variants.h"

/* C[i, j] = alpha * acc + beta * D[i, j]: op_matmul.c's epilogue. */
static inline void ptec_matmul_f32_finish(const ptec_matmul_f32 *p, int64_t i, int64_t j,
                                          float acc) {
  float r = p->alpha == 1.0f ? acc : p->alpha * acc;
  if (p->d) {
    float dv = p->d[i * p->d_rs + j * p->d_cs];
    r += p->beta == 1.0f ? dv : p->beta * dv;
  }
  p->c[i * p->c_rs + j * p->c_cs] = r;
}

/* B's rows contiguous (b_cs == 1), or B's columns and A's rows contiguous (dot products),
 * on AVX-512 F: returns false for other layouts. Run only when ptec_x86_has_avx512_vnni().
 * With B's rows contiguous each element is the same FMA chain over k = 0..K-1 from zero
 * as in matmul_f32_avx2.c's panels, so the same bits. */
bool ptec_matmul_f32_avx512(const ptec_matmul_f32 *p);

#endif /* PTEC_KERNELS_X86_MATMUL_F32_X86_H */
