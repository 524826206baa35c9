/*
 * AVX-512 VNNI variant of the int32 path of ptec::quantized_linear and
 * ptec::quantized_matmul (ptec_qfc_s8): weight zero point 0, at most
 * PTEC_AVX512_GEMM_MAX_N outputs per row. Anything else declines to the AVX2
 * variant.
 *
 * Four or more rows with a filter bank of at most SMALL_PACK bytes once
 * packed (the transformer's 64 x 192 QKV and 64 x 128 / 128 x 64 feed-forward
 * layers) and outputs adjacent in each row: the bank is packed per call on
 * the stack (packed_s8_avx512.h) and tiles of 8 rows run the packed
 * microkernel, whose sums come out in channel order; the dot-product kernel
 * below had reduced every output across its lanes, which cost more than the
 * products at k = 64. Otherwise the VPDPBUSD rows kernel (gemm_s8_avx512.h)
 * reads the filters where they are.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include "kernels/x86/gemm_s8_avx512.h"
#include "kernels/x86/packed_s8_avx512.h"

enum { MR = PTEC_PK_MR, NR = PTEC_PK_NR, SMALL_PACK = 64 * 1024, SMALL_KP = 2048 };

static bool fc_packed(const ptec_qfc_s8 *p, const ptec_gemm_s8 *g) {
  const int32_t kp = (g->k + 3) / 4 * 4, np = (g->n + NR - 1) / NR * NR;
  if (p->rows < 4 || p->y_col != 1 || (int64_t)np * kp > SMALL_PACK || kp > SMALL_KP)
    return false;
  _Alignas(64) int8_t panels[SMALL_PACK];
  _Alignas(64) int32_t corr[PTEC_AVX512_GEMM_MAX_N + NR];
  _Alignas(64) uint8_t tile[MR * SMALL_KP];
  ptec_avx512_pack_panels(g->w, g->w_row, g->k, g->n, panels);
  ptec_avx512_gemm_s8_corr(g, corr);
  for (int32_t j = g->n; j < np; j++) corr[j] = 0;
  const bool fold = ptec_qconv_packed_folds_bias(p->bias, p->n, p->depth);
  for (int32_t j = 0; fold && p->bias != NULL && j < g->n; j++) corr[j] -= p->bias[j];
  const ptec_avx512_panel_q q = {
      .bias = p->bias, .mul = p->multiplier, .sh = p->shift, .scale_step = p->scale_step,
      .n = p->n, .out_zp = p->out_zp, .act_min = p->act_min, .act_max = p->act_max, .y_col = 1,
      .bias_folded = fold,
      .short_requant = ptec_avx512_requantize16s_fits(p->shift, p->scale_step ? p->n : 1,
                                                      p->act_min, p->act_max)};
  const bool full = ptec_avx512_panel_full_fits(&q);
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  for (int32_t r0 = 0; r0 < p->rows; r0 += MR) {
    const int count = p->rows - r0 < MR ? p->rows - r0 : MR;
    int8_t *y[MR];
    /* Rows as x + 128, 0x80 (a zero weight's partner) up to kp; rows past
     * the end repeat row r0 and are not stored. */
    for (int r = 0; r < MR; r++) {
      const int8_t *x = p->x + (ptrdiff_t)(r0 + (r < count ? r : 0)) * p->x_row;
      y[r] = p->y + (ptrdiff_t)(r0 + (r < count ? r : 0)) * p->y_row;
      for (int32_t i = 0; i < kp; i += 64) {
        const __mmask64 m = g->k - i >= 64 ? ~(__mmask64)0
                            : i < g->k    ? (((__mmask64)1 << (g->k - i)) - 1)
                                          : 0;
        const __mmask64 store = kp - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (kp - i)) - 1);
        _mm512_mask_storeu_epi8(tile + (size_t)r * kp + i, store,
                                _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), flip));
      }
    }
    for (int32_t b = 0; b * NR < p->n; b++) {
      __m512i c[MR][2];
      ptec_avx512_panel_dot(tile, (size_t)kp, panels, corr, p->n, b, c);
      ptec_avx512_panel_store(&q, c, count, b, y, full);
    }
  }
  return true;
}

bool ptec_qfc_s8_avx512(const ptec_qfc_s8 *p) {
  if (p->w_zp != 0 || p->n > PTEC_AVX512_GEMM_MAX_N || p->depth > PTEC_Q_MAX_TERMS_I32)
    return false;
  ptec_gemm_s8 g = ptec_qfc_s8_gemm(p);
  if (fc_packed(p, &g)) return true;
  int32_t corr[PTEC_AVX512_GEMM_MAX_N];
  if (p->rows > 1) { /* one row sums the filters as it reads them (w_corr NULL) */
    ptec_avx512_gemm_s8_corr(&g, corr);
    g.w_corr = corr;
  }
  ptec_qfc_s8_run(p, &g, ptec_avx512_gemm_s8_rows);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
