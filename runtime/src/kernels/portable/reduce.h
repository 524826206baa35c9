/*
 * Reductions over a set of dims: argument parsing, the out-shape check, and
 * the iteration split into kept dims (one out element each) and reduced
 * dims (the slice that element summarises).
 */
#ifndef PTEC_KERNELS_PORTABLE_REDUCE_H
#define PTEC_KERNELS_PORTABLE_REDUCE_H

#include <stdbool.h>

#include "kernels/kernel.h"
#include "kernels/portable/iter.h"

/* Marks the dims of a dim-list argument ('L' or 'l'); None or an empty list
 * marks every dim, as PyTorch's reductions do. Repeats and out-of-range dims
 * fail. */
ptec_status ptec_reduce_dims_from_list(ptec_kernel_context *ctx, uint32_t arg, uint32_t rank,
                                       bool mask[PTEC_MAX_RANK]);

/* Marks one dim ('i' or 'I'); None marks every dim. */
ptec_status ptec_reduce_dims_from_int(ptec_kernel_context *ctx, uint32_t arg, uint32_t rank,
                                      bool mask[PTEC_MAX_RANK]);

/*
 * Checks that out has the shape of `in` reduced over `mask` (removed, or
 * kept as size 1 with keepdim), then sets up `s` with operand 0 = out and
 * operand 1 = in. Loops follow in's memory order, or logical order when
 * `logical` (argmax needs slices visited in flattened-index order).
 */
ptec_status ptec_reduce_init(ptec_kernel_context *ctx, ptec_split_iter *s, const ptec_tensor *in,
                             const bool *mask, bool keepdim, const ptec_tensor *out,
                             bool logical);

/* Each out element j of the current outer row, and its offset in out. */
#define FOR_EACH_OUT(s, j)                                          \
  for (; !(s).outer.done; ptec_iter_next(&(s).outer))               \
    for (int64_t j = 0; j < (s).outer.count; j++)

#define OUT_INDEX(s, j) ((s).outer.offset[0] + (j) * (s).outer.step[0])

#endif /* PTEC_KERNELS_PORTABLE_REDUCE_H */
