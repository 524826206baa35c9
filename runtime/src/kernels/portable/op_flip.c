/* flip: a copy whose source strides run backwards along the flipped dims. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/ops_decl.h"

/* flip.out(Tensor self, int[] dims, *, Tensor(a!) out) */
ptec_status ptec_kernel_flip_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "self", "out"));
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "self", "out"));
  uint32_t n;
  const int64_t *dims = ptec_arg_int_list(ctx, 1, &n);
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, in);
  bool seen[PTEC_MAX_RANK] = {false};
  for (uint32_t k = 0; k < n; k++) {
    uint32_t d;
    PTEC_TRY(ptec_normalize_dim(ctx, dims[k], in->rank ? in->rank : 1, &d));
    PTEC_CHECK(ctx, !seen[d], PTEC_STATUS_INVALID_ARGUMENT, "dim %u appears twice", (unsigned)d);
    seen[d] = true;
    if (in->rank == 0 || in->sizes[d] == 0) continue;
    src.base += (in->sizes[d] - 1) * src.strides[d];
    src.strides[d] = -src.strides[d];
  }
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(out, sizes);
  ptec_copy_block(&dst, &src, out->rank, sizes, out->dim_order);
  return PTEC_STATUS_OK;
}
