#include "kernels/portable/index.h"

#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"

ptec_status ptec_index_plan_init(ptec_kernel_context *ctx, ptec_index_plan *p,
                                 const ptec_tensor *self, uint32_t arg) {
  memset(p, 0, sizeof *p);
  p->self = self;
  uint32_t n = ptec_arg(ctx, arg)->count;
  PTEC_CHECK(ctx, n <= self->rank, PTEC_STATUS_SHAPE_MISMATCH,
             "%u indices for a tensor of rank %u", (unsigned)n, (unsigned)self->rank);
  int first = -1, last = -1;
  for (uint32_t d = 0; d < n; d++) {
    const ptec_tensor *t = ptec_arg_tensor_list_item(ctx, arg, d);
    if (t == NULL) continue;
    PTEC_CHECK(ctx, ptec_dtype_is_integer(t->dtype), PTEC_STATUS_NOT_SUPPORTED,
               "index %u is %s: only integer indices (a bool mask makes a data-dependent shape)",
               (unsigned)d, ptec_dtype_name(t->dtype));
    p->index[d] = t;
    if (first < 0) first = (int)d;
    last = (int)d;
    /* B = the broadcast of every index's shape. */
    uint32_t r = t->rank > p->b_rank ? t->rank : p->b_rank;
    int64_t sizes[PTEC_MAX_RANK];
    for (uint32_t k = 0; k < r; k++) {
      int64_t a = k + p->b_rank >= r ? p->b_sizes[k + p->b_rank - r] : 1;
      int64_t b = k + t->rank >= r ? t->sizes[k + t->rank - r] : 1;
      PTEC_CHECK(ctx, a == b || a == 1 || b == 1, PTEC_STATUS_SHAPE_MISMATCH,
                 "index tensors do not broadcast together");
      sizes[k] = a == 1 ? b : a;
    }
    p->b_rank = r;
    memcpy(p->b_sizes, sizes, sizeof sizes);
  }
  PTEC_CHECK(ctx, first >= 0, PTEC_STATUS_INVALID_ARGUMENT, "no index tensor given");
  bool adjacent = true;
  for (int d = first; d <= last; d++) adjacent &= p->index[d] != NULL;
  for (uint32_t d = 0; d < self->rank; d++)
    if (p->index[d] == NULL) p->kept[p->num_kept++] = d;
    else PTEC_CHECK(ctx, ptec_broadcast_strides(p->index[d], p->b_rank, p->b_sizes,
                                                 p->index_strides[d]),
                    PTEC_STATUS_SHAPE_MISMATCH, "index %u does not broadcast", (unsigned)d);
  p->b_pos = adjacent ? (uint32_t)first : 0;
  p->rank = p->num_kept + p->b_rank;
  PTEC_CHECK(ctx, p->rank <= PTEC_MAX_RANK, PTEC_STATUS_SHAPE_MISMATCH,
             "the result would have rank %u", (unsigned)p->rank);
  for (uint32_t k = 0, r = 0; r < p->rank; r++) {
    if (r >= p->b_pos && r < p->b_pos + p->b_rank) p->sizes[r] = p->b_sizes[r - p->b_pos];
    else p->sizes[r] = self->sizes[p->kept[k++]];
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_index_offset(ptec_kernel_context *ctx, const ptec_index_plan *p,
                              const int64_t *pos, const int64_t *strides, int64_t *offset) {
  const int64_t *b = pos + p->b_pos;
  int64_t off = 0;
  for (uint32_t k = 0, r = 0; r < p->rank; r++) {
    if (r >= p->b_pos && r < p->b_pos + p->b_rank) continue;
    off += pos[r] * strides[p->kept[k++]];
  }
  for (uint32_t d = 0; d < p->self->rank; d++) {
    const ptec_tensor *t = p->index[d];
    if (t == NULL) continue;
    int64_t e = 0;
    for (uint32_t k = 0; k < p->b_rank; k++) e += b[k] * p->index_strides[d][k];
    int64_t i = ptec_load_i64(t->data, t->dtype, e), size = p->self->sizes[d];
    PTEC_CHECK(ctx, i >= -size && i < size, PTEC_STATUS_OUT_OF_RANGE,
               "index %lld out of range for dim %u of size %lld", (long long)i, (unsigned)d,
               (long long)size);
    off += (i < 0 ? i + size : i) * strides[d];
  }
  *offset = off;
  return PTEC_STATUS_OK;
}

bool ptec_index_next(int64_t *pos, const int64_t *sizes, uint32_t rank) {
  for (uint32_t d = rank; d-- > 0;) {
    if (++pos[d] < sizes[d]) return true;
    pos[d] = 0;
  }
  return false;
}

void ptec_accumulate_element(ptec_tensor *out, int64_t dst, const ptec_tensor *src, int64_t si) {
  if (ptec_dtype_is_float(out->dtype)) {
    ptec_store_f32(out->data, out->dtype, dst,
                   ptec_load_f32(out->data, out->dtype, dst) +
                       ptec_load_f32(src->data, src->dtype, si));
  } else {
    uint64_t sum = (uint64_t)ptec_load_i64(out->data, out->dtype, dst) +
                   (uint64_t)ptec_load_i64(src->data, src->dtype, si);
    ptec_store_i64(out->data, out->dtype, dst, (int64_t)sum);
  }
}
