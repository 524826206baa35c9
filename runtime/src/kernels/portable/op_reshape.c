/* Reshapes: view_copy, unsqueeze_copy, squeeze_copy, and ExecuTorch's
 * et_view, which aliases instead of copying. */
#include "core/checked.h"
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/ops_decl.h"

/* Resolves a view size list (one -1 allowed) for `numel` elements. */
static ptec_status resolve_view_size(ptec_kernel_context *ctx, uint32_t arg, size_t numel,
                                     int64_t sizes[PTEC_MAX_RANK], uint32_t *rank) {
  uint32_t count;
  const int64_t *list = ptec_arg_int_list(ctx, arg, &count);
  PTEC_CHECK(ctx, count <= PTEC_MAX_RANK, PTEC_STATUS_NOT_SUPPORTED, "view rank %u too large",
             (unsigned)count);
  int64_t known = 1;
  int infer = -1;
  for (uint32_t k = 0; k < count; k++) {
    sizes[k] = list[k];
    if (list[k] == -1) {
      PTEC_CHECK(ctx, infer < 0, PTEC_STATUS_INVALID_ARGUMENT, "only one size may be -1");
      infer = (int)k;
    } else {
      PTEC_CHECK(ctx, list[k] >= 0, PTEC_STATUS_INVALID_ARGUMENT, "invalid size %lld",
                 (long long)list[k]);
      PTEC_CHECK(ctx, ptec_mul_i64(known, list[k], &known), PTEC_STATUS_BAD_SIZE,
                 "view size %u (%lld) overflows the element count", (unsigned)k,
                 (long long)list[k]);
    }
  }
  if (infer >= 0) {
    PTEC_CHECK(ctx, known != 0 && (int64_t)numel % known == 0, PTEC_STATUS_SHAPE_MISMATCH,
               "cannot view %zu elements with the given size", numel);
    sizes[infer] = (int64_t)numel / known;
    known *= sizes[infer]; /* == numel */
  }
  PTEC_CHECK(ctx, known == (int64_t)numel, PTEC_STATUS_SHAPE_MISMATCH,
             "size has %lld elements but input has %zu", (long long)known, numel);
  *rank = count;
  return PTEC_STATUS_OK;
}

/* view_copy.out(Tensor self, SymInt[] size, *, Tensor(a!) out) */
ptec_status ptec_kernel_view_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  int64_t sizes[PTEC_MAX_RANK];
  uint32_t rank;
  PTEC_TRY(resolve_view_size(ctx, 1, in->numel, sizes, &rank));
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, rank, "out"));
  return ptec_reshape_copy(ctx, out, in);
}

/* executorch_prim::et_view.default(Tensor self, int[] size) -> Tensor, with
 * the result in the return slot: it aliases self's data. Only valid when
 * both tensors keep their elements in logical order. */
ptec_status ptec_kernel_et_view(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "self", "out"));
  int64_t sizes[PTEC_MAX_RANK];
  uint32_t rank;
  PTEC_TRY(resolve_view_size(ctx, 1, in->numel, sizes, &rank));
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, rank, "out"));
  PTEC_CHECK(ctx, ptec_tensor_is_row_major(in) && ptec_tensor_is_row_major(out),
             PTEC_STATUS_NOT_SUPPORTED, "cannot alias a view of a non-contiguous dim order");
  out->data = in->data;
  return PTEC_STATUS_OK;
}

/* unsqueeze_copy.out(Tensor self, int dim, *, Tensor(a!) out) */
ptec_status ptec_kernel_unsqueeze_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_CHECK(ctx, in->rank < PTEC_MAX_RANK, PTEC_STATUS_NOT_SUPPORTED, "rank too large");
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank + 1u, &dim));
  int64_t sizes[PTEC_MAX_RANK];
  for (uint32_t d = 0, k = 0; d <= in->rank; d++) sizes[d] = d == dim ? 1 : in->sizes[k++];
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, in->rank + 1u, "out"));
  return ptec_reshape_copy(ctx, out, in);
}

/* Drops the marked dims that have size 1 and copies. */
static ptec_status squeeze(ptec_kernel_context *ctx, const ptec_tensor *in, const bool *mask,
                           ptec_tensor *out) {
  int64_t sizes[PTEC_MAX_RANK];
  uint32_t rank = 0;
  for (uint32_t d = 0; d < in->rank; d++)
    if (!(mask[d] && in->sizes[d] == 1)) sizes[rank++] = in->sizes[d];
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, rank, "out"));
  return ptec_reshape_copy(ctx, out, in);
}

/* squeeze_copy.dims_out(Tensor self, int[] dim, *, Tensor(a!) out) */
ptec_status ptec_kernel_squeeze_copy_dims_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  bool mask[PTEC_MAX_RANK] = {false};
  uint32_t count;
  const int64_t *dims = ptec_arg_int_list(ctx, 1, &count);
  for (uint32_t k = 0; k < count; k++) {
    uint32_t d;
    PTEC_TRY(ptec_normalize_dim(ctx, dims[k], in->rank, &d));
    if (in->rank) mask[d] = true;
  }
  return squeeze(ctx, in, mask, ptec_arg_tensor(ctx, 2));
}

/* squeeze_copy.dim_out(Tensor self, int dim, *, Tensor(a!) out) */
ptec_status ptec_kernel_squeeze_copy_dim_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  bool mask[PTEC_MAX_RANK] = {false};
  uint32_t d;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &d));
  if (in->rank) mask[d] = true;
  return squeeze(ctx, in, mask, ptec_arg_tensor(ctx, 2));
}
