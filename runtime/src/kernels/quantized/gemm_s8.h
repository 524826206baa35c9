/*
 * The ISA-neutral half of the int8 GEMM variants (kernels/x86/gemm_s8_avx2.c,
 * kernels/neon/gemm_s8_neon.c): the parameters of a block of rows times
 * every filter, and the drivers that turn a convolution or a fully
 * connected call into such blocks. Each ISA supplies only its rows
 * function:
 *
 *   y[r][j * y_col] = requantize(sum_k (x[r][k] - in_zp) * (w[j * w_row + k] - w_zp), j)
 *
 * for r < rows (1..4), j < n, with k <= PTEC_Q_MAX_TERMS_I32 so that the
 * int32 sums are exact, as in the reference's int32 path.
 */
#ifndef PTEC_KERNELS_QUANTIZED_GEMM_S8_H
#define PTEC_KERNELS_QUANTIZED_GEMM_S8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/quantized/variants.h"

/* Output stage of an int8 kernel: per-channel (scale_step 1) or per-tensor
 * (0) multiplier and shift, optional int32 bias per channel. */
typedef struct ptec_qout_s8 {
  const int32_t *bias; /* NULL: no bias */
  const int32_t *multiplier, *shift;
  int32_t scale_step;
  int32_t out_zp, act_min, act_max;
} ptec_qout_s8;

typedef struct ptec_gemm_s8 {
  const int8_t *w;
  ptrdiff_t w_row;
  int32_t k, n;
  int32_t in_zp, w_zp;
  /* NULL, or one int32 per filter that a rows function subtracts from its
   * raw sums (the AVX-512 VNNI kernel's (128 + in_zp) * sum_k w[j][k]). */
  const int32_t *w_corr;
  ptec_qout_s8 q;
} ptec_gemm_s8;

/* rows in 1..4; x[r] holds k values, y[r] the row's first output. */
typedef void (*ptec_gemm_s8_rows_fn)(const ptec_gemm_s8 *g, const int8_t *const x[4], int rows,
                                     int8_t *const y[4], ptrdiff_t y_col);

/*
 * ptec::quantized_conv2d (not depthwise) through `rows`: int8, NHWC input,
 * OHWI weights whose filters are contiguous runs, groups 1, any zero points,
 * shifts, strides, padding and dilation; false (nothing written) otherwise.
 * Output pixels go four at a time as rows of a matrix times the filters. A
 * 1x1 convolution reads each pixel's channels where they are; other kernels
 * copy the pixel's window into a stack row (im2col of four pixels at a time,
 * taps in the padding filled with input_zp, which contributes zero), at most
 * PTEC_GEMM_S8_IM2COL bytes per pixel.
 */
#define PTEC_GEMM_S8_IM2COL 8192
bool ptec_qconv_s8_by_rows(const ptec_qconv *p, ptec_gemm_s8_rows_fn rows);

/* The two halves of ptec_qconv_s8_by_rows, for a variant that prepares
 * something per filter (w_corr) between them: the check, which fills `g`
 * (false: the call does not qualify), and the pixel loop. */
bool ptec_qconv_s8_gemm(const ptec_qconv *p, ptec_gemm_s8 *g);
void ptec_qconv_s8_run(const ptec_qconv *p, const ptec_gemm_s8 *g, ptec_gemm_s8_rows_fn rows);

/* Output pixel (n, oy, ox)'s window of a call that ptec_qconv_s8_gemm took,
 * tap by tap (KH, KW, C: the OHWI filter's order), k bytes to dst; taps in the
 * padding hold input_zp. */
void ptec_qconv_s8_window(const ptec_qconv *p, int64_t n, int64_t oy, int64_t ox, int8_t *dst);

/* The ptec_gemm_s8 of a fully connected call (w_corr NULL). */
ptec_gemm_s8 ptec_qfc_s8_gemm(const ptec_qfc_s8 *p);

/* The int32 path of quantized_linear / quantized_matmul (ptec_qfc_s8) through
 * `rows`, four rows at a time; false when depth exceeds PTEC_Q_MAX_TERMS_I32. */
bool ptec_qfc_s8_by_rows(const ptec_qfc_s8 *p, ptec_gemm_s8_rows_fn rows);
/* Its row loop over a prepared `g` (the depth check done). */
void ptec_qfc_s8_run(const ptec_qfc_s8 *p, const ptec_gemm_s8 *g, ptec_gemm_s8_rows_fn rows);

#endif /* PTEC_KERNELS_QUANTIZED_GEMM_S8_H */
