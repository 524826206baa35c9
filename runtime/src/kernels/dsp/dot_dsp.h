/*
 * Int8 dot products with the Arm DSP extension (Cortex-M4, M7, M33).
 *
 * Four int8 values per 32-bit load are widened in pairs to int16 halfwords
 * with SXTB16 (bytes 0 and 2) and SXTB16 ROR #8 (bytes 1 and 3); SMLAD
 * then adds two int16 products to an int32 accumulator. The input side is
 * widened once, ahead of the loops, with its zero point subtracted
 * (SXTAB16 adds -zp to both halves; x - zp fits int16), into words
 * {x0 x2, x1 x3} per four bytes: ptec_dsp_widen. The weight side is
 * widened in the loop (weight_zp must be 0 there).
 *
 * The inner loops are assembly: GCC 12 spills in them otherwise.
 */
#ifndef PTEC_KERNELS_DSP_DOT_DSP_H
#define PTEC_KERNELS_DSP_DOT_DSP_H

#include <arm_acle.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/quantized/qparams.h"

#define PTEC_DSP_INLINE static inline __attribute__((always_inline))

/* Four bytes from any address (LDR allows unaligned access on v7-M). */
PTEC_DSP_INLINE uint32_t ptec_dsp_read4(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* -zp in both halfwords: SXTAB16's addend. */
PTEC_DSP_INLINE int32_t ptec_dsp_neg_zp2(int32_t zp) {
  uint32_t h = (uint32_t)(-zp) & 0xFFFFu;
  return (int32_t)(h | (h << 16));
}

/* Bytes 0 and 2 of v minus zp (nzp2 = ptec_dsp_neg_zp2(zp)), as halfwords. */
PTEC_DSP_INLINE int32_t ptec_dsp_even(uint32_t v, int32_t nzp2) {
  return __sxtab16(nzp2, (int32_t)v);
}

/* Bytes 1 and 3 of v minus zp. */
PTEC_DSP_INLINE int32_t ptec_dsp_odd(uint32_t v, int32_t nzp2) {
  return __sxtab16(nzp2, (int32_t)((v >> 8) | (v << 24)));
}

/*
 * acc[j] += sum_k (x[k] - xzp) * (w_j[k] - wzp) for k < n and four weight
 * runs w_j, in C (any zero points: nx2 and nw2 are the negated zero points
 * in both halfwords); the general paths use it.
 */
PTEC_DSP_INLINE void ptec_dsp_dot4(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                   const int8_t *w2, const int8_t *w3, int32_t n, int32_t nx2,
                                   int32_t nw2, int32_t acc[4]) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int32_t k = n;
  for (; k >= 4; k -= 4) {
    uint32_t xv = ptec_dsp_read4(x);
    int32_t xe = ptec_dsp_even(xv, nx2), xo = ptec_dsp_odd(xv, nx2);
    uint32_t v = ptec_dsp_read4(w0);
    a0 = __smlad(xe, ptec_dsp_even(v, nw2), a0);
    a0 = __smlad(xo, ptec_dsp_odd(v, nw2), a0);
    v = ptec_dsp_read4(w1);
    a1 = __smlad(xe, ptec_dsp_even(v, nw2), a1);
    a1 = __smlad(xo, ptec_dsp_odd(v, nw2), a1);
    v = ptec_dsp_read4(w2);
    a2 = __smlad(xe, ptec_dsp_even(v, nw2), a2);
    a2 = __smlad(xo, ptec_dsp_odd(v, nw2), a2);
    v = ptec_dsp_read4(w3);
    a3 = __smlad(xe, ptec_dsp_even(v, nw2), a3);
    a3 = __smlad(xo, ptec_dsp_odd(v, nw2), a3);
    x += 4;
    w0 += 4;
    w1 += 4;
    w2 += 4;
    w3 += 4;
  }
  /* The low half of -nx2 is the zero point. */
  const int32_t xzp = -(int32_t)(int16_t)(nx2 & 0xFFFF), wzp = -(int32_t)(int16_t)(nw2 & 0xFFFF);
  for (; k > 0; k--) {
    int32_t xk = *x++ - xzp;
    a0 += xk * (*w0++ - wzp);
    a1 += xk * (*w1++ - wzp);
    a2 += xk * (*w2++ - wzp);
    a3 += xk * (*w3++ - wzp);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* Widens n bytes of x (n a multiple of 4) minus zp into words, two per four
 * bytes, `stride` words apart per four bytes (2: one run, 4: two runs
 * interleaved, see ptec_dsp_dot_2x2). */
PTEC_DSP_INLINE void ptec_dsp_widen(const int8_t *x, int32_t n, int32_t zp, int32_t *out,
                                    int32_t stride) {
  const int32_t nzp2 = ptec_dsp_neg_zp2(zp);
  for (int32_t k = 0; k < n; k += 4, x += 4, out += stride) {
    uint32_t v = ptec_dsp_read4(x);
    out[0] = ptec_dsp_even(v, nzp2);
    out[1] = ptec_dsp_odd(v, nzp2);
  }
}

/*
 * Two pixels times two weight rows: acc = {p0.w0, p0.w1, p1.w0, p1.w1} for
 * `quads` groups of four bytes; xw holds both pixels widened and
 * interleaved, four words per four bytes: {p0 even, p0 odd, p1 even, p1 odd}.
 * 17 instructions per 16 MACs (two groups per loop iteration; the loop
 * count lives in memory: every register is taken).
 */
PTEC_DSP_INLINE void ptec_dsp_dot_2x2(const int32_t *xw, const int8_t *w0, const int8_t *w1,
                                      int32_t quads, int32_t acc[4]) {
  register int32_t a0 __asm__("r0") = acc[0];
  register int32_t a1 __asm__("r1") = acc[1];
  register int32_t a2 __asm__("r2") = acc[2];
  register int32_t a3 __asm__("r3") = acc[3];
  register const int32_t *px __asm__("r10") = xw;
  register const int8_t *p0 __asm__("r11") = w0;
  register const int8_t *p1 __asm__("lr") = w1;
  int32_t count = quads;
#if !defined(__OPTIMIZE__) /* -O0 keeps a frame pointer: too few registers for the assembly */
  for (; count > 0; count--, xw += 4, w0 += 4, w1 += 4) {
    uint32_t v = ptec_dsp_read4(w0);
    int32_t e = __sxtb16((int32_t)v), o = ptec_dsp_odd(v, 0);
    a0 = __smlad(xw[1], o, __smlad(xw[0], e, a0));
    a2 = __smlad(xw[3], o, __smlad(xw[2], e, a2));
    v = ptec_dsp_read4(w1);
    e = __sxtb16((int32_t)v), o = ptec_dsp_odd(v, 0);
    a1 = __smlad(xw[1], o, __smlad(xw[0], e, a1));
    a3 = __smlad(xw[3], o, __smlad(xw[2], e, a3));
  }
  (void)px, (void)p0, (void)p1;
#else
  if (count & 1) /* one quad, then pairs of quads per loop iteration */
    __asm__ volatile(
        "ldm %[px]!, {r4, r5, r6, r8}\n\t"
        "ldr r9, [%[p0]], #4\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a0], r4, r12, %[a0]\n\t"
        "smlad %[a0], r5, r9, %[a0]\n\t"
        "smlad %[a2], r6, r12, %[a2]\n\t"
        "smlad %[a2], r8, r9, %[a2]\n\t"
        "ldr r9, [%[p1]], #4\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a1], r4, r12, %[a1]\n\t"
        "smlad %[a1], r5, r9, %[a1]\n\t"
        "smlad %[a3], r6, r12, %[a3]\n\t"
        "smlad %[a3], r8, r9, %[a3]"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [px] "+r"(px),
          [p0] "+r"(p0), [p1] "+r"(p1), [n] "+m"(count)
        :
        : "r4", "r5", "r6", "r8", "r9", "r12", "memory", "cc");
  count >>= 1;
  if (count > 0)
    __asm__ volatile(
        "1:\n\t"
        "ldm %[px]!, {r4, r5, r6, r8}\n\t"
        "ldr r9, [%[p0]], #4\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a0], r4, r12, %[a0]\n\t"
        "smlad %[a0], r5, r9, %[a0]\n\t"
        "smlad %[a2], r6, r12, %[a2]\n\t"
        "smlad %[a2], r8, r9, %[a2]\n\t"
        "ldr r9, [%[p1]], #4\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a1], r4, r12, %[a1]\n\t"
        "smlad %[a1], r5, r9, %[a1]\n\t"
        "smlad %[a3], r6, r12, %[a3]\n\t"
        "smlad %[a3], r8, r9, %[a3]\n\t"
        "ldm %[px]!, {r4, r5, r6, r8}\n\t"
        "ldr r9, [%[p0]], #4\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a0], r4, r12, %[a0]\n\t"
        "smlad %[a0], r5, r9, %[a0]\n\t"
        "smlad %[a2], r6, r12, %[a2]\n\t"
        "smlad %[a2], r8, r9, %[a2]\n\t"
        "ldr r9, [%[p1]], #4\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a1], r4, r12, %[a1]\n\t"
        "smlad %[a1], r5, r9, %[a1]\n\t"
        "smlad %[a3], r6, r12, %[a3]\n\t"
        "smlad %[a3], r8, r9, %[a3]\n\t"
        "ldr r9, %[n]\n\t"
        "subs r9, r9, #1\n\t"
        "str r9, %[n]\n\t"
        "bne 1b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [px] "+r"(px),
          [p0] "+r"(p0), [p1] "+r"(p1), [n] "+m"(count)
        :
        : "r4", "r5", "r6", "r8", "r9", "r12", "memory", "cc");
#endif
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/*
 * One pixel (xw: two words per four bytes) times four weight rows w, w +
 * ws, w + 2 ws, w + 3 ws: acc[j] += x.w_j over `quads` groups of four
 * bytes. 24 instructions per 16 MACs.
 */
PTEC_DSP_INLINE void ptec_dsp_dot_1x4(const int32_t *xw, const int8_t *w, ptrdiff_t ws,
                                      int32_t quads, int32_t acc[4]) {
  register int32_t a0 __asm__("r0") = acc[0];
  register int32_t a1 __asm__("r1") = acc[1];
  register int32_t a2 __asm__("r2") = acc[2];
  register int32_t a3 __asm__("r3") = acc[3];
  register const int32_t *px __asm__("r10") = xw;
  register const int8_t *pw __asm__("r11") = w;
  register ptrdiff_t s1 __asm__("r6") = ws;
  register ptrdiff_t s3 __asm__("r8") = 3 * ws;
  register int32_t n __asm__("lr") = quads;
  if (quads > 0)
    __asm__ volatile(
        "1:\n\t"
        "ldrd r4, r5, [%[px]], #8\n\t"
        "ldr r9, [%[pw]]\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a0], r4, r12, %[a0]\n\t"
        "smlad %[a0], r5, r9, %[a0]\n\t"
        "ldr r9, [%[pw], %[s1]]\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a1], r4, r12, %[a1]\n\t"
        "smlad %[a1], r5, r9, %[a1]\n\t"
        "ldr r9, [%[pw], %[s1], lsl #1]\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a2], r4, r12, %[a2]\n\t"
        "smlad %[a2], r5, r9, %[a2]\n\t"
        "ldr r9, [%[pw], %[s3]]\n\t"
        "sxtb16 r12, r9\n\t"
        "sxtb16 r9, r9, ror #8\n\t"
        "smlad %[a3], r4, r12, %[a3]\n\t"
        "smlad %[a3], r5, r9, %[a3]\n\t"
        "adds %[pw], %[pw], #4\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [px] "+r"(px),
          [pw] "+r"(pw), [n] "+r"(n)
        : [s1] "r"(s1), [s3] "r"(s3)
        : "r4", "r5", "r9", "r12", "memory", "cc");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/*
 * apply_scale_32 for shift >= 32 from the 64-bit product's words: with
 * P = hi * 2^32 + lo, (P + 2^(s-1)) >> s is (hi + 2^(s-33)) >> (s-32) for
 * s >= 33 (the low word cannot carry into the rounding bit) and hi + (lo >>
 * 31) for s == 32; |result| < 2^30, so it never saturates. One SMULL and a
 * few ALU instructions, no 64-bit shifts.
 */
PTEC_DSP_INLINE int32_t ptec_dsp_scale_high(int32_t v, int32_t m, int32_t s) {
  const int64_t prod = (int64_t)v * m;
  const int32_t hi = (int32_t)(uint32_t)((uint64_t)prod >> 32);
  if (s == 32) return hi + (int32_t)((uint32_t)prod >> 31);
  const int32_t k = s - 32;
  /* arithmetic >> (GCC and Clang define it for negative values) */
  return (hi + (1 << (k - 1))) >> k;
}

/* ptec_q_requantize for an int32 accumulator and bias: QADD saturates the
 * bias add; shifts below 32 take the reference's function. */
PTEC_DSP_INLINE int32_t ptec_dsp_requantize(int32_t acc, int32_t bias, int32_t m, int32_t s,
                                            int32_t zp, int32_t lo, int32_t hi) {
  if (s < 32) return ptec_q_requantize(acc, bias, m, s, zp, lo, hi);
  int32_t r = ptec_dsp_scale_high(__qadd(acc, bias), m, s) + zp;
  return r < lo ? lo : r > hi ? hi : r;
}

#endif /* PTEC_KERNELS_DSP_DOT_DSP_H */
