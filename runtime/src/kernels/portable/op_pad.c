/* constant_pad_nd: pads (or crops, for negative pads) the trailing dims. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/ops_decl.h"

/* constant_pad_nd.out(Tensor self, SymInt[] pad, Scalar value=0, *, Tensor(a!) out)
 * pad lists (before, after) pairs starting from the last dim. */
ptec_status ptec_kernel_constant_pad_nd_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(in->dtype));
  uint32_t count;
  const int64_t *pad = ptec_arg_int_list(ctx, 1, &count);
  PTEC_CHECK(ctx, count % 2 == 0 && count / 2 <= in->rank, PTEC_STATUS_INVALID_ARGUMENT,
             "pad must have an even length of at most twice the rank");
  int64_t before[PTEC_MAX_RANK] = {0}, sizes[PTEC_MAX_RANK];
  int64_t after[PTEC_MAX_RANK] = {0};
  for (uint32_t k = 0; k < count; k++) {
    /* Within +-(2^31 - 1), the size sums below stay inside int64. */
    PTEC_CHECK(ctx, pad[k] >= -INT32_MAX && pad[k] <= INT32_MAX, PTEC_STATUS_OUT_OF_RANGE,
               "pad[%u] = %lld is out of range", (unsigned)k, (long long)pad[k]);
  }
  for (uint32_t k = 0; k < count / 2; k++) {
    before[in->rank - 1 - k] = pad[2 * k];
    after[in->rank - 1 - k] = pad[2 * k + 1];
  }
  for (uint32_t d = 0; d < in->rank; d++) {
    sizes[d] = in->sizes[d] + before[d] + after[d];
    PTEC_CHECK(ctx, sizes[d] >= 0, PTEC_STATUS_SHAPE_MISMATCH,
               "padding makes dim %u negative", (unsigned)d);
  }
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, in->rank, "out"));

  /* Fill everything, then copy the part of the input that survives. */
  ptec_fill_scalar(ctx, 2, out);
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, in);
  int64_t inner[PTEC_MAX_RANK];
  for (uint32_t d = 0; d < in->rank; d++) {
    int64_t skip_in = before[d] < 0 ? -before[d] : 0, skip_out = before[d] > 0 ? before[d] : 0;
    int64_t drop_in = after[d] < 0 ? -after[d] : 0;
    inner[d] = in->sizes[d] - skip_in - drop_in;
    if (inner[d] <= 0) return PTEC_STATUS_OK; /* nothing of the input survives */
    src.base += skip_in * src.strides[d];
    dst.base += skip_out * dst.strides[d];
  }
  ptec_copy_block(&dst, &src, in->rank, inner, out->dim_order);
  return PTEC_STATUS_OK;
}
