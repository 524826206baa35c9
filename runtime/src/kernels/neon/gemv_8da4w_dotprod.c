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
 * one vector of four group dots.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON_DOTPROD
#include <arm_neon.h>

#include "kernels/llm/llm_quant.h"

/* sum q u over one row's group: 4 int32 lanes. */
static int32x4_t group_dot(const uint8_t *b, int8x16_t q0, int8x16_t q1) {
  uint8x16_t raw = vld1q_u8(b);
  int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(raw, vdupq_n_u8(15)));
  int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(raw, 4));
  return vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo, q0), hi, q1);
}

/* Outputs n..n+3 of one row over one chunk. */
static void four_outputs_row(const ptec_llm_8da4w *p, int64_t n, const ptec_llm_chunk *c,
                             float *out) {
  const int64_t G = p->K / PTEC_LLM_GROUP, row = p->K / 2;
  const uint8_t *w = p->w + n * row + c->g0 * (PTEC_LLM_GROUP / 2);
  const float *s = p->scales + n * G + c->g0;
  float32x4_t acc = vld1q_f32(out + n);
  for (int64_t g = 0; g < c->groups; g++) {
    int8x16_t q0 = vld1q_s8(c->q + g * PTEC_LLM_GROUP);
    int8x16_t q1 = vld1q_s8(c->q + g * PTEC_LLM_GROUP + 16);
    const uint8_t *b = w + g * (PTEC_LLM_GROUP / 2);
    int32x4_t v0 = group_dot(b, q0, q1), v1 = group_dot(b + row, q0, q1);
    int32x4_t v2 = group_dot(b + 2 * row, q0, q1), v3 = group_dot(b + 3 * row, q0, q1);
    int32x4_t dot = vpaddq_s32(vpaddq_s32(v0, v1), vpaddq_s32(v2, v3));
    dot = vsubq_s32(dot, vdupq_n_s32(8 * c->qsum[g]));
    float sc[4] = {s[g], s[g + G], s[g + 2 * G], s[g + 3 * G]};
    acc = vaddq_f32(acc, vmulq_f32(vcvtq_f32_s32(dot), vld1q_f32(sc)));
  }
  vst1q_f32(out + n, acc);
}

/* Outputs n..n+3 of `rows` rows (ptec_llm_block_fn; this variant takes one). */
static void four_outputs(const ptec_llm_8da4w *p, int64_t n, const ptec_llm_chunk *c, int rows,
                         float *out) {
  for (int r = 0; r < rows; r++) four_outputs_row(p, n, c + r, out + r * p->N);
}

void ptec_llm_linear_8da4w_dotprod(const ptec_llm_8da4w *p, int64_t n0, int64_t n1) {
  static const ptec_llm_8da4w_variant v = {{4, 0}, {four_outputs, NULL}, 1, NULL, NULL};
  ptec_llm_8da4w_rows(p, n0, n1, &v);
}

#endif /* PTEC_KERNELS_NEON_DOTPROD */
