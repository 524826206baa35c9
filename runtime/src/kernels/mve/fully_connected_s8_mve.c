/*
 * Helium variant of the int32 path of ptec::quantized_linear and
 * ptec::quantized_matmul (ptec_qfc_s8 in variants.h): rows of x times rows
 * of w, int8, depth contiguous in both. Any zero points; every shift >= 31.
 *
 * Zero points come off by
 *
 *   sum (x - izp)(w - wzp) = sum x*w - izp * sum w - wzp * sum x
 *                            + depth * izp * wzp
 *
 * with sum x once per row. With izp == 0 four outputs share each 16 bytes
 * of x (dot_mve.h: 10 instructions per 64 MACs); otherwise two outputs and
 * their weight sums (8 per 32). Every term fits int32 and the arithmetic
 * wraps, so the result is the reference's exact accumulator. The
 * accumulators of up to CHUNK outputs collect on the stack and are then
 * requantized four lanes at a time, with bias, multipliers and shifts
 * loaded straight from their tensors.
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_MVE
#include "kernels/mve/dot_mve.h"
#include "kernels/mve/requantize_mve.h"

enum { CHUNK = 64 }; /* outputs per requantization pass */

static int32_t sum_s8(const int8_t *x, int32_t n) {
  int32_t s = 0;
  for (; n >= 16; n -= 16, x += 16) s = vaddvaq_s8(s, vldrbq_s8(x));
  if (n > 0) s = vaddvaq_s8(s, vldrbq_z_s8(x, vctp8q((uint32_t)n)));
  return s;
}

/* acc[i] for outputs j0 + i, i < count (already corrected for zero points). */
static void accumulate(const ptec_qfc_s8 *p, const int8_t *x, uint32_t xterm, int32_t j0,
                       int32_t count, int32_t *acc) {
  const uint32_t izp = (uint32_t)p->in_zp;
  if (izp == 0) {
    for (int32_t i = 0; i < count; i += 4) {
      const int8_t *w[4];
      for (int32_t k = 0; k < 4; k++) /* past the end: repeat the last row */
        w[k] = p->w + (j0 + (i + k < count ? i + k : count - 1)) * p->w_row;
      int32_t a[4] = {0, 0, 0, 0};
      ptec_mve_dot4(x, w[0], w[1], w[2], w[3], p->depth, a);
      for (int32_t k = 0; k < 4 && i + k < count; k++)
        acc[i + k] = (int32_t)((uint32_t)a[k] + xterm);
    }
  } else {
    for (int32_t i = 0; i < count; i += 2) {
      const int8_t *w0 = p->w + (j0 + i) * p->w_row;
      const int8_t *w1 = i + 1 < count ? w0 + p->w_row : w0;
      int32_t a[4];
      ptec_mve_dot2_sums(x, w0, w1, p->depth, a);
      acc[i] = (int32_t)((uint32_t)a[0] + xterm - izp * (uint32_t)a[2]);
      if (i + 1 < count) acc[i + 1] = (int32_t)((uint32_t)a[1] + xterm - izp * (uint32_t)a[3]);
    }
  }
}

bool ptec_qfc_s8_mve(const ptec_qfc_s8 *p) {
  const int32_t nscale = p->scale_step ? p->n : 1;
  bool any31 = false;
  for (int32_t c = 0; c < nscale; c++) {
    if (p->shift[c] < 31) return false;
    any31 |= p->shift[c] == 31;
  }
  const int32_t depth = p->depth, izp = p->in_zp, wzp = p->w_zp, zp = p->out_zp;
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  const int32x4_t v31 = vdupq_n_s32(31);
  /* depth * izp * wzp, wrapping like the lanes. */
  const uint32_t zz = (uint32_t)depth * (uint32_t)izp * (uint32_t)wzp;
  int32_t acc[CHUNK];
  for (int32_t r = 0; r < p->rows; r++) {
    const int8_t *x = p->x + r * p->x_row;
    int8_t *y = p->y + r * p->y_row;
    const uint32_t xterm = zz - (uint32_t)wzp * (uint32_t)(wzp ? sum_s8(x, depth) : 0);
    for (int32_t j0 = 0; j0 < p->n; j0 += CHUNK) {
      const int32_t count = p->n - j0 < CHUNK ? p->n - j0 : CHUNK;
      accumulate(p, x, xterm, j0, count, acc);
      if (any31) { /* rare: the scalar epilogue */
        for (int32_t i = 0; i < count; i++) {
          int32_t j = j0 + i, c = j * p->scale_step;
          y[j * p->y_col] = (int8_t)ptec_q_requantize(acc[i], p->bias ? p->bias[j] : 0,
                                                      p->multiplier[c], p->shift[c], zp,
                                                      p->act_min, p->act_max);
        }
        continue;
      }
      for (int32_t i = 0; i < count; i += 4) {
        const int32_t j = j0 + i, lanes = count - i < 4 ? count - i : 4;
        const mve_pred16_t pr = vctp32q((uint32_t)lanes);
        int32x4_t v = vldrwq_z_s32(acc + i, pr);
        if (p->bias) v = vqaddq_s32(v, vldrwq_z_s32(p->bias + j, pr));
        int32x4_t m, nk;
        if (p->scale_step) {
          m = vldrwq_z_s32(p->multiplier + j, pr);
          nk = vsubq_s32(v31, vldrwq_z_s32(p->shift + j, pr));
        } else {
          m = vdupq_n_s32(p->multiplier[0]);
          nk = vdupq_n_s32(31 - p->shift[0]);
        }
        v = ptec_mve_offset_clamp(vrshlq_s32(vqdmulhq_s32(v, m), nk), zp, lo, hi);
        if (p->y_col == 1) {
          vstrbq_p_s32(y + j, v, pr);
        } else {
          int32_t out[4];
          vst1q_s32(out, v);
          for (int32_t k = 0; k < lanes; k++) y[(j + k) * p->y_col] = (int8_t)out[k];
        }
      }
    }
  }
  return true;
}

#endif /* PTEC_KERNELS_MVE */
