#include "kernels/portable/copy.h"

#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/complex.h"
#include "kernels/portable/iter.h"

void ptec_block_of(ptec_block *b, const ptec_tensor *t) {
  b->data = t->data;
  b->dtype = t->dtype;
  b->base = 0;
  ptec_tensor_strides(t, b->strides);
}

/* Copies one row of same-dtype elements, by element size. memmove: a program may place
 * out over in (planned offsets and argument indices are its own), and memcpy of
 * overlapping rows is undefined (fuzz_pte_edit: constant_pad_nd's out over its input). */
static void copy_row(char *d, int64_t sd, const char *s, int64_t ss, int64_t n, size_t esize) {
  if (sd == 1 && ss == 1) {
    memmove(d, s, (size_t)n * esize);
    return;
  }
  switch (esize) {
    case 1:
      for (int64_t j = 0; j < n; j++) d[j * sd] = s[j * ss];
      break;
    case 2:
      for (int64_t j = 0; j < n; j++) ((uint16_t *)d)[j * sd] = ((const uint16_t *)s)[j * ss];
      break;
    case 4:
      for (int64_t j = 0; j < n; j++) ((uint32_t *)d)[j * sd] = ((const uint32_t *)s)[j * ss];
      break;
    case 8:
      for (int64_t j = 0; j < n; j++) ((uint64_t *)d)[j * sd] = ((const uint64_t *)s)[j * ss];
      break;
    default: /* complex128's 16 bytes */
      for (int64_t j = 0; j < n; j++)
        memcpy(d + j * sd * (int64_t)esize, s + j * ss * (int64_t)esize, esize);
      break;
  }
}

void ptec_copy_block(const ptec_block *dst, const ptec_block *src, uint32_t rank,
                     const int64_t *sizes, const uint8_t *order) {
  int64_t strides[2][PTEC_MAX_RANK];
  memcpy(strides[0], dst->strides, sizeof strides[0]);
  memcpy(strides[1], src->strides, sizeof strides[1]);
  int64_t base[2] = {dst->base, src->base};
  size_t esize = ptec_dtype_size(dst->dtype);
  bool same = dst->dtype == src->dtype;
  ptec_iter it;
  for (ptec_iter_init(&it, rank, sizes, order, 2, (const int64_t(*)[PTEC_MAX_RANK])strides, base);
       !it.done; ptec_iter_next(&it)) {
    if (same) {
      copy_row((char *)dst->data + it.offset[0] * (int64_t)esize, it.step[0],
               (const char *)src->data + it.offset[1] * (int64_t)esize, it.step[1], it.count,
               esize);
      continue;
    }
    for (int64_t j = 0; j < it.count; j++)
      ptec_convert_element(dst->data, dst->dtype, it.offset[0] + j * it.step[0], src->data,
                           src->dtype, it.offset[1] + j * it.step[1]);
  }
}

ptec_status ptec_copy_tensor(ptec_kernel_context *ctx, ptec_tensor *out, const ptec_tensor *in) {
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  /* Complex: copied bytewise (ptec_copy_block's same-dtype path), no conversion. */
  bool complex_same = ptec_dtype_is_complex(in->dtype) && in->dtype == out->dtype;
  PTEC_CHECK(ctx, complex_same ||
                      (ptec_dtype_is_supported(in->dtype) && ptec_dtype_is_supported(out->dtype)),
             PTEC_STATUS_NOT_SUPPORTED, "copy from %s to %s not supported",
             ptec_dtype_name(in->dtype), ptec_dtype_name(out->dtype));
  ptec_block dst, src;
  ptec_block_of(&dst, out);
  ptec_block_of(&src, in);
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(out, sizes);
  ptec_copy_block(&dst, &src, out->rank, sizes, out->dim_order);
  return PTEC_STATUS_OK;
}

static void row_major_strides(const ptec_tensor *t, int64_t strides[PTEC_MAX_RANK]) {
  int64_t s = 1;
  for (int d = (int)t->rank - 1; d >= 0; d--) {
    strides[d] = s;
    s *= t->sizes[d];
  }
}

