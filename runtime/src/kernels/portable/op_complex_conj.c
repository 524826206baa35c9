/* _conj_physical.out: on complex32/64/128 (ExecuTorch's kernel takes exactly these) the
 * imaginary part negated, any dim orders; on real dtypes a copy (lift_fresh_copy's
 * table kernel: the conjugate of a real number is itself). */
#include <string.h>

#include "kernels/ops_decl.h"
#include "kernels/portable/complex.h"

ptec_status ptec_kernel__conj_physical_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  if (!ptec_dtype_is_complex(in->dtype) && !ptec_dtype_is_complex(out->dtype))
    return ptec_kernel_lift_fresh_copy_out(ctx);
  PTEC_TRY(ptec_check_dtype(ctx, out, in->dtype, "out"));
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK], size[PTEC_MAX_RANK], idx[PTEC_MAX_RANK] = {0};
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  ptec_tensor_sizes64(in, size);
  /* Bytes per part; the sign bit is the top bit of the part's last byte (little-endian
   * IEEE: float16, float32, float64 alike), so one loop serves the three dtypes and
   * NaN payloads and -0.0 come out as std::conj gives them. */
  size_t part = in->dtype == PTEC_DTYPE_COMPLEX128 ? 8 : in->dtype == PTEC_DTYPE_COMPLEX64 ? 4 : 2;
  const unsigned char *src = in->data;
  unsigned char *dst = out->data;
  int r = (int)in->rank;
  for (size_t k = 0; k < in->numel; k++) {
    int64_t s = 0, d = 0;
    for (int j = 0; j < r; j++) {
      s += idx[j] * is[j];
      d += idx[j] * os[j];
    }
    memmove(dst + 2 * part * (size_t)d, src + 2 * part * (size_t)s, 2 * part);
    dst[2 * part * (size_t)d + 2 * part - 1] ^= 0x80;
    for (int j = r - 1; j >= 0 && ++idx[j] == size[j]; j--) idx[j] = 0;
  }
  return PTEC_STATUS_OK;
}
