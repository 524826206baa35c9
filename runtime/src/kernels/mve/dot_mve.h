/*
 * The inner loop of the Helium convolution and fully connected variants:
 * four int8 dot products sharing one input run,
 *
 *   acc[j] += sum_k x[k] * w_j[k],  k < n,
 *
 * 16 MACs per VMLADAVA. The 16-byte blocks run as a low-overhead loop
 * (WLS/LE) written in assembly: five post-incremented loads and four
 * VMLADAVA per block, 10 instructions per 64 MACs. GCC 12 spills
 * accumulators and copies pointers in the same loop written with
 * intrinsics, so the registers are pinned here; VMLADAVA needs its
 * accumulator in an even register. The tail (n % 16 bytes) uses zeroing
 * predicated loads, so lanes past n contribute 0.
 */
#ifndef PTEC_KERNELS_MVE_DOT_MVE_H
#define PTEC_KERNELS_MVE_DOT_MVE_H

#include <arm_mve.h>
#include <stdint.h>

static inline __attribute__((always_inline)) void ptec_mve_dot4(const int8_t *x,
                                                                const int8_t *w0,
                                                                const int8_t *w1,
                                                                const int8_t *w2,
                                                                const int8_t *w3, int32_t n,
                                                                int32_t acc[4]) {
  register int32_t a0 __asm__("r0") = acc[0];
  register int32_t a1 __asm__("r2") = acc[1];
  register int32_t a2 __asm__("r4") = acc[2];
  register int32_t a3 __asm__("r6") = acc[3];
  register const int8_t *px __asm__("r1") = x;
  register const int8_t *p0 __asm__("r3") = w0;
  register const int8_t *p1 __asm__("r5") = w1;
  register const int8_t *p2 __asm__("r8") = w2;
  register const int8_t *p3 __asm__("r9") = w3;
  register uint32_t blocks __asm__("r12") = (uint32_t)n >> 4;
  __asm__ volatile(
      "wls lr, %[blocks], 2f\n"
      "1:\n\t"
      "vldrb.8 q0, [%[px]], #16\n\t"
      "vldrb.8 q1, [%[p0]], #16\n\t"
      "vmladava.s8 %[a0], q0, q1\n\t"
      "vldrb.8 q2, [%[p1]], #16\n\t"
      "vmladava.s8 %[a1], q0, q2\n\t"
      "vldrb.8 q3, [%[p2]], #16\n\t"
      "vmladava.s8 %[a2], q0, q3\n\t"
      "vldrb.8 q1, [%[p3]], #16\n\t"
      "vmladava.s8 %[a3], q0, q1\n\t"
      "le lr, 1b\n"
      "2:"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [px] "+r"(px),
        [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [p3] "+r"(p3)
      : [blocks] "r"(blocks)
      : "q0", "q1", "q2", "q3", "lr", "memory");
  int32_t rest = n & 15;
  if (rest) {
    mve_pred16_t p = vctp8q((uint32_t)rest);
    int8x16_t xv = vldrbq_z_s8(px, p);
    a0 = vmladavaq_s8(a0, xv, vldrbq_z_s8(p0, p));
    a1 = vmladavaq_s8(a1, xv, vldrbq_z_s8(p1, p));
    a2 = vmladavaq_s8(a2, xv, vldrbq_z_s8(p2, p));
    a3 = vmladavaq_s8(a3, xv, vldrbq_z_s8(p3, p));
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/*
 * Two dot products and the sums of both weight runs (for the input zero
 * point's term, sum (x - izp) w = sum x w - izp sum w): out = {x.w0, x.w1,
 * sum w0, sum w1}. Eight instructions per 32 MACs.
 */
static inline __attribute__((always_inline)) void ptec_mve_dot2_sums(const int8_t *x,
                                                                     const int8_t *w0,
                                                                     const int8_t *w1,
                                                                     int32_t n,
                                                                     int32_t out[4]) {
  register int32_t a0 __asm__("r0") = 0;
  register int32_t a1 __asm__("r2") = 0;
  register int32_t s0 __asm__("r4") = 0;
  register int32_t s1 __asm__("r6") = 0;
  register const int8_t *px __asm__("r1") = x;
  register const int8_t *p0 __asm__("r3") = w0;
  register const int8_t *p1 __asm__("r5") = w1;
  register uint32_t blocks __asm__("r12") = (uint32_t)n >> 4;
  __asm__ volatile(
      "wls lr, %[blocks], 2f\n"
      "1:\n\t"
      "vldrb.8 q0, [%[px]], #16\n\t"
      "vldrb.8 q1, [%[p0]], #16\n\t"
      "vmladava.s8 %[a0], q0, q1\n\t"
      "vaddva.s8 %[s0], q1\n\t"
      "vldrb.8 q2, [%[p1]], #16\n\t"
      "vmladava.s8 %[a1], q0, q2\n\t"
      "vaddva.s8 %[s1], q2\n\t"
      "le lr, 1b\n"
      "2:"
      : [a0] "+r"(a0), [a1] "+r"(a1), [s0] "+r"(s0), [s1] "+r"(s1), [px] "+r"(px),
        [p0] "+r"(p0), [p1] "+r"(p1)
      : [blocks] "r"(blocks)
      : "q0", "q1", "q2", "lr", "memory");
  int32_t rest = n & 15;
  if (rest) {
    mve_pred16_t p = vctp8q((uint32_t)rest);
    int8x16_t xv = vldrbq_z_s8(px, p), v0 = vldrbq_z_s8(p0, p), v1 = vldrbq_z_s8(p1, p);
    a0 = vmladavaq_s8(a0, xv, v0);
    a1 = vmladavaq_s8(a1, xv, v1);
    s0 = vaddvaq_s8(s0, v0);
    s1 = vaddvaq_s8(s1, v1);
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = s0;
  out[3] = s1;
}

#endif /* PTEC_KERNELS_MVE_DOT_MVE_H */