ptec_status ptec_reshape_copy(ptec_kernel_context *ctx, ptec_tensor *out, const ptec_tensor *in) {
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  PTEC_CHECK(ctx, in->numel == out->numel, PTEC_STATUS_SHAPE_MISMATCH,
             "input has %zu elements but out has %zu", in->numel, out->numel);
  bool in_rm = ptec_tensor_is_row_major(in), out_rm = ptec_tensor_is_row_major(out);
  size_t esize = ptec_dtype_size(in->dtype);
  if (in_rm && out_rm) {
    if (out->data != in->data) memmove(out->data, in->data, in->numel * esize);
    return PTEC_STATUS_OK;
  }
  ptec_block dst, src;
  int64_t sizes[PTEC_MAX_RANK];
  if (out_rm) { /* walk in logically, write out sequentially */
    ptec_block_of(&src, in);
    ptec_block_of(&dst, out);
    row_major_strides(in, dst.strides);
    ptec_tensor_sizes64(in, sizes);
    ptec_copy_block(&dst, &src, in->rank, sizes, NULL);
    return PTEC_STATUS_OK;
  }
  if (in_rm) { /* walk out in its memory order, read in by logical index */
    ptec_block_of(&src, in);
    ptec_block_of(&dst, out);
    row_major_strides(out, src.strides);
    ptec_tensor_sizes64(out, sizes);
    ptec_copy_block(&dst, &src, out->rank, sizes, out->dim_order);
    return PTEC_STATUS_OK;
  }
  /* Neither is row-major: step two odometers in logical order together. */
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK], ii[PTEC_MAX_RANK] = {0}, oi[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  int64_t ioff = 0, ooff = 0;
  for (size_t l = 0; l < in->numel; l++) {
    memcpy((char *)out->data + ooff * (int64_t)esize,
           (const char *)in->data + ioff * (int64_t)esize, esize);
    for (int d = (int)in->rank - 1; d >= 0; d--) {
      if (++ii[d] < in->sizes[d]) { ioff += is[d]; break; }
      ioff -= is[d] * (ii[d] - 1);
      ii[d] = 0;
    }
    for (int d = (int)out->rank - 1; d >= 0; d--) {
      if (++oi[d] < out->sizes[d]) { ooff += os[d]; break; }
      ooff -= os[d] * (oi[d] - 1);
      oi[d] = 0;
    }
  }
  return PTEC_STATUS_OK;
}

void ptec_block_at(ptec_block *b, const ptec_tensor *t, uint32_t dim, int64_t k) {
  int64_t strides[PTEC_MAX_RANK];
  ptec_tensor_strides(t, strides);
  b->data = t->data;
  b->dtype = t->dtype;
  b->base = k * strides[dim];
  for (uint32_t d = 0, j = 0; d < t->rank; d++)
    if (d != dim) b->strides[j++] = strides[d];
}

/* Arguments first_arg.. are (SymInt? start, SymInt? end, SymInt step). */
ptec_status ptec_slice_args(ptec_kernel_context *ctx, const ptec_tensor *t, uint32_t dim_arg,
                            uint32_t first_arg, ptec_slice *s) {
  PTEC_CHECK(ctx, t->rank > 0, PTEC_STATUS_SHAPE_MISMATCH, "cannot slice a 0-d tensor");
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, dim_arg), t->rank, &s->dim));
  int64_t step = ptec_arg_int(ctx, first_arg + 2), size = t->sizes[s->dim];
  PTEC_CHECK(ctx, step > 0, PTEC_STATUS_INVALID_ARGUMENT, "slice step must be positive");
  int64_t start = ptec_arg_is_none(ctx, first_arg) ? 0 : ptec_arg_int(ctx, first_arg);
  int64_t end = ptec_arg_is_none(ctx, first_arg + 1) ? INT64_MAX : ptec_arg_int(ctx, first_arg + 1);
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = start < 0 ? 0 : start > size ? size : start;
  end = end < start ? start : end > size ? size : end;
  /* A step beyond the dim takes one element at most: clamped, so that the
   * size and the stride below cannot overflow. */
  if (step > size) step = size > 0 ? size : 1;
  s->start = start;
  s->step = step;
  s->length = end > start ? (end - start - 1) / step + 1 : 0;
  return PTEC_STATUS_OK;
}

ptec_status ptec_select_args(ptec_kernel_context *ctx, const ptec_tensor *t, uint32_t dim_arg,
                             uint32_t index_arg, uint32_t *dim, int64_t *index) {
  PTEC_CHECK(ctx, t->rank > 0, PTEC_STATUS_SHAPE_MISMATCH, "cannot select in a 0-d tensor");
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, dim_arg), t->rank, dim));
  int64_t i = ptec_arg_int(ctx, index_arg), size = t->sizes[*dim];
  PTEC_CHECK(ctx, i >= -size && i < size, PTEC_STATUS_OUT_OF_RANGE,
             "index %lld out of range for dim %u of size %lld", (long long)i, (unsigned)*dim,
             (long long)size);
  *index = i < 0 ? i + size : i;
  return PTEC_STATUS_OK;
}
