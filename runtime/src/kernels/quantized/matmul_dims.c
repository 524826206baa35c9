/* Shapes of quantized_matmul and quantized_matmul16 (matmul_dims.h). */
#include "kernels/quantized/matmul_dims.h"

#include "kernels/portable/common.h"

ptec_status ptec_q_matmul_dims_of(ptec_kernel_context *ctx, const ptec_tensor *a,
                                  const ptec_tensor *b, const ptec_tensor *out,
                                  ptec_q_matmul_dims *d) {
  PTEC_CHECK(ctx, a->rank >= 2 && b->rank >= 2, PTEC_STATUS_SHAPE_MISMATCH,
             "a and b must be at least 2-D, got ranks %u and %u", (unsigned)a->rank,
             (unsigned)b->rank);
  d->m = a->sizes[a->rank - 2];
  d->k = a->sizes[a->rank - 1];
  d->n = b->sizes[b->rank - 1];
  PTEC_CHECK(ctx, b->sizes[b->rank - 2] == d->k, PTEC_STATUS_SHAPE_MISMATCH,
             "a has %lld columns but b has %lld rows", (long long)d->k,
             (long long)b->sizes[b->rank - 2]);
  uint32_t ra = a->rank - 2u, rb = b->rank - 2u;
  d->batch_rank = ra > rb ? ra : rb;
  int64_t want[PTEC_MAX_RANK];
  for (uint32_t i = 0; i < d->batch_rank; i++) {
    int64_t sa = i + ra >= d->batch_rank ? a->sizes[i + ra - d->batch_rank] : 1;
    int64_t sb = i + rb >= d->batch_rank ? b->sizes[i + rb - d->batch_rank] : 1;
    PTEC_CHECK(ctx, sa == sb || sa == 1 || sb == 1, PTEC_STATUS_SHAPE_MISMATCH,
               "batch dims of a and b do not broadcast (%lld and %lld)", (long long)sa,
               (long long)sb);
    want[i] = d->batch[i] = sa == 1 ? sb : sa;
  }
  want[d->batch_rank] = d->m;
  want[d->batch_rank + 1] = d->n;
  return ptec_check_shape(ctx, out, want, d->batch_rank + 2, "out");
}

void ptec_q_matmul_batch_strides(const ptec_tensor *t, uint32_t rank, int64_t out[PTEC_MAX_RANK]) {
  int64_t s[PTEC_MAX_RANK];
  ptec_tensor_strides(t, s);
  uint32_t lead = rank - (t->rank - 2u);
  for (uint32_t d = 0; d < rank; d++)
    out[d] = d < lead || t->sizes[d - lead] == 1 ? 0 : s[d - lead];
}
