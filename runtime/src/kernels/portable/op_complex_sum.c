/* The complex branch of sum.IntList_out (complex.h): ExecuTorch's sum takes
 * ComplexHalf/Float/Double with out of the input's dtype. Parts summed in double, each
 * rounded once. */
#include "kernels/portable/complex.h"
#include "kernels/portable/iter.h"
#include "kernels/portable/reduce.h"

/* sum.IntList_out(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None,
 *   Tensor(a!) out) */
ptec_status ptec_complex_sum(ptec_kernel_context *ctx, const ptec_tensor *in, ptec_tensor *out) {
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  PTEC_CHECK(ctx, ptec_arg_is_none(ctx, 3) || ptec_arg_int(ctx, 3) == out->dtype,
             PTEC_STATUS_TYPE_MISMATCH, "dtype argument differs from out dtype %s",
             ptec_dtype_name(out->dtype));
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(ptec_reduce_dims_from_list(ctx, 1, in->rank, mask));
  ptec_split_iter s;
  PTEC_TRY(ptec_reduce_init(ctx, &s, in, mask, ptec_arg_bool(ctx, 2), out, false));
  int part = ptec_complex_part_dtype(in->dtype);
  FOR_EACH_OUT(s, j) {
    ptec_split_iter_inner(&s, j);
    double re = 0.0, im = 0.0;
    for (ptec_iter *it = &s.inner; !it->done; ptec_iter_next(it))
      for (int64_t k = 0; k < it->count; k++) {
        double xr, xi;
        ptec_cx_ld(in->data, part, it->offset[1] + k * it->step[1], &xr, &xi);
        re += xr;
        im += xi;
      }
    ptec_cx_st(out->data, part, OUT_INDEX(s, j), re, im);
  }
  return PTEC_STATUS_OK;
}
