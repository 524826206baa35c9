/* Resizing DYNAMIC_BOUND tensors within their planned bytes (resize.h). */
#include "kernels/portable/resize.h"

#include "core/checked.h"
#include "kernels/portable/common.h"

ptec_status ptec_tensor_resize(ptec_kernel_context *ctx, ptec_tensor *t, const int64_t *sizes,
                               uint32_t rank, const char *name) {
  if (t->dynamic_sizes == NULL) return ptec_check_shape(ctx, t, sizes, rank, name);
  char a[48], b[48];
  int32_t want[PTEC_MAX_RANK];
  uint32_t n = rank < PTEC_MAX_RANK ? rank : PTEC_MAX_RANK;
  size_t numel = 1, bytes = 0;
  bool fits = rank == t->rank;
  for (uint32_t d = 0; d < n; d++) {
    fits = fits && sizes[d] >= 0 && sizes[d] <= INT32_MAX &&
           ptec_mul_size(numel, (size_t)sizes[d], &numel);
    want[d] = sizes[d] < 0 ? -1 : sizes[d] > INT32_MAX ? INT32_MAX : (int32_t)sizes[d];
  }
  fits = fits && ptec_mul_size(numel, ptec_dtype_size(t->dtype), &bytes) && bytes <= t->capacity;
  if (!fits) {
    /* The bound the program states is the shape it was read with at init. */
    return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE,
                            "%s: shape %s does not fit its dynamic bound (%zu bytes, rank %u; "
                            "now %s)",
                            name, ptec_shape_str(want, n, a, sizeof a), t->capacity,
                            (unsigned)t->rank, ptec_shape_str(t->sizes, t->rank, b, sizeof b));
  }
  for (uint32_t d = 0; d < rank; d++) t->dynamic_sizes[d] = want[d];
  t->sizes = t->dynamic_sizes;
  t->numel = numel;
  t->nbytes = bytes;
  return PTEC_STATUS_OK;
}
