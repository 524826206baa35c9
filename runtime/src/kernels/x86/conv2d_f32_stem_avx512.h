/*
 * The stride-2 float32 convolution of conv2d_f32_stem_avx512.c (AVX-512F),
 * tried by conv2d_f32_implicit_avx512.c's entry point: false when it
 * declines (then the im2col strip path runs).
 */
#ifndef PTEC_KERNELS_X86_CONV2D_F32_STEM_AVX512_H
#define PTEC_KERNELS_X86_CONV2D_F32_STEM_AVX512_H

#include <stdbool.h>

struct ptec_conv_f32;
bool ptec_avx512_conv_f32_stem(const struct ptec_conv_f32 *p);

#endif
