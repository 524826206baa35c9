/* cat and split: copies of blocks along one dim. Tensor lists of outs come
 * as 'X' arguments; the return slot of a split is that list again and is
 * not read. */
#include "core/checked.h"
#include "kernels/portable/common.h"
#include "kernels/portable/complex.h"
#include "kernels/portable/copy.h"
#include "kernels/ops_decl.h"

/* PyTorch still accepts (and skips) legacy empty 1-D inputs in cat. */
static bool is_legacy_empty(const ptec_tensor *t) { return t->rank == 1 && t->sizes[0] == 0; }

/* cat.out(Tensor[] tensors, int dim=0, *, Tensor(a!) out) */
ptec_status ptec_kernel_cat_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  uint32_t n = ptec_arg(ctx, 0)->count;
  PTEC_CHECK(ctx, n > 0, PTEC_STATUS_INVALID_ARGUMENT, "cat needs at least one tensor");
  /* Complex (ExecuTorch's cat takes it): every input of out's dtype, copied bytewise. */
  bool complex = ptec_dtype_is_complex(out->dtype);
  PTEC_CHECK(ctx, complex || ptec_dtype_is_supported(out->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "out dtype %s not supported", ptec_dtype_name(out->dtype));
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), out->rank, &dim));
  PTEC_CHECK(ctx, out->rank > 0, PTEC_STATUS_SHAPE_MISMATCH, "cannot cat 0-d tensors");

  /* Check every input against out first, so nothing is written on error. */
  int64_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    const ptec_tensor *t = ptec_arg_tensor_list_item(ctx, 0, i);
    PTEC_CHECK(ctx, t != NULL, PTEC_STATUS_TYPE_MISMATCH, "tensors[%u] is not a tensor",
               (unsigned)i);
    if (is_legacy_empty(t) && out->rank != 1) continue;
    PTEC_CHECK(ctx, complex ? t->dtype == out->dtype : ptec_dtype_is_supported(t->dtype),
               PTEC_STATUS_NOT_SUPPORTED, "tensors[%u] dtype %s not supported for a %s out",
               (unsigned)i, ptec_dtype_name(t->dtype), ptec_dtype_name(out->dtype));
    bool ok = t->rank == out->rank;
    for (uint32_t d = 0; ok && d < out->rank; d++) ok = d == dim || t->sizes[d] == out->sizes[d];
    PTEC_CHECK(ctx, ok, PTEC_STATUS_SHAPE_MISMATCH,
               "tensors[%u] does not match out outside dim %u", (unsigned)i, (unsigned)dim);
    total += t->sizes[dim];
  }
  PTEC_CHECK(ctx, total == out->sizes[dim], PTEC_STATUS_SHAPE_MISMATCH,
             "inputs sum to %lld along dim %u but out has %d", (long long)total, (unsigned)dim,
             (int)out->sizes[dim]);

  ptec_block dst, src;
  ptec_block_of(&dst, out);
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(out, sizes);
  for (uint32_t i = 0; i < n; i++) {
    const ptec_tensor *t = ptec_arg_tensor_list_item(ctx, 0, i);
    if (is_legacy_empty(t) && out->rank != 1) continue;
    ptec_block_of(&src, t);
    sizes[dim] = t->sizes[dim];
    ptec_copy_block(&dst, &src, out->rank, sizes, out->dim_order);
    dst.base += t->sizes[dim] * dst.strides[dim];
  }
  return PTEC_STATUS_OK;
}

/* Chunk sizes: a list (split_with_sizes) or equal chunks of `split` with a
 * smaller last one (split). */
typedef struct chunking {
  const int64_t *sizes; /* NULL: equal chunks */
  int64_t split, total;
  uint32_t n;
} chunking;

static int64_t chunk_size(const chunking *c, uint32_t i) {
  if (c->sizes) return c->sizes[i];
  return i + 1 < c->n ? c->split : c->total - c->split * (int64_t)(c->n - 1);
}

