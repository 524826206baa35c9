/* convolution.out on [N, C, D, H, W] (op_convolution.c hands rank-5 calls here). */
#ifndef PTEC_KERNELS_PORTABLE_CONV3D_H
#define PTEC_KERNELS_PORTABLE_CONV3D_H

#include "kernels/kernel.h"

/* Arguments as convolution.out's, transposed already refused. */
ptec_status ptec_conv3d_f32(ptec_kernel_context *ctx, const ptec_tensor *in,
                            const ptec_tensor *w, const ptec_tensor *bias, ptec_tensor *out);

#endif /* PTEC_KERNELS_PORTABLE_CONV3D_H */
