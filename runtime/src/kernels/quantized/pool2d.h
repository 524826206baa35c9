/*
 * The window parameters ptec::quantized_avg_pool2d and
 * ptec::quantized_max_pool2d share, parsed and checked.
 */
#ifndef PTEC_KERNELS_QUANTIZED_POOL2D_H
#define PTEC_KERNELS_QUANTIZED_POOL2D_H

#include "kernels/quantized/qparams.h"

typedef struct ptec_qpool {
  const ptec_tensor *in;
  ptec_tensor *out;
  ptec_q_view4 x, y;    /* [N, C, H, W] (N = 1 for 3-D tensors) */
  int64_t kernel[2];    /* H, W */
  int64_t stride[2];    /* H, W */
  int64_t pad[4];       /* top, bottom, left, right */
  int64_t dilation[2];  /* H, W (1, 1 for avg_pool2d) */
} ptec_qpool;

/*
 * Reads input (arg 0), kernel (1), stride (2, empty = kernel), padding (3)
 * and, if dilation_arg >= 0, dilation; checks input int8 or int16, rank 3
 * or 4, out of the input's dtype and of the pooled shape, and every pad
 * smaller than the kernel along its dim (TOSA's rule, which also keeps
 * every window on at least one input element).
 */
ptec_status ptec_qpool_setup(ptec_kernel_context *ctx, ptec_qpool *p, int dilation_arg,
                             uint32_t out_arg);

#endif /* PTEC_KERNELS_QUANTIZED_POOL2D_H */
