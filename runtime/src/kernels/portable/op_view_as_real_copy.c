/* view_as_real_copy.out: a complex tensor's (real, imaginary) pairs as a last dimension
 * of 2, as ExecuTorch's portable kernel: complex32, complex64 or complex128 in, and any of
 * float16, float32, float64 out (converted, as its static_cast does; PyTorch's own result
 * is the complex type's float). Any dim orders: elements are matched by logical index. */
#include "kernels/portable/common.h"
#include "kernels/portable/float_any.h"
#include "kernels/ops_decl.h"

/* Part `part` (0 real, 1 imaginary) of complex element i. */
static double complex_part(const void *p, int dtype, int64_t i, int part) {
  if (dtype == PTEC_DTYPE_COMPLEX128) return ((const double *)p)[2 * i + part];
  if (dtype == PTEC_DTYPE_COMPLEX64) return ((const float *)p)[2 * i + part];
  return ptec_f16_to_f32(((const uint16_t *)p)[2 * i + part]); /* complex32 */
}

/* view_as_real_copy.out(Tensor self, *, Tensor(a!) out) */
ptec_status ptec_kernel_view_as_real_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_CHECK(ctx, in->dtype == PTEC_DTYPE_COMPLEX32 || in->dtype == PTEC_DTYPE_COMPLEX64 ||
                      in->dtype == PTEC_DTYPE_COMPLEX128,
             PTEC_STATUS_TYPE_MISMATCH, "input must be complex, got %s",
             ptec_dtype_name(in->dtype));
  PTEC_CHECK(ctx, out->dtype == PTEC_DTYPE_FLOAT16 || out->dtype == PTEC_DTYPE_FLOAT32 ||
                      out->dtype == PTEC_DTYPE_FLOAT64,
             PTEC_STATUS_NOT_SUPPORTED, "out dtype %s not supported (float16, float32, float64)",
             ptec_dtype_name(out->dtype));
  PTEC_CHECK(ctx, in->rank < PTEC_MAX_RANK, PTEC_STATUS_SHAPE_MISMATCH,
             "input rank %u leaves no room for the last dimension", (unsigned)in->rank);
  int64_t want[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, want);
  want[in->rank] = 2;
  PTEC_TRY(ptec_check_shape(ctx, out, want, in->rank + 1u, "out"));
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK], idx[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  uint32_t r = in->rank;
  for (size_t k = 0; k < in->numel; k++) {
    int64_t src = 0, dst = 0;
    for (uint32_t d = 0; d < r; d++) {
      src += idx[d] * is[d];
      dst += idx[d] * os[d];
    }
    for (int part = 0; part < 2; part++)
      ptec_st_any(out->data, out->dtype, dst + part * os[r],
                  complex_part(in->data, in->dtype, src, part));
    for (int d = (int)r - 1; d >= 0 && ++idx[d] == want[d]; d--) idx[d] = 0;
  }
  return PTEC_STATUS_OK;
}
