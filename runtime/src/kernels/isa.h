/*
 * Which instruction-set variants of the kernels this build compiles, chosen
 * at build time from the compiler's target (microcontrollers have no CPU
 * feature registers worth probing at run time):
 *
 *   PTEC_KERNELS_MVE  Arm Helium (M-profile Vector Extension, integer):
 *                     Cortex-M55, M85. Variants in kernels/mve/.
 *   PTEC_KERNELS_DSP  Arm DSP extension (SMLAD and other 16-bit SIMD on
 *                     general registers) without MVE: Cortex-M4, M7, M33.
 *                     Variants in kernels/dsp/.
 *   PTEC_KERNELS_X86  x86-64 with GCC or Clang: AVX2+FMA variants in
 *                     kernels/x86/, compiled with -mavx2 -mfma per file and
 *                     chosen at run time by CPU feature detection
 *                     (kernels/x86/cpu_features.h); the rest of the build
 *                     stays baseline x86-64.
 *   PTEC_KERNELS_NEON  AArch64 (NEON is baseline there) with GCC or Clang:
 *                     variants in kernels/neon/.
 *   PTEC_KERNELS_NEON_DOTPROD  ... and this file is compiled for a CPU with the
 *                     Armv8.2-A dot-product instructions (__ARM_FEATURE_DOTPROD):
 *                     the whole build (-mcpu=cortex-a76: PTEC_AARCH64_CPU in
 *                     cmake/toolchains/aarch64-linux.cmake), or only this file:
 *                     every AArch64 build compiles kernels/neon/ *_dotprod.c with
 *                     -march=armv8.2-a+dotprod and *_i8mm.c with +dotprod+i8mm
 *                     (runtime/CMakeLists.txt), and baseline files run them only
 *                     when the build has the feature or the CPU reports it at run
 *                     time (PTEC_CPU_* bits, ptec_method_set_cpu_features).
 *   PTEC_KERNELS_NEON_I8MM  ... and with the Armv8.6-A int8 matrix multiply
 *                     (SMMLA, __ARM_FEATURE_MATMUL_INT8).
 *
 * At most one of MVE, DSP, X86 and NEON is 1. Defining PTEC_KERNELS_REFERENCE_ONLY (CMake:
 * -DPTEC_ISA_KERNELS=OFF) turns both off, so the same sources build the
 * plain C reference for any target; the kernel tests and the benchmark use
 * it to run reference and variant side by side.
 */
#ifndef PTEC_KERNELS_ISA_H
#define PTEC_KERNELS_ISA_H

#if !defined(PTEC_KERNELS_REFERENCE_ONLY) && defined(__ARM_FEATURE_MVE) && \
    (__ARM_FEATURE_MVE & 1)
#define PTEC_KERNELS_MVE 1
#else
#define PTEC_KERNELS_MVE 0
#endif

#if !defined(PTEC_KERNELS_REFERENCE_ONLY) && !PTEC_KERNELS_MVE && \
    defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define PTEC_KERNELS_DSP 1
#else
#define PTEC_KERNELS_DSP 0
#endif

#if !defined(PTEC_KERNELS_REFERENCE_ONLY) && defined(__x86_64__) && \
    (defined(__GNUC__) || defined(__clang__))
#define PTEC_KERNELS_X86 1
#else
#define PTEC_KERNELS_X86 0
#endif

#if !defined(PTEC_KERNELS_REFERENCE_ONLY) && defined(__aarch64__) && \
    (defined(__GNUC__) || defined(__clang__))
#define PTEC_KERNELS_NEON 1
#else
#define PTEC_KERNELS_NEON 0
#endif

#if PTEC_KERNELS_NEON && defined(__ARM_FEATURE_DOTPROD) && __ARM_FEATURE_DOTPROD
#define PTEC_KERNELS_NEON_DOTPROD 1
#else
#define PTEC_KERNELS_NEON_DOTPROD 0
#endif

#if PTEC_KERNELS_NEON_DOTPROD && defined(__ARM_FEATURE_MATMUL_INT8) && \
    __ARM_FEATURE_MATMUL_INT8
#define PTEC_KERNELS_NEON_I8MM 1
#else
#define PTEC_KERNELS_NEON_I8MM 0
#endif

/* The name of the variant set compiled in, for logs and benchmarks. */
#if PTEC_KERNELS_MVE
#define PTEC_KERNELS_ISA_NAME "mve"
#elif PTEC_KERNELS_DSP
#define PTEC_KERNELS_ISA_NAME "dsp"
#elif PTEC_KERNELS_X86
#define PTEC_KERNELS_ISA_NAME "x86"
#elif PTEC_KERNELS_NEON_DOTPROD
#define PTEC_KERNELS_ISA_NAME "neon-dotprod"
#elif PTEC_KERNELS_NEON
#define PTEC_KERNELS_ISA_NAME "neon"
#else
#define PTEC_KERNELS_ISA_NAME "reference"
#endif

#endif /* PTEC_KERNELS_ISA_H */
