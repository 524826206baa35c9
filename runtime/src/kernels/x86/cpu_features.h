/*
 * Run-time CPU feature detection for the x86-64 kernel variants
 * (kernels/x86/). Compiled for baseline x86-64, so it is safe to call on any
 * x86-64 CPU; the variants it guards are compiled with -mavx2 -mfma and must
 * only run when it says so.
 *
 * No state of ours: the answer comes from the compiler runtime's own
 * CPUID cache (__builtin_cpu_supports reads libgcc's / compiler-rt's
 * __cpu_model, filled once before main), so each call costs a load and a test.
 */
#ifndef PTEC_KERNELS_X86_CPU_FEATURES_H
#define PTEC_KERNELS_X86_CPU_FEATURES_H

#include <stdbool.h>

/* True when the CPU and the OS support AVX2 and FMA (the OS part: the
 * compiler runtime checks XGETBV for saved YMM state). */
bool ptec_x86_has_avx2_fma(void);

/* True when the CPU and the OS support AVX-512 F, BW, VL and VNNI (the
 * *_avx512.c variants) besides AVX2 and FMA. */
bool ptec_x86_has_avx512_vnni(void);

#endif
