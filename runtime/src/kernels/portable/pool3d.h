/* The geometry the 3-D pooling kernels (op_pool3d.c) hand to their loops (pool3d_body.h). */
#ifndef PTEC_KERNELS_PORTABLE_POOL3D_H
#define PTEC_KERNELS_PORTABLE_POOL3D_H

#include <stdbool.h>
#include <stdint.h>

/* A [C, D, H, W] or [N, C, D, H, W] tensor seen as 5-D. */
typedef struct view5 {
  int64_t n, c, d, h, w;        /* sizes */
  int64_t sn, sc, sd, sh, sw;   /* element strides */
} view5;

/* kernel_size, stride, padding, dilation (depth, height, width); input and out views. */
typedef struct pool3d_params {
  int64_t k[3], s[3], p[3], dil[3];
  view5 in, out;
} pool3d_params;

#endif /* PTEC_KERNELS_PORTABLE_POOL3D_H */
