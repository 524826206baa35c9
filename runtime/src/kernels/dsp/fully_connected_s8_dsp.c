/*
 * DSP-extension (SMLAD) variant of the int32 path of ptec::quantized_linear
 * and ptec::quantized_matmul (ptec_qfc_s8 in variants.h). Any zero points
 * and shifts.
 *
 * With weight_zp 0 and depth <= KMAX, each row of x is widened once to
 * int16 minus its zero point (a 4 KiB stack buffer at most) and four
 * outputs at a time run through one assembly loop (dot_dsp.h, 24
 * instructions per 16 MACs); otherwise each four bytes of x are widened in
 * the loop (ptec_dsp_dot4). Requantization: ptec_dsp_requantize.
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_DSP
#include "kernels/dsp/dot_dsp.h"

enum { KMAX = 2048 }; /* depth the widened row may have */

bool ptec_qfc_s8_dsp(const ptec_qfc_s8 *p) {
  const int32_t nx2 = ptec_dsp_neg_zp2(p->in_zp), nw2 = ptec_dsp_neg_zp2(p->w_zp);
  const int32_t depth = p->depth, quads = depth / 4;
  const bool fast = p->w_zp == 0 && depth <= KMAX;
  int32_t xw[KMAX / 2];
  for (int32_t r = 0; r < p->rows; r++) {
    const int8_t *x = p->x + r * p->x_row;
    int8_t *y = p->y + r * p->y_row;
    if (fast) ptec_dsp_widen(x, 4 * quads, p->in_zp, xw, 2);
    for (int32_t j0 = 0; j0 < p->n; j0 += 4) {
      const int32_t count = p->n - j0 < 4 ? p->n - j0 : 4;
      int32_t acc[4] = {0, 0, 0, 0};
      if (fast && count == 4) {
        const int8_t *w = p->w + j0 * p->w_row;
        ptec_dsp_dot_1x4(xw, w, p->w_row, quads, acc);
        for (int32_t k = 4 * quads; k < depth; k++) {
          const int32_t xk = x[k] - p->in_zp;
          for (int32_t j = 0; j < 4; j++) acc[j] += xk * w[j * p->w_row + k];
        }
      } else {
        const int8_t *w[4];
        for (int32_t j = 0; j < 4; j++)
          w[j] = p->w + (j0 + (j < count ? j : count - 1)) * p->w_row;
        ptec_dsp_dot4(x, w[0], w[1], w[2], w[3], depth, nx2, nw2, acc);
      }
      for (int32_t j = 0; j < count; j++) {
        int32_t o = j0 + j, c = o * p->scale_step;
        y[o * p->y_col] = (int8_t)ptec_dsp_requantize(acc[j], p->bias ? p->bias[o] : 0,
                                                      p->multiplier[c], p->shift[c], p->out_zp,
                                                      p->act_min, p->act_max);
      }
    }
  }
  return true;
}

#endif /* PTEC_KERNELS_DSP */
