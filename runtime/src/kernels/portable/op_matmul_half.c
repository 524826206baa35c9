/* mm, bmm, addmm and linear on float16 / bfloat16 (half.h). PyTorch's CPU gemm for these
 * dtypes (oneDNN, or cpublas's reduced-float path) keeps each dot product in float32,
 * adds beta * D in float32 and rounds once; so does this, k = 0..K-1 in order. */
#include "kernels/portable/half.h"

void ptec_matmul_half_run(const ptec_matmul_half *p) {
  for (int64_t i = 0; i < p->m; i++)
    for (int64_t j = 0; j < p->n; j++) {
      float acc = 0.0f;
      for (int64_t k = 0; k < p->k; k++)
        acc += ptec_half_ld(p->a, i * p->a_rs + k * p->a_cs, p->bf) *
               ptec_half_ld(p->b, k * p->b_rs + j * p->b_cs, p->bf);
      float r = p->alpha == 1.0f ? acc : p->alpha * acc;
      if (p->d != NULL) {
        float dv = ptec_half_ld(p->d, i * p->d_rs + j * p->d_cs, p->bf);
        r += p->beta == 1.0f ? dv : p->beta * dv;
      }
      ptec_half_st(p->c, i * p->c_rs + j * p->c_cs, r, p->bf);
    }
}
