/*
 * NEON variant of ptec::linear_int8w (kernels/llm/op_linear_int8w.c), any
 * AArch64 build: fp32 activations times int8 weights, four output rows at a
 * time so each load of x serves four rows, eight input channels per step
 * (int8 -> int16 -> int32 -> fp32, two FMAs). Sums in lanes, so it differs
 * from the reference's sequential sum by rounding only, as the AVX2 variant.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <arm_neon.h>

#include "kernels/llm/llm_quant.h"

/* acc += x[k..k+8] * w[k..k+8] in two 4-lane halves. */
static void step8(const float *x, const int8_t *w, float32x4_t *a, float32x4_t *b) {
  int16x8_t w16 = vmovl_s8(vld1_s8(w));
  *a = vfmaq_f32(*a, vld1q_f32(x), vcvtq_f32_s32(vmovl_s16(vget_low_s16(w16))));
  *b = vfmaq_f32(*b, vld1q_f32(x + 4), vcvtq_f32_s32(vmovl_s16(vget_high_s16(w16))));
}

/* ptec_llm_int8w_dots_fn: four rows share each load of x. */
static void dots(const float *x, const int8_t *w, int64_t K, int rows, float *sums) {
  float32x4_t a[4], b[4];
  for (int r = 0; r < rows; r++) a[r] = b[r] = vdupq_n_f32(0.0f);
  int64_t k = 0;
  if (rows == 4) {
    for (; k + 8 <= K; k += 8)
      for (int r = 0; r < 4; r++) step8(x + k, w + r * K + k, &a[r], &b[r]);
  } else {
    for (; k + 8 <= K; k += 8) step8(x + k, w + k, &a[0], &b[0]);
  }
  for (int r = 0; r < rows; r++) {
    float s = vaddvq_f32(vaddq_f32(a[r], b[r]));
    for (int64_t j = k; j < K; j++) s += x[j] * (float)w[r * K + j];
    sums[r] = s;
  }
}

void ptec_llm_linear_int8w_neon(const ptec_llm_int8w *p, int64_t n0, int64_t n1) {
  ptec_llm_int8w_rows(p, n0, n1, dots);
}

#endif /* PTEC_KERNELS_NEON */
