/* masked_scatter and repeat_interleave.Tensor: kernels whose reads or
 * writes follow the data (a mask, counts), into outs of planned size. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/portable/index.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* masked_scatter.out(Tensor self, Tensor mask, Tensor source, *, Tensor(a!) out):
 * out = self, then the positions where mask (broadcast to self) is true
 * take source's elements in order (row-major). */
ptec_status ptec_kernel_masked_scatter_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *mask = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *source = ptec_arg_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  PTEC_TRY(ptec_check_same_dtype(ctx, self, source, "self", "source"));
  PTEC_TRY(ptec_check_dtype(ctx, mask, PTEC_DTYPE_BOOL, "mask"));
  PTEC_TRY(ptec_copy_tensor(ctx, out, self));
  int64_t sizes[PTEC_MAX_RANK], ms[PTEC_MAX_RANK], os[PTEC_MAX_RANK], ss[PTEC_MAX_RANK];
  int64_t pos[PTEC_MAX_RANK] = {0}, spos[PTEC_MAX_RANK] = {0};
  ptec_tensor_sizes64(out, sizes);
  PTEC_CHECK(ctx, ptec_broadcast_strides(mask, out->rank, sizes, ms), PTEC_STATUS_SHAPE_MISMATCH,
             "mask does not broadcast to self");
  ptec_tensor_strides(out, os);
  ptec_tensor_strides(source, ss);
  int64_t ssizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(source, ssizes);
  if (out->numel == 0) return PTEC_STATUS_OK;
  int64_t taken = 0;
  do {
    int64_t m = 0, o = 0, s = 0;
    for (uint32_t d = 0; d < out->rank; d++) {
      m += pos[d] * ms[d];
      o += pos[d] * os[d];
    }
    if (!((const uint8_t *)mask->data)[m]) continue;
    PTEC_CHECK(ctx, taken < (int64_t)source->numel, PTEC_STATUS_OUT_OF_RANGE,
               "mask has more true elements than source's %zu", source->numel);
    for (uint32_t d = 0; d < source->rank; d++) s += spos[d] * ss[d];
    ptec_convert_element(out->data, out->dtype, o, source->data, source->dtype, s);
    taken++;
    ptec_index_next(spos, ssizes, source->rank);
  } while (ptec_index_next(pos, sizes, out->rank));
  return PTEC_STATUS_OK;
}

/* repeat_interleave.Tensor_out(Tensor repeats, *, SymInt? output_size=None,
 *   Tensor(a!) out): index i repeats[i] times; the counts must fill out. */
ptec_status ptec_kernel_repeat_interleave_tensor_out(ptec_kernel_context *ctx) {
  const ptec_tensor *reps = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_CHECK(ctx, reps->rank <= 1 && ptec_dtype_is_integer(reps->dtype),
             PTEC_STATUS_TYPE_MISMATCH, "repeats must be a 0-d or 1-D integer tensor");
  PTEC_CHECK(ctx, out->rank == 1 && ptec_dtype_is_integer(out->dtype), PTEC_STATUS_TYPE_MISMATCH,
             "out must be a 1-D integer tensor");
  int64_t stride = 1, total = 0;
  if (reps->rank) {
    int64_t s[PTEC_MAX_RANK];
    ptec_tensor_strides(reps, s);
    stride = s[0];
  }
  for (size_t i = 0; i < reps->numel; i++) {
    int64_t r = ptec_load_i64(reps->data, reps->dtype, (int64_t)i * stride);
    PTEC_CHECK(ctx, r >= 0 && r <= (int64_t)out->numel - total, PTEC_STATUS_OUT_OF_RANGE,
               "repeats[%zu] = %lld does not fit out's %zu elements", i, (long long)r,
               out->numel);
    total += r;
  }
  PTEC_CHECK(ctx, total == (int64_t)out->numel, PTEC_STATUS_SHAPE_MISMATCH,
             "repeats sum to %lld, out has %zu elements", (long long)total, out->numel);
  PTEC_CHECK(ctx, ptec_arg_is_none(ctx, 1) || ptec_arg_int(ctx, 1) == total,
             PTEC_STATUS_SHAPE_MISMATCH, "output_size differs from the sum of repeats");
  int64_t os[PTEC_MAX_RANK];
  ptec_tensor_strides(out, os);
  for (size_t i = 0, at = 0; i < reps->numel; i++) {
    int64_t r = ptec_load_i64(reps->data, reps->dtype, (int64_t)i * stride);
    for (int64_t k = 0; k < r; k++, at++)
      ptec_store_i64(out->data, out->dtype, (int64_t)at * os[0], (int64_t)i);
  }
  return PTEC_STATUS_OK;
}
