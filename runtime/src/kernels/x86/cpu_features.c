/* Run-time CPU feature detection (cpu_features.h). Baseline x86-64 code. */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include "kernels/x86/cpu_features.h"

bool ptec_x86_has_avx2_fma(void) {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool ptec_x86_has_avx512_vnni(void) {
  return ptec_x86_has_avx2_fma() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
}

#endif /* PTEC_KERNELS_X86 */
