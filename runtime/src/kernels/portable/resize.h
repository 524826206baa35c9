/*
 * Bounded dynamic shapes (DYNAMIC_BOUND tensors, docs/runtime.md): a kernel
 * whose output size depends on its inputs' current sizes or on the data
 * (nonzero, masked_select) sets that output's shape here. A dynamic output
 * takes any shape of the same rank whose bytes fit its planned upper bound;
 * a static one must already have exactly that shape.
 */
#ifndef PTEC_KERNELS_PORTABLE_RESIZE_H
#define PTEC_KERNELS_PORTABLE_RESIZE_H

#include "kernels/kernel.h"

/* Gives `t` the shape `sizes` (rank entries): resized when it is dynamic,
 * else checked (SHAPE_MISMATCH, naming `name`). A shape past the bound fails
 * with OUT_OF_RANGE and leaves `t` unchanged. */
ptec_status ptec_tensor_resize(ptec_kernel_context *ctx, ptec_tensor *t, const int64_t *sizes,
                               uint32_t rank, const char *name);

#endif /* PTEC_KERNELS_PORTABLE_RESIZE_H */
