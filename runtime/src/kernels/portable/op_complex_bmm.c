/* The complex branch of bmm (complex.h; op_matmul.c checks the shapes first): ExecuTorch's bmm takes ComplexHalf/Float/Double,
 * all three tensors of one dtype. Each dot product is summed in double and rounded once
 * per part, so it is at least as accurate as PyTorch's (whose order differs). */
#include "kernels/portable/complex.h"

ptec_status ptec_complex_bmm(ptec_kernel_context *ctx, const ptec_tensor *a,
                             const ptec_tensor *b, ptec_tensor *out) {
  PTEC_TRY(ptec_check_same_dtype(ctx, a, b, "input", "mat2"));
  PTEC_TRY(ptec_check_same_dtype(ctx, a, out, "input", "out"));
  int64_t want[3] = {a->sizes[0], a->sizes[1], b->sizes[2]}; /* shapes checked by the caller */
  int64_t as[PTEC_MAX_RANK], bs[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(a, as);
  ptec_tensor_strides(b, bs);
  ptec_tensor_strides(out, os);
  int part = ptec_complex_part_dtype(a->dtype);
  for (int64_t n = 0; n < want[0]; n++)
    for (int64_t i = 0; i < want[1]; i++)
      for (int64_t j = 0; j < want[2]; j++) {
        double re = 0.0, im = 0.0;
        for (int64_t k = 0; k < a->sizes[2]; k++) {
          double xr, xi, yr, yi;
          ptec_cx_ld(a->data, part, n * as[0] + i * as[1] + k * as[2], &xr, &xi);
          ptec_cx_ld(b->data, part, n * bs[0] + k * bs[1] + j * bs[2], &yr, &yi);
          re += xr * yr - xi * yi;
          im += xr * yi + xi * yr;
        }
        ptec_cx_st(out->data, part, n * os[0] + i * os[1] + j * os[2], re, im);
      }
  return PTEC_STATUS_OK;
}
