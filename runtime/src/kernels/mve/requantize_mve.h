/*
 * TOSA apply_scale_32 (SINGLE_ROUND) on four int32 lanes with Helium, bit
 * for bit equal to ptec_apply_scale_32 in requantize.h:
 *
 *   r = (v * m + 2^(s-1)) >> s,   m in [1, 2^31), s in [2, 62]
 *
 * Two exact forms, neither needing a 64-bit lane:
 *
 *  s >= 32:  q = VQDMULH(v, m) = floor(v * m / 2^31) (never saturates: m > 0),
 *            then r = VRSHL(q, -(s - 31)) = (q + 2^(s-32)) >> (s - 31).
 *            Exact because 2^(s-1) is a multiple of 2^31, so the bits
 *            VQDMULH drops cannot carry into the rounding. |r| < 2^30.
 *  s <= 31:  r = VQRDMULH(v << (31 - s), m) = floor((v * m * 2^(31-s) + 2^30)
 *            / 2^31), the same quotient scaled; exact when v << (31 - s)
 *            fits int32, i.e. |v| < 2^s (always when s == 31). Callers
 *            check that bound for their range of v before choosing it.
 *
 * In both forms the result fits int32, so the reference's saturation never
 * applies.
 */
#ifndef PTEC_KERNELS_MVE_REQUANTIZE_MVE_H
#define PTEC_KERNELS_MVE_REQUANTIZE_MVE_H

#include <arm_mve.h>
#include <stdint.h>

/* Per-lane multiplier m and shift (s >= 31 in every lane): nk = 31 - s and
 * p31 marks the lanes with s == 31. */
static inline int32x4_t ptec_mve_scale_lanes(int32x4_t v, int32x4_t m, int32x4_t nk,
                                             mve_pred16_t p31) {
  int32x4_t r = vrshlq_s32(vqdmulhq_s32(v, m), nk);
  if (p31) r = vpselq_s32(vqrdmulhq_s32(v, m), r, p31);
  return r;
}

/* One multiplier and shift for every lane. Any s >= 31; s < 31 only when
 * |v| < 2^s in every lane. */
static inline int32x4_t ptec_mve_scale(int32x4_t v, int32_t m, int32_t s) {
  if (s >= 32) return vrshlq_n_s32(vqdmulhq_n_s32(v, m), 31 - s);
  return vqrdmulhq_n_s32(vshlq_r_s32(v, 31 - s), m);
}

/* clamp(v + zp, lo, hi) with v + zp saturated first (the reference adds in
 * 64 bits; saturating to int32 then clamping to an int8 range is the same). */
static inline int32x4_t ptec_mve_offset_clamp(int32x4_t v, int32_t zp, int32x4_t lo,
                                              int32x4_t hi) {
  return vminq_s32(vmaxq_s32(vqaddq_n_s32(v, zp), lo), hi);
}

#endif /* PTEC_KERNELS_MVE_REQUANTIZE_MVE_H */
