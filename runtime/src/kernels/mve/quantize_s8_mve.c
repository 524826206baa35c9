/*
 * Helium variant of quantize_per_tensor's float32 -> int8 row
 * (op_quantize.c: quantize_f32 then to_integer), four values at a time,
 * equal to the scalar code for every input:
 *
 *   v = nearbyint(x * inv_scale) + zp      (single-precision multiply and add,
 *                                           VRINTN rounds half to even, as
 *                                           nearbyintf in the default mode)
 *   y = NaN ? zp : clamp(v, lo, hi)        (infinities clamp; v is integral)
 *
 * A model's float input goes through this once (MobileNetV2 224: 150,528
 * values, 49 instructions each in the scalar loop).
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_MVE
#include <arm_mve.h>

void ptec_quantize_s8_mve(const float *x, int8_t *y, int64_t n, float inv_scale, int32_t zp,
                          int32_t lo, int32_t hi) {
  const float32x4_t zpf = vdupq_n_f32((float)zp);
  const float32x4_t flo = vdupq_n_f32((float)lo), fhi = vdupq_n_f32((float)hi);
  const int32x4_t izp = vdupq_n_s32(zp);
  for (int64_t i = 0; i < n; i += 4) {
    const mve_pred16_t p = vctp32q((uint32_t)(n - i < 4 ? n - i : 4));
    float32x4_t v = vmulq_n_f32(vldrwq_z_f32(x + i, p), inv_scale);
    v = vaddq_f32(vrndnq_f32(v), zpf);
    /* Only ordered lanes clamp; NaN lanes become zp. GT and EQ are false for NaN,
     * LT is not (VCMP's LT is N != V, true when unordered): v < lo is lo > v. */
    v = vpselq_f32(flo, v, vcmpgtq_f32(flo, v));
    v = vpselq_f32(fhi, v, vcmpgtq_f32(v, fhi));
    const mve_pred16_t ordered = vcmpeqq_f32(v, v);
    const int32x4_t r = vpselq_s32(vcvtq_s32_f32(v), izp, ordered);
    vstrbq_p_s32(y + i, r, p);
  }
}

#endif /* PTEC_KERNELS_MVE */
