/*
 * NEON variant of ptec::quantized_conv2d (not depthwise): int8, NHWC input,
 * OHWI weights whose filters are contiguous runs, groups 1, any zero points,
 * shifts, strides, padding and dilation: quantized/gemm_s8.h's driver (four
 * output pixels at a time, 1x1 in place, im2col otherwise) over this ISA's
 * rows microkernel (gemm_s8_neon.h: SMLAL, SDOT or SMMLA by the CPU's features).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include "kernels/neon/gemm_s8_neon.h"

bool ptec_qconv_s8_neon(const ptec_qconv *p) {
  return ptec_qconv_s8_by_rows(p, ptec_neon_gemm_s8_pick(p->cpu_features));
}

#endif /* PTEC_KERNELS_NEON */
