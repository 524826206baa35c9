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

/* The loops on float16 / bfloat16 (op_pool3d_half.c); bf: bfloat16. yi: the indices
 * tensor's data, X its view. */
void ptec_avg_pool3d_half(const void *x, void *y, const pool3d_params *pp, bool include_pad,
                          int64_t divisor, bool bf);
void ptec_max_pool3d_half(const void *x, void *y, int64_t *yi, view5 X,
                          const pool3d_params *pp, bool bf);
/* yi NULL: the average pool; else the max pool and its indices. */
void ptec_adaptive_pool3d_half(const void *x, void *y, int64_t *yi, view5 X, view5 I, view5 O,
                               bool bf);

#endif /* PTEC_KERNELS_PORTABLE_POOL3D_H */
