/*
 * AVX2 variant of the int32 path of ptec::quantized_linear and
 * ptec::quantized_matmul (ptec_qfc_s8 in variants.h): rows of x times rows
 * of w, int8, depth contiguous in both, any zero points and shifts. Four
 * rows at a time (one row: four outputs at a time) through gemm_s8_avx2.h.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include "kernels/quantized/variants.h"
#include "kernels/x86/gemm_s8_avx2.h"

bool ptec_qfc_s8_avx2(const ptec_qfc_s8 *p) {
  if (p->depth > PTEC_Q_MAX_TERMS_I32) return false;
  ptec_avx2_gemm_s8 g = {
      .w = p->w, .w_row = p->w_row, .k = p->depth, .n = p->n, .in_zp = p->in_zp,
      .w_zp = p->w_zp,
      .q = {.bias = p->bias, .multiplier = p->multiplier, .shift = p->shift,
            .scale_step = p->scale_step, .out_zp = p->out_zp, .act_min = p->act_min,
            .act_max = p->act_max}};
  for (int32_t r0 = 0; r0 < p->rows; r0 += 4) {
    int rows = p->rows - r0 < 4 ? (int)(p->rows - r0) : 4;
    const int8_t *x[4];
    int8_t *y[4];
    for (int r = 0; r < rows; r++) {
      x[r] = p->x + (r0 + r) * p->x_row;
      y[r] = p->y + (r0 + r) * p->y_row;
    }
    ptec_avx2_gemm_s8_rows(&g, x, rows, y, p->y_col);
  }
  return true;
}

#endif /* PTEC_KERNELS_X86 */
