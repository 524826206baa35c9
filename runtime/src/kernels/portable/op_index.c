/* index.Tensor and index_put: advanced indexing with integer tensors
 * (index.h). */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/portable/index.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

static bool has_elements(const int64_t *sizes, uint32_t rank) {
  for (uint32_t d = 0; d < rank; d++)
    if (sizes[d] == 0) return false;
  return true;
}

/* index.Tensor_out(Tensor self, Tensor?[] indices, *, Tensor(a!) out) */
ptec_status ptec_kernel_index_tensor_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  ptec_index_plan p;
  PTEC_TRY(ptec_index_plan_init(ctx, &p, self, 1));
  PTEC_TRY(ptec_check_shape(ctx, out, p.sizes, p.rank, "out"));
  int64_t in_strides[PTEC_MAX_RANK], out_strides[PTEC_MAX_RANK], pos[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(self, in_strides);
  ptec_tensor_strides(out, out_strides);
  if (!has_elements(p.sizes, p.rank)) return PTEC_STATUS_OK;
  do {
    int64_t src, dst = 0;
    PTEC_TRY(ptec_index_offset(ctx, &p, pos, in_strides, &src));
    for (uint32_t d = 0; d < p.rank; d++) dst += pos[d] * out_strides[d];
    ptec_convert_element(out->data, out->dtype, dst, self->data, self->dtype, src);
  } while (ptec_index_next(pos, p.sizes, p.rank));
  return PTEC_STATUS_OK;
}

/* out = self, then out[indices] = values (broadcast to the indexed shape),
 * or += with accumulate (repeated indices add up). out may be self. */
static ptec_status index_put(ptec_kernel_context *ctx, ptec_tensor *out) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *values = ptec_arg_tensor(ctx, 2);
  bool accumulate = ptec_arg_bool(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  PTEC_TRY(ptec_check_same_dtype(ctx, self, values, "self", "values"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(self->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(self->dtype));
  ptec_index_plan p;
  PTEC_TRY(ptec_index_plan_init(ctx, &p, self, 1));
  int64_t v_strides[PTEC_MAX_RANK];
  PTEC_CHECK(ctx, ptec_broadcast_strides(values, p.rank, p.sizes, v_strides),
             PTEC_STATUS_SHAPE_MISMATCH, "values do not broadcast to the indexed shape");
  if (out != self) PTEC_TRY(ptec_copy_tensor(ctx, out, self));
  int64_t out_strides[PTEC_MAX_RANK], pos[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(out, out_strides);
  if (!has_elements(p.sizes, p.rank)) return PTEC_STATUS_OK;
  do {
    int64_t dst, src = 0;
    PTEC_TRY(ptec_index_offset(ctx, &p, pos, out_strides, &dst));
    for (uint32_t d = 0; d < p.rank; d++) src += pos[d] * v_strides[d];
    if (!accumulate) {
      ptec_convert_element(out->data, out->dtype, dst, values->data, values->dtype, src);
    } else {
      ptec_accumulate_element(out, dst, values, src);
    }
  } while (ptec_index_next(pos, p.sizes, p.rank));
  return PTEC_STATUS_OK;
}

/* index_put.out(Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False,
 *   *, Tensor(a!) out) */
ptec_status ptec_kernel_index_put_out(ptec_kernel_context *ctx) {
  return index_put(ctx, ptec_arg_tensor(ctx, 4));
}

/* index_put_(Tensor(a!) self, Tensor?[] indices, Tensor values, bool accumulate=False)
 *   -> Tensor(a!): in place. */
ptec_status ptec_kernel_index_put_(ptec_kernel_context *ctx) {
  return index_put(ctx, ptec_arg_tensor(ctx, 0));
}
