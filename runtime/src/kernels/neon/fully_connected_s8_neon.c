/*
 * NEON variant of the int32 path of ptec::quantized_linear and
 * ptec::quantized_matmul (ptec_qfc_s8 in variants.h): rows of x times rows
 * of w, int8, depth contiguous in both, any zero points and shifts, four
 * rows at a time through this ISA's rows microkernel (gemm_s8_neon.h).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include "kernels/neon/gemm_s8_neon.h"

bool ptec_qfc_s8_neon(const ptec_qfc_s8 *p) {
  return ptec_qfc_s8_by_rows(p, ptec_neon_gemm_s8_pick(p->cpu_features));
}

#endif /* PTEC_KERNELS_NEON */
