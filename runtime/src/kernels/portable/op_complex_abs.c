/* The complex branch of abs (complex.h). */
#include <math.h>

#include "kernels/portable/complex.h"
#include "kernels/portable/float_any.h"

ptec_status ptec_complex_abs(ptec_kernel_context *ctx, const ptec_tensor *in,
                             ptec_tensor *out) {
  int want = in->dtype == PTEC_DTYPE_COMPLEX128  ? PTEC_DTYPE_FLOAT64
             : in->dtype == PTEC_DTYPE_COMPLEX64 ? PTEC_DTYPE_FLOAT32
                                                 : PTEC_DTYPE_FLOAT16;
  PTEC_TRY(ptec_check_dtype(ctx, out, want, "out"));
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK], size[PTEC_MAX_RANK], idx[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  ptec_tensor_sizes64(in, size);
  int r = (int)in->rank;
  for (size_t k = 0; k < in->numel; k++) {
    int64_t src = 0, dst = 0;
    for (int d = 0; d < r; d++) {
      src += idx[d] * is[d];
      dst += idx[d] * os[d];
    }
    double re, im;
    if (in->dtype == PTEC_DTYPE_COMPLEX128) {
      re = ((const double *)in->data)[2 * src];
      im = ((const double *)in->data)[2 * src + 1];
    } else if (in->dtype == PTEC_DTYPE_COMPLEX64) {
      re = ((const float *)in->data)[2 * src];
      im = ((const float *)in->data)[2 * src + 1];
    } else {
      re = ptec_f16_to_f32(((const uint16_t *)in->data)[2 * src]);
      im = ptec_f16_to_f32(((const uint16_t *)in->data)[2 * src + 1]);
    }
    /* hypot: no overflow or underflow in re^2 + im^2; float parts computed in double,
     * rounded once (std::abs(complex<float>) is hypotf, correctly rounded in practice). */
    double v = hypot(re, im);
    ptec_st_any(out->data, out->dtype, dst, v);
    for (int d = r - 1; d >= 0 && ++idx[d] == size[d]; d--) idx[d] = 0;
  }
  return PTEC_STATUS_OK;
}
