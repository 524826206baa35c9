/* masked_select: the elements of self where mask (both broadcast to one
 * shape) is true, in row-major order, into a DYNAMIC_BOUND 1-D out planned
 * for the broadcast numel (resize.h). */
#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/index.h"
#include "kernels/portable/iter.h"
#include "kernels/portable/resize.h"
#include "kernels/ops_decl.h"

/* The broadcast shape of a and b (numpy rules), or false. */
static bool broadcast_shape(const ptec_tensor *a, const ptec_tensor *b, int64_t *sizes,
                            uint32_t *rank) {
  uint32_t n = a->rank > b->rank ? a->rank : b->rank;
  for (uint32_t d = 0; d < n; d++) {
    int64_t x = d + a->rank >= n ? a->sizes[d + a->rank - n] : 1;
    int64_t y = d + b->rank >= n ? b->sizes[d + b->rank - n] : 1;
    if (x != y && x != 1 && y != 1) return false;
    sizes[d] = x == 1 ? y : x;
  }
  *rank = n;
  return true;
}

/* masked_select.out(Tensor self, Tensor mask, *, Tensor(a!) out) */
ptec_status ptec_kernel_masked_select_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *mask = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_dtype(ctx, mask, PTEC_DTYPE_BOOL, "mask"));
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(self->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(self->dtype));
  int64_t sizes[PTEC_MAX_RANK], ss[PTEC_MAX_RANK], ms[PTEC_MAX_RANK];
  int64_t pos[PTEC_MAX_RANK] = {0};
  uint32_t rank;
  char a[48], b[48];
  PTEC_CHECK(ctx, broadcast_shape(self, mask, sizes, &rank), PTEC_STATUS_SHAPE_MISMATCH,
             "self %s and mask %s do not broadcast",
             ptec_shape_str(self->sizes, self->rank, a, sizeof a),
             ptec_shape_str(mask->sizes, mask->rank, b, sizeof b));
  ptec_broadcast_strides(self, rank, sizes, ss);
  ptec_broadcast_strides(mask, rank, sizes, ms);
  bool empty = false;
  for (uint32_t d = 0; d < rank; d++) empty |= sizes[d] == 0;
  const uint8_t *m = mask->data;
  int64_t count = 0;
  if (!empty) {
    do {
      int64_t at = 0;
      for (uint32_t d = 0; d < rank; d++) at += pos[d] * ms[d];
      count += m[at] != 0;
    } while (ptec_index_next(pos, sizes, rank));
  }
  PTEC_TRY(ptec_tensor_resize(ctx, out, &count, 1, "out"));
  if (count == 0) return PTEC_STATUS_OK;
  size_t elem = ptec_dtype_size(self->dtype), k = 0; /* out: 1-D, so contiguous */
  memset(pos, 0, sizeof pos);
  do {
    int64_t at = 0, from = 0;
    for (uint32_t d = 0; d < rank; d++) {
      at += pos[d] * ms[d];
      from += pos[d] * ss[d];
    }
    if (!m[at]) continue;
    memcpy((uint8_t *)out->data + k++ * elem,
           (const uint8_t *)self->data + (size_t)from * elem, elem);
  } while (ptec_index_next(pos, sizes, rank));
  return PTEC_STATUS_OK;
}
