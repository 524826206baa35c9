/*
 * NEON variant of ptec::quantized_add on int8 runs (op_quantized_add.c has
 * the formula), sixteen elements at a time, bit for bit:
 *
 *   va = apply_scale_32(a - a_zp, a_m, a_s)     SMULL into 64-bit lanes, SRSHL by -s
 *   vb = apply_scale_32(b - b_zp, b_m, b_s)     (the rounding shift is (v m + 2^(s-1)) >> s,
 *                                               exactly: |v m| < 2^62), SQXTN (sat32)
 *   y  = clamp(apply_scale_32(sat32(va + vb), out_m, out_s) + out_zp, lo, hi)
 *                                               SQADD, the same scale step, SQADD of the
 *                                               zero point, SMAX / SMIN
 *
 * The zero point's saturating add lands on the same int8 bound as the
 * reference's 64-bit add (the bounds and the zero point lie within int8).
 * a or b may be one broadcast value (stride 0); the last count % 16 go
 * through padded copies.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <arm_neon.h>
#include <string.h>

#include "kernels/quantized/variants.h"

/* sat32((v * m + 2^(s-1)) >> s) on four lanes; ns = -s. */
static inline int32x4_t scale4(int32x4_t v, int32x4_t m, int64x2_t ns) {
  int64x2_t lo = vrshlq_s64(vmull_s32(vget_low_s32(v), vget_low_s32(m)), ns);
  int64x2_t hi = vrshlq_s64(vmull_high_s32(v, m), ns);
  return vqmovn_high_s64(vqmovn_s64(lo), hi);
}

typedef struct side {
  int32x4_t zp, m;
  int64x2_t ns;
} side;

/* Sixteen int8 values' (x - zp) scaled, in four vectors. */
static inline void scale16(int8x16_t x, const side *k, int32x4_t v[4]) {
  const int16x8_t l = vmovl_s8(vget_low_s8(x)), h = vmovl_high_s8(x);
  v[0] = scale4(vsubq_s32(vmovl_s16(vget_low_s16(l)), k->zp), k->m, k->ns);
  v[1] = scale4(vsubq_s32(vmovl_high_s16(l), k->zp), k->m, k->ns);
  v[2] = scale4(vsubq_s32(vmovl_s16(vget_low_s16(h)), k->zp), k->m, k->ns);
  v[3] = scale4(vsubq_s32(vmovl_high_s16(h), k->zp), k->m, k->ns);
}

/* Values i..i+n-1 of a run of stride s (0: one broadcast value, 1: contiguous),
 * n <= 16; a short tail is read through a zero-padded copy, never past the run. */
static inline int8x16_t load16(const int8_t *x, ptrdiff_t s, int32_t i, int32_t n) {
  if (s == 0) return vdupq_n_s8(*x);
  if (n == 16) return vld1q_s8(x + i);
  int8_t t[16] = {0};
  memcpy(t, x + i, (size_t)n);
  return vld1q_s8(t);
}

bool ptec_qadd_s8_neon(const ptec_qadd_params *p, const int8_t *a, ptrdiff_t sa,
                       const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count) {
  if ((sa != 0 && sa != 1) || (sb != 0 && sb != 1)) return false;
  const side ka = {vdupq_n_s32(p->a_zp), vdupq_n_s32(p->a_m), vdupq_n_s64(-(int64_t)p->a_s)};
  const side kb = {vdupq_n_s32(p->b_zp), vdupq_n_s32(p->b_m), vdupq_n_s64(-(int64_t)p->b_s)};
  const int32x4_t om = vdupq_n_s32(p->out_m), zp = vdupq_n_s32(p->out_zp);
  const int64x2_t ons = vdupq_n_s64(-(int64_t)p->out_s);
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  for (int32_t i = 0; i < count; i += 16) {
    const int32_t n = count - i < 16 ? count - i : 16;
    const int8x16_t xa = load16(a, sa, i, n), xb = load16(b, sb, i, n);
    int32x4_t va[4], vb[4], r[4];
    scale16(xa, &ka, va);
    scale16(xb, &kb, vb);
    for (int q = 0; q < 4; q++) {
      int32x4_t v = scale4(vqaddq_s32(va[q], vb[q]), om, ons);
      r[q] = vminq_s32(vmaxq_s32(vqaddq_s32(v, zp), lo), hi);
    }
    /* Clamped to int8 already: plain narrowing. */
    const int8x16_t out = vcombine_s8(vmovn_s16(vcombine_s16(vmovn_s32(r[0]), vmovn_s32(r[1]))),
                                      vmovn_s16(vcombine_s16(vmovn_s32(r[2]), vmovn_s32(r[3]))));
    if (n == 16) {
      vst1q_s8(y + i, out);
    } else {
      int8_t ty[16];
      vst1q_s8(ty, out);
      memcpy(y + i, ty, (size_t)n);
    }
  }
  return true;
}

#endif /* PTEC_KERNELS_NEON */
