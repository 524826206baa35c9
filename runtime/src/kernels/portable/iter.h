/*
 * Strided iteration over up to four operands at once.
 *
 * Every kernel that walks tensors of any dim order goes through ptec_iter:
 * it visits a logical index space row by row, the row being the innermost
 * loop dim, and keeps one element offset per operand. Dims of size 1 are
 * dropped and adjacent dims that are contiguous for every operand are merged,
 * so tensors that share a dense layout collapse to a single row and the
 * kernel's inner loop runs over all of them at once.
 *
 *   ptec_iter it;
 *   for (ptec_iter_init(&it, ...); !it.done; ptec_iter_next(&it))
 *     for (int64_t j = 0; j < it.count; j++)
 *       out[it.offset[0] + j * it.step[0]] = f(in[it.offset[1] + j * it.step[1]]);
 */
#ifndef PTEC_KERNELS_PORTABLE_ITER_H
#define PTEC_KERNELS_PORTABLE_ITER_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernel.h"

#define PTEC_ITER_MAX_OPERANDS 4

typedef struct ptec_iter {
  uint32_t rank;          /* loop dims after merging, outer to inner, >= 1 */
  uint32_t num_operands;
  int64_t count;          /* elements per row */
  int64_t step[PTEC_ITER_MAX_OPERANDS];   /* element stride within a row */
  int64_t offset[PTEC_ITER_MAX_OPERANDS]; /* element offset of the row's start */
  bool done;
  bool empty;             /* the index space has no element */
  int64_t sizes[PTEC_MAX_RANK];
  int64_t strides[PTEC_ITER_MAX_OPERANDS][PTEC_MAX_RANK];
  int64_t index[PTEC_MAX_RANK];
} ptec_iter;

/*
 * Sets up iteration over the logical index space `sizes` (rank dims).
 * `order` lists the logical dims outer to inner (NULL: 0..rank-1); merging
 * never reorders, so the visiting order is that order's row-major order.
 * strides[k][d] is operand k's element stride along logical dim d and
 * base[k] its first offset (NULL: all 0).
 */
void ptec_iter_init(ptec_iter *it, uint32_t rank, const int64_t *sizes, const uint8_t *order,
                    uint32_t num_operands, const int64_t (*strides)[PTEC_MAX_RANK],
                    const int64_t *base);

/* Advances to the next row; sets done after the last. */
void ptec_iter_next(ptec_iter *it);

/* Starts over with new base offsets (NULL: all 0). */
void ptec_iter_restart(ptec_iter *it, const int64_t *base);

/* Strides that read `in` broadcast to `sizes` (rank dims): 0 along dims in
 * lacks or has size 1. False if in does not broadcast to that shape. */
bool ptec_broadcast_strides(const ptec_tensor *in, uint32_t rank, const int64_t *sizes,
                            int64_t strides[PTEC_MAX_RANK]);

/*
 * Checks that out's shape is exactly the broadcast of the inputs' shapes,
 * then sets up `it` over out's elements in out's memory order. Operand 0 is
 * out, operand k+1 is inputs[k] (at most three inputs).
 */
ptec_status ptec_iter_broadcast(ptec_kernel_context *ctx, ptec_iter *it, const ptec_tensor *out,
                                const ptec_tensor *const *inputs, uint32_t num_inputs);

/*
 * Iteration split in two: `outer` over the kept dims and `inner` over the
 * dims marked in `split` (reductions, softmax, layer norm). For each outer
 * element j of the current outer row, ptec_split_iter_inner positions
 * `inner` at that element's slice.
 */
typedef struct ptec_split_iter {
  ptec_iter outer;
  ptec_iter inner;
  int64_t inner_numel;
} ptec_split_iter;

void ptec_split_iter_init(ptec_split_iter *s, uint32_t rank, const int64_t *sizes,
                          const uint8_t *order, const bool *split, uint32_t num_operands,
                          const int64_t (*strides)[PTEC_MAX_RANK]);
void ptec_split_iter_inner(ptec_split_iter *s, int64_t j);

#endif /* PTEC_KERNELS_PORTABLE_ITER_H */
