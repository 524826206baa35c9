/*
 * int8 GEMM driver for NEON (gemm_s8_neon.h): blocks of four rows by four
 * output channels through one version's 4x4 block (SMLAL, SDOT or SMMLA),
 * accumulators of up to CHUNK channels per row collected on the stack and
 * requantized four at a time. Missing rows and channels of a block repeat
 * the first one (their sums are computed and dropped); a single row runs the
 * 1x4 block instead. Compiled for the build's baseline: the versions that
 * need more are called only after ptec_neon_gemm_s8_pick saw the feature.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include "kernels/neon/gemm_s8_neon.h"

enum { CHUNK = 256 };

static inline void gemm_rows(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                             int8_t *const y[4], ptrdiff_t y_col, ptec_neon_dot_4x4_fn dot4,
                             ptec_neon_dot_1x4_fn dot1) {
  int32_t acc[4][CHUNK];
  const int8_t *xr[4];
  for (int r = 0; r < 4; r++) xr[r] = x[r < rows ? r : 0];
  for (int32_t j0 = 0; j0 < g->n; j0 += CHUNK) {
    int32_t jn = g->n - j0 < CHUNK ? g->n - j0 : CHUNK;
    for (int32_t j = 0; j < jn; j += 4) {
      const int8_t *w[4];
      for (int32_t i = 0; i < 4; i++) w[i] = g->w + (j0 + (j + i < jn ? j + i : j)) * g->w_row;
      int32_t out[16];
      if (rows == 1) /* a single row: the 1x4 block (out[0..3]) */
        dot1(g, xr[0], w, out);
      else
        dot4(g, xr, w, out);
      for (int r = 0; r < rows; r++)
        for (int32_t i = 0; i < 4 && j + i < jn; i++) acc[r][j + i] = out[r * 4 + i];
    }
    for (int r = 0; r < rows; r++)
      ptec_neon_requantize_run(&g->q, acc[r], j0, jn, y[r] + j0 * y_col, y_col);
  }
}

void ptec_neon_gemm_s8_rows_smlal(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                                  int8_t *const y[4], ptrdiff_t y_col) {
  gemm_rows(g, x, rows, y, y_col, ptec_neon_dot_s8_4x4_smlal, ptec_neon_dot_s8_1x4_smlal);
}

void ptec_neon_gemm_s8_rows_sdot(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                                 int8_t *const y[4], ptrdiff_t y_col) {
  gemm_rows(g, x, rows, y, y_col, ptec_neon_dot_s8_4x4_sdot, ptec_neon_dot_s8_1x4_sdot);
}

void ptec_neon_gemm_s8_rows_i8mm(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                                 int8_t *const y[4], ptrdiff_t y_col) {
  gemm_rows(g, x, rows, y, y_col, ptec_neon_dot_s8_4x4_i8mm, ptec_neon_dot_s8_1x4_sdot);
}

ptec_gemm_s8_rows_fn ptec_neon_gemm_s8_pick(uint32_t cpu_features) {
  /* What this file was compiled for counts as present (a cortex-a76 build). */
  uint32_t f = cpu_features | (PTEC_KERNELS_NEON_DOTPROD ? PTEC_CPU_ARM_DOTPROD : 0u) |
               (PTEC_KERNELS_NEON_I8MM ? PTEC_CPU_ARM_I8MM : 0u);
  if ((f & PTEC_CPU_ARM_DOTPROD) && (f & PTEC_CPU_ARM_I8MM)) return ptec_neon_gemm_s8_rows_i8mm;
  if (f & PTEC_CPU_ARM_DOTPROD) return ptec_neon_gemm_s8_rows_sdot;
  return ptec_neon_gemm_s8_rows_smlal;
}

#endif /* PTEC_KERNELS_NEON */
