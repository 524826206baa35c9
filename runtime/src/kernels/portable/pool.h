/* The geometry the pooling kernels (op_pool.c) hand to their loops (pool_body.h). */
#ifndef PTEC_KERNELS_PORTABLE_POOL_H
#define PTEC_KERNELS_PORTABLE_POOL_H

#include <stdbool.h>
#include <stdint.h>

/* A [C, H, W] or [N, C, H, W] tensor seen as 4-D. */
typedef struct view4 {
  int64_t n, c, h, w;    /* sizes */
  int64_t sn, sc, sh, sw; /* element strides */
} view4;

/* kernel_size, stride, padding, dilation; input and out views. */
typedef struct pool_params {
  int64_t k[2], s[2], p[2], d[2];
  view4 in, out;
} pool_params;

/* PyTorch's pooling_output_shape (2-D and 3-D pools, op_pool.c, op_pool3d.c): the
 * pooled size of one axis; floor division, so ceil_mode's extra window counts. */
static inline int64_t ptec_pool_out_size(int64_t in, int64_t k, int64_t pad, int64_t stride,
                                         int64_t dil, bool ceil_mode) {
  int64_t span = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = span / stride + ((span % stride != 0 && span < 0) ? 0 : 1); /* floor + 1 */
  if (ceil_mode && (out - 1) * stride >= in + pad) out--;
  return out;
}

/* The loops on float16 / bfloat16 (op_pool_half.c); bf: bfloat16. */
void ptec_avg_pool2d_half(const void *x, void *y, const pool_params *pp, bool include_pad,
                          int64_t divisor, bool bf);
void ptec_max_pool2d_half(const void *x, void *y, int64_t *yi, view4 X, const pool_params *pp,
                          bool bf);
void ptec_adaptive_avg_pool2d_half(const void *x, void *y, view4 I, view4 O, bool bf);

#endif /* PTEC_KERNELS_PORTABLE_POOL_H */
