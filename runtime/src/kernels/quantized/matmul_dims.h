/*
 * The shapes of a matrix product of two activations (quantized_matmul,
 * quantized_matmul16): a [..., M, K] @ b [..., K, N] -> out [..., M, N],
 * the batch dims broadcast as in torch.matmul, both operands at least 2-D.
 */
#ifndef PTEC_KERNELS_QUANTIZED_MATMUL_DIMS_H
#define PTEC_KERNELS_QUANTIZED_MATMUL_DIMS_H

#include "kernels/kernel.h"

typedef struct ptec_q_matmul_dims {
  uint32_t batch_rank;
  int64_t batch[PTEC_MAX_RANK];
  int64_t m, k, n;
} ptec_q_matmul_dims;

/* Fills *d from a and b and checks out's shape (SHAPE_MISMATCH, named). */
ptec_status ptec_q_matmul_dims_of(ptec_kernel_context *ctx, const ptec_tensor *a,
                                  const ptec_tensor *b, const ptec_tensor *out,
                                  ptec_q_matmul_dims *d);

/* Strides of t's batch dims, broadcast to `rank` dims (0 where t has size
 * 1 or lacks the dim). */
void ptec_q_matmul_batch_strides(const ptec_tensor *t, uint32_t rank, int64_t out[PTEC_MAX_RANK]);

#endif
