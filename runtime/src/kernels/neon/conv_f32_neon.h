/*
 * The NEON float32 convolution variants beside conv2d_f32_neon.c's GEMM
 * (portable/variants.h's ptec_conv_f32): each returns false, writing nothing,
 * when the call does not qualify.
 */
#ifndef PTEC_KERNELS_NEON_CONV_F32_NEON_H
#define PTEC_KERNELS_NEON_CONV_F32_NEON_H

#include <stdbool.h>

#include "kernels/portable/variants.h"

/* Depthwise (groups == C == OC), output rows contiguous
 * (depthwise_conv2d_f32_neon.c). */
bool ptec_depthwise_f32_neon(const ptec_conv_f32 *p);

/* Groups 1, OIHW filters, output planes of fewer than 16 pixels
 * (conv2d_f32_small_neon.c). */
bool ptec_conv_f32_small_neon(const ptec_conv_f32 *p);

#endif /* PTEC_KERNELS_NEON_CONV_F32_NEON_H */
