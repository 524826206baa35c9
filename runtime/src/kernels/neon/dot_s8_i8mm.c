/*
 * The 4x4 int8 dot-product block of gemm_s8_neon.h with the Armv8.6-A int8
 * matrix multiply (FEAT_I8MM: Cortex-A510/A710/X2, Neoverse V1/N2 and later;
 * compiled with +dotprod+i8mm in every AArch64 build and run only when the
 * CPU has both: gemm_s8_neon.h). SMMLA multiplies a 2x8 block of int8 (two
 * rows, eight values of k each) by an 8x2 one (two filters) into a 2x2 block
 * of int32 lanes: [x0.w0, x0.w1, x1.w0, x1.w1]. Rows and filters are read in
 * place, 16 values of k each, and paired in registers (ZIP1/ZIP2 of their
 * 64-bit halves: [x0 k0..7 | x1 k0..7] and [x0 k8..15 | x1 k8..15]), so a
 * 4x4 block takes 8 SMMLA per 16 values of k (256 MACs), against SDOT's 16,
 * plus 8 SDOT against ones for the row and filter sums that the zero points
 * need (only 4 when a zero point is 0), as dot_s8_dotprod.c does:
 *
 *   sum (x - izp)(w - wzp) = sum x w - wzp sum x - izp sum w + k izp wzp
 *
 * (ptec_neon_dot_s8_correct_4x4: wrapping int32 lanes, exact because the
 * result fits int32), the reference's int32 accumulator. The k % 16 tail is
 * copied into zero-padded blocks: zeros add nothing to any raw sum.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON_I8MM
#include <stdbool.h>
#include <string.h>

#include "kernels/neon/gemm_s8_neon.h"

/* [a k0..7 | b k0..7] and [a k8..15 | b k8..15]. */
static inline int8x16_t pair_lo(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
static inline int8x16_t pair_hi(int8x16_t a, int8x16_t b) {
  return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}

typedef struct block {
  int32x4_t c00, c01, c10, c11; /* rows 0-1 or 2-3 by filters 0-1 or 2-3 */
  int32x4_t sx[4], sw[4];       /* raw row and filter sums, by lane */
} block;

/* 16 values of k of the four rows and filters at x[r] + i, w[j] + i. The
 * sums a zero point of 0 does not need are left out (need_* are constants
 * where it is inlined, so each case is its own loop). */
static inline __attribute__((always_inline)) void step(block *b, const int8_t *const x[4],
                                                       const int8_t *const w[4], int32_t i,
                                                       bool need_sx, bool need_sw) {
  const int8x16_t ones = vdupq_n_s8(1);
  int8x16_t a0 = vld1q_s8(x[0] + i), a1 = vld1q_s8(x[1] + i), a2 = vld1q_s8(x[2] + i),
            a3 = vld1q_s8(x[3] + i);
  int8x16_t f0 = vld1q_s8(w[0] + i), f1 = vld1q_s8(w[1] + i), f2 = vld1q_s8(w[2] + i),
            f3 = vld1q_s8(w[3] + i);
  int8x16_t x01l = pair_lo(a0, a1), x01h = pair_hi(a0, a1);
  int8x16_t x23l = pair_lo(a2, a3), x23h = pair_hi(a2, a3);
  int8x16_t w01l = pair_lo(f0, f1), w01h = pair_hi(f0, f1);
  int8x16_t w23l = pair_lo(f2, f3), w23h = pair_hi(f2, f3);
  b->c00 = vmmlaq_s32(vmmlaq_s32(b->c00, x01l, w01l), x01h, w01h);
  b->c01 = vmmlaq_s32(vmmlaq_s32(b->c01, x01l, w23l), x01h, w23h);
  b->c10 = vmmlaq_s32(vmmlaq_s32(b->c10, x23l, w01l), x23h, w01h);
  b->c11 = vmmlaq_s32(vmmlaq_s32(b->c11, x23l, w23l), x23h, w23h);
  if (need_sx) {
    b->sx[0] = vdotq_s32(b->sx[0], a0, ones); b->sx[1] = vdotq_s32(b->sx[1], a1, ones);
    b->sx[2] = vdotq_s32(b->sx[2], a2, ones); b->sx[3] = vdotq_s32(b->sx[3], a3, ones);
  }
  if (need_sw) {
    b->sw[0] = vdotq_s32(b->sw[0], f0, ones); b->sw[1] = vdotq_s32(b->sw[1], f1, ones);
    b->sw[2] = vdotq_s32(b->sw[2], f2, ones); b->sw[3] = vdotq_s32(b->sw[3], f3, ones);
  }
}

static inline __attribute__((always_inline)) void run(block *b, const int8_t *const x[4],
                                                      const int8_t *const w[4], int32_t k,
                                                      bool need_sx, bool need_sw) {
  int32_t i = 0;
  for (; i + 16 <= k; i += 16) step(b, x, w, i, need_sx, need_sw);
  if (i < k) {
    int8_t t[8][16];
    const int8_t *tx[4] = {t[0], t[1], t[2], t[3]}, *tw[4] = {t[4], t[5], t[6], t[7]};
    size_t rest = (size_t)(k - i);
    memset(t, 0, sizeof t);
    for (int r = 0; r < 4; r++) {
      memcpy(t[r], x[r] + i, rest);
      memcpy(t[4 + r], w[r] + i, rest);
    }
    step(b, tx, tw, 0, need_sx, need_sw);
  }
}

void ptec_neon_dot_s8_4x4_i8mm(const ptec_gemm_s8 *g, const int8_t *const x[4],
                               const int8_t *const w[4], int32_t out[16]) {
  const int32x4_t z = vdupq_n_s32(0);
  block b = {z, z, z, z, {z, z, z, z}, {z, z, z, z}};
  const int32_t izp = g->in_zp, wzp = g->w_zp;
  if (wzp == 0 && izp == 0)
    run(&b, x, w, g->k, false, false);
  else if (wzp == 0)
    run(&b, x, w, g->k, false, true);
  else if (izp == 0)
    run(&b, x, w, g->k, true, false);
  else
    run(&b, x, w, g->k, true, true);
  /* Rows 0 and 1 of c00/c01 are the 64-bit halves: [r0.f0 r0.f1 | r1.f0 r1.f1]. */
  const int64x2_t c00 = vreinterpretq_s64_s32(b.c00), c01 = vreinterpretq_s64_s32(b.c01),
                  c10 = vreinterpretq_s64_s32(b.c10), c11 = vreinterpretq_s64_s32(b.c11);
  const int32x4_t xw[4] = {
      vreinterpretq_s32_s64(vzip1q_s64(c00, c01)), vreinterpretq_s32_s64(vzip2q_s64(c00, c01)),
      vreinterpretq_s32_s64(vzip1q_s64(c10, c11)), vreinterpretq_s32_s64(vzip2q_s64(c10, c11))};
  ptec_neon_dot_s8_correct_4x4(g, xw, ptec_neon_sum4(b.sx[0], b.sx[1], b.sx[2], b.sx[3]),
                               ptec_neon_sum4(b.sw[0], b.sw[1], b.sw[2], b.sw[3]), out);
}

#endif /* PTEC_KERNELS_NEON_I8MM */