/* Copies consecutive chunks of self along dim into the outs of list `arg`. */
static ptec_status split_into(ptec_kernel_context *ctx, const ptec_tensor *in, uint32_t dim,
                              uint32_t arg, const chunking *c) {
  uint32_t n = c->n;
  PTEC_CHECK(ctx, ptec_arg(ctx, arg)->count == n, PTEC_STATUS_SHAPE_MISMATCH,
             "split makes %u chunks but out has %u tensors", (unsigned)n,
             (unsigned)ptec_arg(ctx, arg)->count);
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, sizes);
  for (uint32_t i = 0; i < n; i++) {
    const ptec_tensor *o = ptec_arg_tensor_list_item(ctx, arg, i);
    PTEC_CHECK(ctx, o != NULL, PTEC_STATUS_TYPE_MISMATCH, "out[%u] is not a tensor", (unsigned)i);
    PTEC_TRY(ptec_check_same_dtype(ctx, in, o, "input", "out"));
    sizes[dim] = chunk_size(c, i);
    PTEC_TRY(ptec_check_shape(ctx, o, sizes, in->rank, "out item"));
  }
  ptec_block src, dst;
  ptec_block_of(&src, in);
  for (uint32_t i = 0; i < n; i++) {
    ptec_tensor *o = ptec_arg_tensor_list_item(ctx, arg, i);
    ptec_block_of(&dst, o);
    sizes[dim] = chunk_size(c, i);
    ptec_copy_block(&dst, &src, in->rank, sizes, o->dim_order);
    src.base += chunk_size(c, i) * src.strides[dim];
  }
  return PTEC_STATUS_OK;
}

/* split_with_sizes_copy.out(Tensor self, SymInt[] split_sizes, int dim=0, *,
 *   Tensor(a!)[] out) -> () */
ptec_status ptec_kernel_split_with_sizes_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  uint32_t dim, n;
  PTEC_CHECK(ctx, in->rank > 0, PTEC_STATUS_SHAPE_MISMATCH, "cannot split a 0-d tensor");
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 2), in->rank, &dim));
  const int64_t *chunks = ptec_arg_int_list(ctx, 1, &n);
  int64_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    PTEC_CHECK(ctx, chunks[i] >= 0, PTEC_STATUS_INVALID_ARGUMENT, "negative split size");
    PTEC_CHECK(ctx, ptec_add_i64(total, chunks[i], &total), PTEC_STATUS_OUT_OF_RANGE,
               "split sizes overflow");
  }
  PTEC_CHECK(ctx, total == in->sizes[dim], PTEC_STATUS_SHAPE_MISMATCH,
             "split sizes sum to %lld but dim %u has size %d", (long long)total, (unsigned)dim,
             (int)in->sizes[dim]);
  chunking c = {chunks, 0, total, n};
  return split_into(ctx, in, dim, 3, &c);
}

/* split_copy.Tensor_out(Tensor self, SymInt split_size, int dim=0, *,
 *   Tensor(a!)[] out) -> () */
ptec_status ptec_kernel_split_copy_tensor_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  uint32_t dim;
  PTEC_CHECK(ctx, in->rank > 0, PTEC_STATUS_SHAPE_MISMATCH, "cannot split a 0-d tensor");
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 2), in->rank, &dim));
  int64_t size = in->sizes[dim], split = ptec_arg_int(ctx, 1);
  PTEC_CHECK(ctx, split > 0 || (split == 0 && size == 0), PTEC_STATUS_INVALID_ARGUMENT,
             "split_size must be positive");
  int64_t n = split && size ? (size - 1) / split + 1 : 1; /* no size + split overflow */
  if (n < 1) n = 1;
  PTEC_CHECK(ctx, n <= (int64_t)UINT32_MAX, PTEC_STATUS_NOT_SUPPORTED, "too many chunks");
  chunking c = {NULL, split, size, (uint32_t)n};
  return split_into(ctx, in, dim, 3, &c);
}
