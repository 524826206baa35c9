/*
 * AVX-512 rows of the float32 elementwise ops that run between the convolutions: relu and
 * clamp/hardtanh (op_activation.c) and add/sub/mul/div (elementwise.c's binary_row_f32,
 * ResNet's residual adds). Sixteen lanes per step, a masked step for the tail.
 *
 * Bit for bit the reference's per-element expressions:
 *  - relu `x < 0 ? 0 : x` is VMAXPS(0, x), which returns its second operand unless the
 *    first is greater: NaN and -0 pass through as in the reference.
 *  - clamp `v = x < lo ? lo : x; v > hi ? hi : v` is VMINPS(hi, VMAXPS(lo, x)).
 *  - a + alpha * b with the product rounded first (separate multiply and add, no FMA;
 *    alpha 1 skips the multiply, which is exact anyway), a * b, a / b.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/portable/elementwise.h"
#include "kernels/x86/ops_f32_x86.h"

static inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

void ptec_relu_row_f32_avx512(float *o, const float *in, int64_t n) {
  const __m512 zero = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int u = 0; u < 64; u += 16)
      _mm512_storeu_ps(o + i + u, _mm512_max_ps(zero, _mm512_loadu_ps(in + i + u)));
  for (; i < n; i += 16) {
    __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(o + i, m, _mm512_max_ps(zero, _mm512_maskz_loadu_ps(m, in + i)));
  }
}

void ptec_clamp_row_f32_avx512(float *o, const float *in, int64_t n, float lo, float hi) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int u = 0; u < 64; u += 16)
      _mm512_storeu_ps(o + i + u,
                       _mm512_min_ps(vhi, _mm512_max_ps(vlo, _mm512_loadu_ps(in + i + u))));
  for (; i < n; i += 16) {
    __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(o + i, m,
                          _mm512_min_ps(vhi, _mm512_max_ps(vlo, _mm512_maskz_loadu_ps(m, in + i))));
  }
}

static inline __m512 apply(int op, __m512 a, __m512 b, __m512 alpha, bool unit) {
  switch (op) {
    case PTEC_BINARY_ADD: return _mm512_add_ps(a, unit ? b : _mm512_mul_ps(alpha, b));
    case PTEC_BINARY_SUB: return _mm512_sub_ps(a, unit ? b : _mm512_mul_ps(alpha, b));
    case PTEC_BINARY_MUL: return _mm512_mul_ps(a, b);
    default: return _mm512_div_ps(a, b);
  }
}

/* One op for the whole row: the switch is outside the loop after inlining. */
#define ROW(OP, UNIT)                                                                      \
  do {                                                                                     \
    int64_t i = 0;                                                                         \
    for (; i + 16 <= n; i += 16) {                                                         \
      __m512 vb = sb ? _mm512_loadu_ps(b + i) : b0;                                        \
      _mm512_storeu_ps(o + i, apply(OP, _mm512_loadu_ps(a + i), vb, va, UNIT));            \
    }                                                                                      \
    if (i < n) {                                                                           \
      __mmask16 m = tail_mask(n - i);                                                      \
      __m512 vb = sb ? _mm512_maskz_loadu_ps(m, b + i) : b0;                               \
      _mm512_mask_storeu_ps(o + i, m, apply(OP, _mm512_maskz_loadu_ps(m, a + i), vb, va, UNIT)); \
    }                                                                                      \
  } while (0)

bool ptec_binary_row_f32_avx512(int op, float *o, int64_t so, const float *a, int64_t sa,
                                const float *b, int64_t sb, int64_t n, float alpha) {
  if (so != 1 || sa != 1 || (sb != 1 && sb != 0) || n < 16) return false;
  const __m512 va = _mm512_set1_ps(alpha), b0 = _mm512_set1_ps(b[0]);
  bool unit = alpha == 1.0f;
  switch (op) {
    case PTEC_BINARY_ADD:
      if (unit) ROW(PTEC_BINARY_ADD, true);
      else ROW(PTEC_BINARY_ADD, false);
      return true;
    case PTEC_BINARY_SUB:
      if (unit) ROW(PTEC_BINARY_SUB, true);
      else ROW(PTEC_BINARY_SUB, false);
      return true;
    case PTEC_BINARY_MUL: ROW(PTEC_BINARY_MUL, true); return true;
    case PTEC_BINARY_DIV: ROW(PTEC_BINARY_DIV, true); return true;
    default: return false;
  }
}

#endif /* PTEC_KERNELS_X86 */
