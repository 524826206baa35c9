/* Strided copies that reorder or repeat dims: permute_copy, transpose_copy,
 * t_copy, expand_copy. */
#include "core/checked.h"
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* out[i] = in[perm applied to i]: out dim k reads in dim perm[k]. */
static ptec_status permuted_copy(ptec_kernel_context *ctx, const ptec_tensor *in,
                                 const uint32_t *perm, ptec_tensor *out) {
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  int64_t sizes[PTEC_MAX_RANK], in_strides[PTEC_MAX_RANK];
  for (uint32_t k = 0; k < in->rank; k++) sizes[k] = in->sizes[perm[k]];
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, in->rank, "out"));
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, in);
  ptec_tensor_strides(in, in_strides);
  for (uint32_t k = 0; k < in->rank; k++) src.strides[k] = in_strides[perm[k]];
  ptec_copy_block(&dst, &src, out->rank, sizes, out->dim_order);
  return PTEC_STATUS_OK;
}

/* permute_copy.out(Tensor self, int[] dims, *, Tensor(a!) out) */
ptec_status ptec_kernel_permute_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  uint32_t count;
  const int64_t *dims = ptec_arg_int_list(ctx, 1, &count);
  PTEC_CHECK(ctx, count == in->rank, PTEC_STATUS_INVALID_ARGUMENT,
             "dims has %u entries but input has rank %u", (unsigned)count, (unsigned)in->rank);
  uint32_t perm[PTEC_MAX_RANK];
  bool seen[PTEC_MAX_RANK] = {false};
  for (uint32_t k = 0; k < count; k++) {
    PTEC_TRY(ptec_normalize_dim(ctx, dims[k], in->rank, &perm[k]));
    PTEC_CHECK(ctx, !seen[perm[k]], PTEC_STATUS_INVALID_ARGUMENT, "dim %u repeated in dims",
               (unsigned)perm[k]);
    seen[perm[k]] = true;
  }
  return permuted_copy(ctx, in, perm, ptec_arg_tensor(ctx, 2));
}

static ptec_status transpose(ptec_kernel_context *ctx, const ptec_tensor *in, int64_t d0,
                             int64_t d1, ptec_tensor *out) {
  uint32_t a = 0, b = 0, perm[PTEC_MAX_RANK];
  PTEC_TRY(ptec_normalize_dim(ctx, d0, in->rank, &a));
  PTEC_TRY(ptec_normalize_dim(ctx, d1, in->rank, &b));
  for (uint32_t k = 0; k < in->rank; k++) perm[k] = k;
  if (in->rank) {
    perm[a] = b;
    perm[b] = a;
  }
  return permuted_copy(ctx, in, perm, out);
}

/* transpose_copy.int_out(Tensor self, int dim0, int dim1, *, Tensor(a!) out) */
ptec_status ptec_kernel_transpose_copy_int_out(ptec_kernel_context *ctx) {
  return transpose(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_int(ctx, 1), ptec_arg_int(ctx, 2),
                   ptec_arg_tensor(ctx, 3));
}

/* t_copy.out(Tensor self, *, Tensor(a!) out): transposes a matrix, copies
 * a vector or scalar. */
ptec_status ptec_kernel_t_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, in->rank <= 2, PTEC_STATUS_SHAPE_MISMATCH, "t expects at most 2 dims, got %u",
             (unsigned)in->rank);
  return transpose(ctx, in, 0, in->rank == 2 ? 1 : 0, ptec_arg_tensor(ctx, 1));
}

/* expand_copy.out(Tensor self, SymInt[] size, *, bool implicit=False, Tensor(a!) out) */
ptec_status ptec_kernel_expand_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  uint32_t count;
  const int64_t *size = ptec_arg_int_list(ctx, 1, &count);
  PTEC_CHECK(ctx, count >= in->rank && count <= PTEC_MAX_RANK, PTEC_STATUS_SHAPE_MISMATCH,
             "expand size has %u dims but input has %u", (unsigned)count, (unsigned)in->rank);
  int64_t sizes[PTEC_MAX_RANK];
  uint32_t lead = count - in->rank;
  for (uint32_t d = 0; d < count; d++) {
    int64_t s = size[d], have = d < lead ? -2 : in->sizes[d - lead];
    if (s == -1) {
      PTEC_CHECK(ctx, d >= lead, PTEC_STATUS_INVALID_ARGUMENT,
                 "-1 is not allowed for a new leading dim");
      s = have;
    }
    PTEC_CHECK(ctx, s >= 0 && (d < lead || have == s || have == 1), PTEC_STATUS_SHAPE_MISMATCH,
               "cannot expand dim %u of size %lld to %lld", (unsigned)d, (long long)have,
               (long long)size[d]);
    sizes[d] = s;
  }
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, count, "out"));
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, in);
  ptec_broadcast_strides(in, count, sizes, src.strides); /* checked above */
  ptec_copy_block(&dst, &src, count, sizes, out->dim_order);
  return PTEC_STATUS_OK;
}

/* as_strided_copy.out(Tensor self, SymInt[] size, SymInt[] stride,
 *   SymInt? storage_offset=None, *, Tensor(a!) out): reads self's memory (in
 * its own layout, as its storage) through the given strides. Decompositions
 * use it to restride a result into a layout, so every element reached must
 * lie inside self. */
ptec_status ptec_kernel_as_strided_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  uint32_t rank, nstride;
  const int64_t *size = ptec_arg_int_list(ctx, 1, &rank);
  const int64_t *stride = ptec_arg_int_list(ctx, 2, &nstride);
  PTEC_CHECK(ctx, nstride == rank, PTEC_STATUS_INVALID_ARGUMENT,
             "size has %u dims but stride has %u", (unsigned)rank, (unsigned)nstride);
  PTEC_TRY(ptec_check_shape(ctx, out, size, rank, "out"));
  int64_t offset = ptec_arg_is_none(ctx, 3) ? 0 : ptec_arg_int(ctx, 3);
  int64_t lo = offset, hi = offset;
  for (uint32_t d = 0; d < rank; d++) {
    PTEC_CHECK(ctx, stride[d] >= 0, PTEC_STATUS_INVALID_ARGUMENT, "negative stride");
    if (size[d] == 0) return PTEC_STATUS_OK;
    int64_t reach;
    PTEC_CHECK(ctx, ptec_mul_i64(size[d] - 1, stride[d], &reach) && ptec_add_i64(hi, reach, &hi),
               PTEC_STATUS_OUT_OF_RANGE, "stride[%u] = %lld overflows the reach of the view",
               (unsigned)d, (long long)stride[d]);
  }
  PTEC_CHECK(ctx, lo >= 0 && hi < (int64_t)in->numel, PTEC_STATUS_OUT_OF_RANGE,
             "strides reach element %lld of an input with %zu", (long long)hi, in->numel);
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, in);
  src.base = offset;
  for (uint32_t d = 0; d < rank; d++) src.strides[d] = stride[d];
  ptec_copy_block(&dst, &src, rank, size, out->dim_order);
  return PTEC_STATUS_OK;
}
