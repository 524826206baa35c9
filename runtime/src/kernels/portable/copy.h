/*
 * Strided block copies with dtype conversion: the engine behind every
 * shape op (permute, transpose, expand, slice, select, cat, split, pad) and
 * every layout or dtype change (clone, _to_copy, the dim order ops).
 */
#ifndef PTEC_KERNELS_PORTABLE_COPY_H
#define PTEC_KERNELS_PORTABLE_COPY_H

#include <stdint.h>

#include "kernels/kernel.h"

/* One side of a copy: data of `dtype`, element `base + sum(i[d] * strides[d])`. */
typedef struct ptec_block {
  void *data;
  int dtype;
  int64_t base;
  int64_t strides[PTEC_MAX_RANK];
} ptec_block;

/* A block covering all of t in its own layout. */
void ptec_block_of(ptec_block *b, const ptec_tensor *t);

/* A block of t (rank r) at index k of dim with that dim dropped (rank
 * r - 1): select's view. */
void ptec_block_at(ptec_block *b, const ptec_tensor *t, uint32_t dim, int64_t k);

/* select's (int dim, SymInt index) arguments: dim normalised, index in
 * range and made non-negative. */
ptec_status ptec_select_args(ptec_kernel_context *ctx, const ptec_tensor *t, uint32_t dim_arg,
                             uint32_t index_arg, uint32_t *dim, int64_t *index);

/* A slice of dim `dim` (slice_copy / slice_scatter arguments, PyTorch's
 * clamping): its first index, step (clamped so that arithmetic cannot
 * overflow) and length. */
typedef struct ptec_slice {
  uint32_t dim;
  int64_t start, step, length;
} ptec_slice;
ptec_status ptec_slice_args(ptec_kernel_context *ctx, const ptec_tensor *t, uint32_t dim_arg,
                            uint32_t first_arg, ptec_slice *s);

/*
 * Copies the index space `sizes` (rank dims) from src to dst, converting
 * dtypes. `order` is the loop order (outer to inner; NULL: logical), best
 * dst's dim_order so that writes are sequential.
 */
void ptec_copy_block(const ptec_block *dst, const ptec_block *src, uint32_t rank,
                     const int64_t *sizes, const uint8_t *order);

/* out = in, same shape, any dim orders and dtypes. */
ptec_status ptec_copy_tensor(ptec_kernel_context *ctx, ptec_tensor *out, const ptec_tensor *in);

/* out = in reshaped: same numel, elements matched in logical row-major
 * order, any dim orders (view_copy, squeeze, unsqueeze, flatten). */
ptec_status ptec_reshape_copy(ptec_kernel_context *ctx, ptec_tensor *out, const ptec_tensor *in);

#endif /* PTEC_KERNELS_PORTABLE_COPY_H */
