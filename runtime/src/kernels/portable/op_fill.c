/* Fills: empty, zeros, ones, fill (scalar and 0-d tensor). */
#include "kernels/portable/common.h"
#include "kernels/ops_decl.h"

static ptec_status sized_out(ptec_kernel_context *ctx, uint32_t size_arg, ptec_tensor *out) {
  PTEC_CHECK(ctx, ptec_dtype_is_supported(out->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "out dtype %s not supported", ptec_dtype_name(out->dtype));
  uint32_t rank;
  const int64_t *size = ptec_arg_int_list(ctx, size_arg, &rank);
  return ptec_check_shape(ctx, out, size, rank, "out");
}

static void fill_with(ptec_tensor *out, int64_t v) {
  for (size_t i = 0; i < out->numel; i++) ptec_store_i64(out->data, out->dtype, (int64_t)i, v);
}

/* empty.out(SymInt[] size, *, MemoryFormat? memory_format=None, Tensor(a!) out):
 * the contents are undefined, as in PyTorch; ptec leaves the memory as is. */
ptec_status ptec_kernel_empty_out(ptec_kernel_context *ctx) {
  return sized_out(ctx, 0, ptec_arg_tensor(ctx, 2));
}

/* zeros.out(SymInt[] size, *, Tensor(a!) out) */
ptec_status ptec_kernel_zeros_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_TRY(sized_out(ctx, 0, out));
  fill_with(out, 0);
  return PTEC_STATUS_OK;
}

/* ones.out(SymInt[] size, *, Tensor(a!) out) */
ptec_status ptec_kernel_ones_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_TRY(sized_out(ctx, 0, out));
  fill_with(out, 1);
  return PTEC_STATUS_OK;
}

/* fill.Scalar_out(Tensor self, Scalar value, *, Tensor(a!) out) */
ptec_status ptec_kernel_fill_scalar_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_same_shape(ctx, ptec_arg_tensor(ctx, 0), out, "self", "out"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(out->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "out dtype %s not supported", ptec_dtype_name(out->dtype));
  ptec_fill_scalar(ctx, 1, out);
  return PTEC_STATUS_OK;
}

/* fill.Tensor_out(Tensor self, Tensor value, *, Tensor(a!) out): value is 0-d. */
ptec_status ptec_kernel_fill_tensor_out(ptec_kernel_context *ctx) {
  const ptec_tensor *value = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_same_shape(ctx, ptec_arg_tensor(ctx, 0), out, "self", "out"));
  PTEC_CHECK(ctx, value->rank == 0, PTEC_STATUS_SHAPE_MISMATCH,
             "value must be a 0-d tensor, not of rank %u", (unsigned)value->rank);
  PTEC_CHECK(ctx, ptec_dtype_is_supported(out->dtype) && ptec_dtype_is_supported(value->dtype),
             PTEC_STATUS_NOT_SUPPORTED, "dtypes %s, %s not supported",
             ptec_dtype_name(value->dtype), ptec_dtype_name(out->dtype));
  for (size_t i = 0; i < out->numel; i++)
    ptec_convert_element(out->data, out->dtype, (int64_t)i, value->data, value->dtype, 0);
  return PTEC_STATUS_OK;
}
