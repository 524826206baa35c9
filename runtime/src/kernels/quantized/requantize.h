/*
 * TOSA 1.0 integer arithmetic for the integer kernels (every variant, every
 * ISA uses these, so CPU kernels, the TOSA executor and the NPU agree).
 * Mirrors python/ptec/quant/tosa_math.py, the tests' bit-exact oracle.
 */
#ifndef PTEC_KERNELS_QUANTIZED_REQUANTIZE_H
#define PTEC_KERNELS_QUANTIZED_REQUANTIZE_H

#include <stdint.h>

/* Arithmetic right shift of a signed 64-bit value, without relying on the
 * implementation-defined behaviour of >> on negative numbers. */
static inline int64_t ptec_asr64(int64_t v, int shift) {
  return v >= 0 ? v >> shift : -(int64_t)(((uint64_t)(-(v + 1)) >> shift) + 1);
}

/*
 * apply_scale_32 with SINGLE_ROUND: (value * multiplier + 2^(shift-1)) >> shift.
 * multiplier in [0, 2^31), shift in [2, 62] (checked at load). TOSA calls
 * |value| >= 2^(shift-1) unpredictable; here the result saturates to int32,
 * which the NumPy model does too.
 */
static inline int32_t ptec_apply_scale_32(int32_t value, int32_t multiplier, int32_t shift) {
  int64_t round = (int64_t)1 << (shift - 1);
  int64_t result = ptec_asr64((int64_t)value * multiplier + round, shift);
  if (result > INT32_MAX) return INT32_MAX;
  if (result < INT32_MIN) return INT32_MIN;
  return (int32_t)result;
}

static inline int32_t ptec_clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* TOSA reciprocal_scale: multiplier and shift with m * 2^-shift ~ 1/count. */
static inline void ptec_reciprocal_scale(uint32_t count, int32_t *multiplier, int32_t *shift) {
  uint32_t x = count - 1;
  int k = 0;
  while (x != 0) {
    k++;
    x >>= 1;
  }
  int64_t numerator = ((int64_t)(1 << 30) + 1) << k;
  *multiplier = (int32_t)(numerator / count);
  *shift = 30 + k;
}

#endif
