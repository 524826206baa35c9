/*
 * int8 GEMM driver for NEON (gemm_s8_neon.h): blocks of four rows by four
 * output channels through ptec_neon_dot_s8_4x4 (SMLAL or SDOT, by build),
 * accumulators of up to CHUNK channels per row collected on the stack and
 * requantized four at a time. Missing rows and channels of a block repeat
 * the first one (their sums are computed and dropped); a single row runs the
 * 1x4 block instead.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include "kernels/neon/gemm_s8_neon.h"

enum { CHUNK = 256 };

void ptec_neon_gemm_s8_rows(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                            int8_t *const y[4], ptrdiff_t y_col) {
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
        ptec_neon_dot_s8_1x4(g, xr[0], w, out);
      else
        ptec_neon_dot_s8_4x4(g, xr, w, out);
      for (int r = 0; r < rows; r++)
        for (int32_t i = 0; i < 4 && j + i < jn; i++) acc[r][j + i] = out[r * 4 + i];
    }
    for (int r = 0; r < rows; r++)
      ptec_neon_requantize_run(&g->q, acc[r], j0, jn, y[r] + j0 * y_col, y_col);
  }
}

#endif /* PTEC_KERNELS_NEON */
