/*
 * The microkernels of ptec::quantized_conv2d_packed on AArch64 (the panels
 * of conv2d.h's ptec_qconv_packed, packed at compile time for the cortex-a76
 * target: panel[b][k / 4][c][k % 4] = w[32 b + c][k]): 4 pixels by the 16
 * channels of half a panel, raw int8 sums (no zero points) added to c[r][q],
 * pixel r's channels 4q .. 4q + 3, over values i .. kp - 1 of k (i a multiple
 * of 4; w is the half panel's start). conv2d_s8_packed_dotprod.c has the
 * driver and the SDOT version, conv2d_s8_packed_i8mm.c the SMMLA one.
 */
#ifndef PTEC_KERNELS_NEON_PACKED_S8_NEON_H
#define PTEC_KERNELS_NEON_PACKED_S8_NEON_H

#include <arm_neon.h>
#include <stdint.h>

#include "kernels/neon/requantize_neon.h"
#include "kernels/quantized/conv2d.h"

/* Needs dotprod. */
void ptec_neon_dot_4x16_sdot(const int8_t *const x[4], const int8_t *w, int32_t i, int32_t kp,
                             int32x4_t c[4][4]);
/* Needs dotprod and i8mm. */
void ptec_neon_dot_4x16_i8mm(const int8_t *const x[4], const int8_t *w, int32_t i, int32_t kp,
                             int32x4_t c[4][4]);

#endif /* PTEC_KERNELS_NEON_PACKED_S8_NEON_H */
