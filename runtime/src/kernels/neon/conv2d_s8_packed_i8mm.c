/*
 * ptec::quantized_conv2d_packed's 4 pixels x 16 channels block (packed_s8_neon.h)
 * with the int8 matrix multiply (FEAT_I8MM; compiled with +dotprod+i8mm and run
 * by conv2d_s8_packed_dotprod.c's driver only when the CPU has it). The panels
 * are SDOT's, packed at compile time (panel[b][k / 4][c][k % 4]); SMMLA wants a
 * filter's eight consecutive values of k in one 64-bit half, which two
 * consecutive groups of four give after a ZIP of their 32-bit lanes:
 *
 *   G = group g [c0 k0-3 | c1 k0-3 | c2 k0-3 | c3 k0-3], H = group g + 1 (k4-7)
 *   ZIP1(G, H) = [c0 k0-7 | c1 k0-7],  ZIP2(G, H) = [c2 k0-7 | c3 k0-7]
 *
 * and a pixel pair is ZIP1/ZIP2 of two pixels' 64-bit halves. Per 16 values
 * of k: 4 pixel loads, 16 weight loads, 20 ZIPs and 32 SMMLA (1024 MACs),
 * against SDOT's 4 + 16 loads and 64 SDOT. The 2x2 accumulators go back to
 * channel order at the end (ZIPs of 64-bit halves); a last 4, 8 or 12 values
 * of k run through the SDOT block. Raw sums as SDOT's, so the same bits.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON_I8MM
#include "kernels/neon/packed_s8_neon.h"

/* Below MIN_K values of k the block is SDOT's: SMMLA saves 12 instructions per 16
 * values of k but costs ~48 once (zeroing and reordering its accumulators, adding them
 * in), so MobileNetV2's short pointwise filters (k of 8 to 48) run faster as SDOT. */
enum { NR = PTEC_QCONV_PACK_NR, MIN_K = 64 };

static inline int8x16_t zip64(int8x16_t a, int8x16_t b, int hi) {
  int64x2_t p = vreinterpretq_s64_s8(a), q = vreinterpretq_s64_s8(b);
  return vreinterpretq_s8_s64(hi ? vzip2q_s64(p, q) : vzip1q_s64(p, q));
}

void ptec_neon_dot_4x16_i8mm(const int8_t *const x[4], const int8_t *w, int32_t i, int32_t kp,
                             int32x4_t c[4][4]) {
  if (kp - i < MIN_K) {
    ptec_neon_dot_4x16_sdot(x, w, i, kp, c);
    return;
  }
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  const int8_t *wi = w + (size_t)i * NR;
  int32x4_t acc[2][8]; /* [pixel pair][channel pair]: [p0.c0, p0.c1, p1.c0, p1.c1] */
  for (int pp = 0; pp < 2; pp++)
    for (int cp = 0; cp < 8; cp++) acc[pp][cp] = vdupq_n_s32(0);
  for (; i + 16 <= kp; i += 16, wi += 16 * NR) {
    const int8x16_t a0 = vld1q_s8(x0 + i), a1 = vld1q_s8(x1 + i), a2 = vld1q_s8(x2 + i),
                    a3 = vld1q_s8(x3 + i);
    for (int h = 0; h < 2; h++) { /* values 8h .. 8h + 7: groups 2h and 2h + 1 */
      const int8x16_t p01 = zip64(a0, a1, h), p23 = zip64(a2, a3, h);
      const int8_t *wg = wi + (size_t)(2 * h) * 4 * NR;
      for (int q = 0; q < 4; q++) {
        const int32x4_t g = vreinterpretq_s32_s8(vld1q_s8(wg + 16 * q)),
                        n = vreinterpretq_s32_s8(vld1q_s8(wg + 4 * NR + 16 * q));
        const int8x16_t b0 = vreinterpretq_s8_s32(vzip1q_s32(g, n)),
                        b1 = vreinterpretq_s8_s32(vzip2q_s32(g, n));
        acc[0][2 * q] = vmmlaq_s32(acc[0][2 * q], p01, b0);
        acc[0][2 * q + 1] = vmmlaq_s32(acc[0][2 * q + 1], p01, b1);
        acc[1][2 * q] = vmmlaq_s32(acc[1][2 * q], p23, b0);
        acc[1][2 * q + 1] = vmmlaq_s32(acc[1][2 * q + 1], p23, b1);
      }
    }
  }
  for (int pp = 0; pp < 2; pp++)
    for (int q = 0; q < 4; q++) {
      const int64x2_t lo = vreinterpretq_s64_s32(acc[pp][2 * q]),
                      hi = vreinterpretq_s64_s32(acc[pp][2 * q + 1]);
      c[2 * pp][q] = vaddq_s32(c[2 * pp][q], vreinterpretq_s32_s64(vzip1q_s64(lo, hi)));
      c[2 * pp + 1][q] = vaddq_s32(c[2 * pp + 1][q], vreinterpretq_s32_s64(vzip2q_s64(lo, hi)));
    }
  if (i < kp) ptec_neon_dot_4x16_sdot(x, w, i, kp, c);
}

#endif /* PTEC_KERNELS_NEON_I8MM */
