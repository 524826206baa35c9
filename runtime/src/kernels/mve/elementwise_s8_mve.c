/*
 * Helium variants of ptec::quantized_add and ptec::quantized_mul on int8
 * runs (variants.h): four elements per step in int32 lanes, each TOSA
 * RESCALE done with requantize_mve.h's exact forms.
 *
 * add: the input rescales need shift in [8, 31] (their inputs a - a_zp
 * are within +-255 < 2^8, so the VQRDMULH form is exact; the compiler's
 * common scale S = 2 max(s_a, s_b) / 2^20 gives shifts near 11) and the
 * output rescale shift >= 31. mul: the product (a - a_zp)(b - b_zp) is
 * within +-65025 < 2^16, so any shift >= 16. Other parameters return false.
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_MVE
#include "kernels/mve/requantize_mve.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* apply_scale_32 with the form fixed at compile time: `high` for s >= 32,
 * otherwise s <= 31 and |v| < 2^s. */
static ALWAYS_INLINE int32x4_t scale(int32x4_t v, int32_t m, int32_t s, bool high) {
  if (high) return vrshlq_n_s32(vqdmulhq_n_s32(v, m), 31 - s);
  return vqrdmulhq_n_s32(vshlq_r_s32(v, 31 - s), m);
}

/* One input of add: its rescaled value, lanes of a run or a broadcast one. */
static ALWAYS_INLINE int32x4_t add_input(const int8_t *a, bool scalar, int32x4_t splat,
                                         mve_pred16_t p, bool tail, int32_t zp, int32_t m,
                                         int32_t s) {
  if (scalar) return splat;
  int32x4_t v = tail ? vldrbq_z_s32(a, p) : vldrbq_s32(a);
  return scale(vsubq_n_s32(v, zp), m, s, false);
}

static ALWAYS_INLINE void add_run(const ptec_qadd_params *p, const int8_t *a, bool a_scalar,
                                  const int8_t *b, bool b_scalar, int8_t *y, int32_t count,
                                  bool out_high) {
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  const int32x4_t va0 = vdupq_n_s32(ptec_apply_scale_32(a[0] - p->a_zp, p->a_m, p->a_s));
  const int32x4_t vb0 = vdupq_n_s32(ptec_apply_scale_32(b[0] - p->b_zp, p->b_m, p->b_s));
  int32_t j = 0;
  for (; j + 4 <= count; j += 4) {
    int32x4_t va = add_input(a + j, a_scalar, va0, 0, false, p->a_zp, p->a_m, p->a_s);
    int32x4_t vb = add_input(b + j, b_scalar, vb0, 0, false, p->b_zp, p->b_m, p->b_s);
    int32x4_t v = scale(vqaddq_s32(va, vb), p->out_m, p->out_s, out_high);
    vstrbq_s32(y + j, ptec_mve_offset_clamp(v, p->out_zp, lo, hi));
  }
  if (j < count) {
    mve_pred16_t pr = vctp32q((uint32_t)(count - j));
    int32x4_t va = add_input(a + j, a_scalar, va0, pr, true, p->a_zp, p->a_m, p->a_s);
    int32x4_t vb = add_input(b + j, b_scalar, vb0, pr, true, p->b_zp, p->b_m, p->b_s);
    int32x4_t v = scale(vqaddq_s32(va, vb), p->out_m, p->out_s, out_high);
    vstrbq_p_s32(y + j, ptec_mve_offset_clamp(v, p->out_zp, lo, hi), pr);
  }
}

bool ptec_qadd_s8_mve(const ptec_qadd_params *p, const int8_t *a, ptrdiff_t sa,
                      const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count) {
  if ((sa != 0 && sa != 1) || (sb != 0 && sb != 1) || p->a_s < 8 || p->a_s > 31 ||
      p->b_s < 8 || p->b_s > 31 || p->out_s < 31)
    return false;
  if (count <= 0) return true;
  const bool out_high = p->out_s >= 32;
  if (sa == 1 && sb == 1) {
    if (out_high) add_run(p, a, false, b, false, y, count, true);
    else add_run(p, a, false, b, false, y, count, false);
  } else if (sb == 0) {
    if (out_high) add_run(p, a, sa == 0, b, true, y, count, true);
    else add_run(p, a, sa == 0, b, true, y, count, false);
  } else {
    if (out_high) add_run(p, a, true, b, false, y, count, true);
    else add_run(p, a, true, b, false, y, count, false);
  }
  return true;
}

/* Lanes of a run (stride 1) or a broadcast value (stride 0), minus zp. */
static ALWAYS_INLINE int32x4_t mul_input(const int8_t *a, bool scalar, mve_pred16_t p, bool tail,
                                         int32_t zp) {
  if (scalar) return vdupq_n_s32(a[0] - zp);
  return vsubq_n_s32(tail ? vldrbq_z_s32(a, p) : vldrbq_s32(a), zp);
}

static ALWAYS_INLINE void mul_run(const ptec_qmul_params *p, const int8_t *a, bool a_scalar,
                                  const int8_t *b, bool b_scalar, int8_t *y, int32_t count,
                                  bool high) {
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  int32_t j = 0;
  for (; j + 4 <= count; j += 4) {
    int32x4_t prod = vmulq_s32(mul_input(a + j * !a_scalar, a_scalar, 0, false, p->a_zp),
                               mul_input(b + j * !b_scalar, b_scalar, 0, false, p->b_zp));
    vstrbq_s32(y + j, ptec_mve_offset_clamp(scale(prod, p->m, p->s, high), p->out_zp, lo, hi));
  }
  if (j < count) {
    mve_pred16_t pr = vctp32q((uint32_t)(count - j));
    int32x4_t prod = vmulq_s32(mul_input(a + j * !a_scalar, a_scalar, pr, true, p->a_zp),
                               mul_input(b + j * !b_scalar, b_scalar, pr, true, p->b_zp));
    vstrbq_p_s32(y + j, ptec_mve_offset_clamp(scale(prod, p->m, p->s, high), p->out_zp, lo, hi),
                 pr);
  }
}

bool ptec_qmul_s8_mve(const ptec_qmul_params *p, const int8_t *a, ptrdiff_t sa,
                      const int8_t *b, ptrdiff_t sb, int8_t *y, int32_t count) {
  if ((sa != 0 && sa != 1) || (sb != 0 && sb != 1) || p->s < 16) return false;
  const bool high = p->s >= 32;
  if (sa == 1 && sb == 1) {
    if (high) mul_run(p, a, false, b, false, y, count, true);
    else mul_run(p, a, false, b, false, y, count, false);
  } else {
    if (high) mul_run(p, a, sa == 0, b, sb == 0, y, count, true);
    else mul_run(p, a, sa == 0, b, sb == 0, y, count, false);
  }
  return true;
}

#endif /* PTEC_KERNELS_MVE */
