/*
 * ptec::linear_8da4w with the Armv8.2-A dot-product instructions (builds for
 * Cortex-A76 and later: kernels/isa.h), equal to the reference
 * (kernels/llm/op_linear_8da4w.c) bit for bit: the group dots are the same
 * integers and the float steps the same IEEE operations per output.
 *
 * SDOT multiplies int8 by int8: the quantized activations q by the stored nibbles
 * u = w + 8 (0..15), and the offset comes off once per group (sum q w = sum q u -
 * 8 sum q); the zero point's term is the per-output one all variants share
 * (llm_quant.h). Four outputs at a time; a pairwise-add tree turns their lane sums into
 * one vector of four group dots. A prompt's rows go two at a time through each unpacked
 * weight group.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON_DOTPROD
#include <arm_neon.h>

#include "kernels/llm/llm_quant.h"

/* One row's group: 16 packed bytes at b -> its low (weights 0..15) and high nibbles. */
static inline void unpack(const uint8_t *b, int8x16_t *lo, int8x16_t *hi) {
  uint8x16_t raw = vld1q_u8(b);
  *lo = vreinterpretq_s8_u8(vandq_u8(raw, vdupq_n_u8(15)));
  *hi = vreinterpretq_s8_u8(vshrq_n_u8(raw, 4));
}

/* Outputs n..n+3 of R (1 or 2) rows of x over one chunk. */
static inline __attribute__((always_inline)) void block4(const ptec_llm_8da4w *p, int64_t n,
                                                         const ptec_llm_chunk *c, const int R,
                                                         float *out) {
  const int64_t G = p->K / PTEC_LLM_GROUP, row = p->K / 2;
  const uint8_t *w = p->w + n * row + c[0].g0 * (PTEC_LLM_GROUP / 2);
  const float *s = p->scales + n * G + c[0].g0;
  float32x4_t acc[2];
  for (int r = 0; r < R; r++) acc[r] = vld1q_f32(out + r * p->N + n);
  for (int64_t g = 0; g < c[0].groups; g++) {
    int8x16_t lo[4], hi[4];
    const uint8_t *b = w + g * (PTEC_LLM_GROUP / 2);
    for (int o = 0; o < 4; o++) unpack(b + o * row, &lo[o], &hi[o]);
    const float sc[4] = {s[g], s[g + G], s[g + 2 * G], s[g + 3 * G]};
    const float32x4_t scale = vld1q_f32(sc);
    for (int r = 0; r < R; r++) {
      const int8x16_t q0 = vld1q_s8(c[r].q + g * PTEC_LLM_GROUP);
      const int8x16_t q1 = vld1q_s8(c[r].q + g * PTEC_LLM_GROUP + 16);
      int32x4_t v[4]; /* sum q u of output o's group: 4 lanes */
      for (int o = 0; o < 4; o++)
        v[o] = vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo[o], q0), hi[o], q1);
      int32x4_t dot = vpaddq_s32(vpaddq_s32(v[0], v[1]), vpaddq_s32(v[2], v[3]));
      dot = vsubq_s32(dot, vdupq_n_s32(8 * c[r].qsum[g]));
      acc[r] = vaddq_f32(acc[r], vmulq_f32(vcvtq_f32_s32(dot), scale));
    }
  }
  for (int r = 0; r < R; r++) vst1q_f32(out + r * p->N + n, acc[r]);
}

/* Outputs n..n+3 of `rows` rows (ptec_llm_block_fn): two rows at a time share each
 * unpacked weight group. */
static void four_outputs(const ptec_llm_8da4w *p, int64_t n, const ptec_llm_chunk *c, int rows,
                         float *out) {
  int r = 0;
  for (; r + 2 <= rows; r += 2) block4(p, n, c + r, 2, out + r * p->N);
  if (r < rows) block4(p, n, c + r, 1, out + r * p->N);
}

void ptec_llm_linear_8da4w_dotprod(const ptec_llm_8da4w *p, int64_t n0, int64_t n1) {
  static const ptec_llm_8da4w_variant v = {
      {4, 0}, {four_outputs, NULL}, PTEC_LLM_ROWS, NULL, NULL};
  ptec_llm_8da4w_rows(p, n0, n1, &v);
}

#endif /* PTEC_KERNELS_NEON_DOTPROD */
