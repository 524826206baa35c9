/*
 * AVX2 variant of ptec::quantized_conv2d (not depthwise): int8, NHWC input,
 * OHWI weights whose filters are contiguous runs, groups 1, any zero points,
 * shifts, strides, padding and dilation: quantized/gemm_s8.h's driver (four
 * output pixels at a time, 1x1 in place, im2col otherwise) over this ISA's
 * rows microkernel (gemm_s8_avx2.h).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include "kernels/x86/gemm_s8_avx2.h"

bool ptec_qconv_s8_avx2(const ptec_qconv *p) {
  return ptec_qconv_s8_by_rows(p, ptec_avx2_gemm_s8_rows);
}

#endif /* PTEC_KERNELS_X86 */
