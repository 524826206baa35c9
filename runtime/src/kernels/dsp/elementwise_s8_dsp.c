/*
 * DSP-extension variants of ptec::quantized_add and ptec::quantized_mul on
 * int8 runs (variants.h), one element at a time with each TOSA RESCALE
 * done exactly in two or three instructions:
 *
 *   s <= 31, |v| < 2^(s-1):  SMMULR(v << (32 - s), m) = (v m 2^(32-s) + 2^31) >> 32
 *                            = (v m + 2^(s-1)) >> s
 *   s == 32:                 SMMULR(v, m)
 *   s >= 33:                 (SMMUL(v, m) + 2^(s-33)) >> (s - 32)   (see dot_dsp.h)
 *
 * add: input shifts in [9, 31] (their inputs a - a_zp are within +-255),
 * output shift >= 32; mul: shift >= 32, or in [18, 31] (the product is
 * within +-65025 < 2^16). Other parameters return false.
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_DSP
#include "kernels/dsp/dot_dsp.h"

static inline __attribute__((always_inline)) int32_t smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}

static inline __attribute__((always_inline)) int32_t smmul(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmul %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}

/* apply_scale_32(v, m, s) for s <= 31 and |v| < 2^(s-1). */
static inline __attribute__((always_inline)) int32_t scale_low(int32_t v, int32_t m, int32_t s) {
  return smmulr((int32_t)((uint32_t)v << (32 - s)), m);
}

/* apply_scale_32(v, m, s) for s >= 32, any v. */
static inline __attribute__((always_inline)) int32_t scale_high(int32_t v, int32_t m, int32_t s) {
  if (s == 32) return smmulr(v, m);
  const int32_t k = s - 32;
  return (smmul(v, m) + (1 << (k - 1))) >> k; /* arithmetic >> (GCC, Clang) */
}

static inline __attribute__((always_inline)) int32_t clamp(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

bool ptec_qadd_s8_dsp(const ptec_qadd_params *p, const int8_t *a, ptrdiff_t sa,
                      const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count) {
  if (p->a_s < 9 || p->a_s > 31 || p->b_s < 9 || p->b_s > 31 || p->out_s < 32) return false;
  const int32_t azp = p->a_zp, am = p->a_m, as = p->a_s, bzp = p->b_zp, bm = p->b_m;
  const int32_t bs = p->b_s, om = p->out_m, os = p->out_s, ozp = p->out_zp;
  const int32_t lo = p->act_min, hi = p->act_max;
  for (int32_t j = 0; j < count; j++, a += sa, b += sb) {
    const int32_t va = scale_low(*a - azp, am, as), vb = scale_low(*b - bzp, bm, bs);
    y[j] = (int8_t)clamp(scale_high(__qadd(va, vb), om, os) + ozp, lo, hi);
  }
  return true;
}

bool ptec_qmul_s8_dsp(const ptec_qmul_params *p, const int8_t *a, ptrdiff_t sa,
                      const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count) {
  if (p->s < 18) return false;
  const int32_t azp = p->a_zp, bzp = p->b_zp, m = p->m, s = p->s, ozp = p->out_zp;
  const int32_t lo = p->act_min, hi = p->act_max;
  if (s >= 32) {
    for (int32_t j = 0; j < count; j++, a += sa, b += sb)
      y[j] = (int8_t)clamp(scale_high((*a - azp) * (*b - bzp), m, s) + ozp, lo, hi);
  } else {
    for (int32_t j = 0; j < count; j++, a += sa, b += sb)
      y[j] = (int8_t)clamp(scale_low((*a - azp) * (*b - bzp), m, s) + ozp, lo, hi);
  }
  return true;
}

#endif /* PTEC_KERNELS_DSP */
