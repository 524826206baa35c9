/*
 * Advanced indexing (index.Tensor, index_put): which dims of self the
 * `Tensor?[] indices` list indexes, the broadcast shape B of the index
 * tensors, and the shape of the result: the dims of self that are not
 * indexed, with B in place of the indexed ones when they are adjacent, else
 * in front (PyTorch's rule).
 */
#ifndef PTEC_KERNELS_PORTABLE_INDEX_H
#define PTEC_KERNELS_PORTABLE_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernel.h"

typedef struct ptec_index_plan {
  const ptec_tensor *self;
  const ptec_tensor *index[PTEC_MAX_RANK]; /* per dim of self; NULL: the whole dim */
  int64_t index_strides[PTEC_MAX_RANK][PTEC_MAX_RANK]; /* broadcast to B */
  uint32_t b_rank, b_pos;     /* B's rank and its first dim in the result */
  int64_t b_sizes[PTEC_MAX_RANK];
  uint32_t kept[PTEC_MAX_RANK], num_kept; /* self's dims that are not indexed */
  uint32_t rank;              /* the result's */
  int64_t sizes[PTEC_MAX_RANK];
} ptec_index_plan;

/* Reads argument `arg` (a Tensor?[] list) against self. Integer index
 * tensors only: a bool mask gives a data-dependent shape. */
ptec_status ptec_index_plan_init(ptec_kernel_context *ctx, ptec_index_plan *p,
                                 const ptec_tensor *self, uint32_t arg);

/* The element offset in a tensor of self's shape with `strides` of the
 * result's element at logical position `pos`; OUT_OF_RANGE for an index
 * outside its dim. */
ptec_status ptec_index_offset(ptec_kernel_context *ctx, const ptec_index_plan *p,
                              const int64_t *pos, const int64_t *strides, int64_t *offset);

/* out[dst] += src[si] (floats in float32, integers wrapping in int64, bools
 * or'ed): index_put with accumulate and scatter_add. */
void ptec_accumulate_element(ptec_tensor *out, int64_t dst, const ptec_tensor *src, int64_t si);

/* Advances `pos` over `sizes` in row-major order; false after the last. */
bool ptec_index_next(int64_t *pos, const int64_t *sizes, uint32_t rank);

#endif /* PTEC_KERNELS_PORTABLE_INDEX_H */
