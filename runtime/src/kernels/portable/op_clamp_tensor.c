/* clamp.Tensor: bounds that are tensors, broadcast with self. */
#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* max(x, lo) then min(., hi), NaN from any operand propagating (PyTorch's
 * vectorised clamp). */
static float clamp_f32(float x, const float *lo, const float *hi) {
  if (lo != NULL) x = (x != x || *lo != *lo) ? x + *lo : (x < *lo ? *lo : x);
  if (hi != NULL) x = (x != x || *hi != *hi) ? x + *hi : (x > *hi ? *hi : x);
  return x;
}

/* clamp.Tensor_out(Tensor self, Tensor? min=None, Tensor? max=None, *, Tensor(a!) out) */
ptec_status ptec_kernel_clamp_tensor_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0);
  const ptec_tensor *lo = ptec_arg_opt_tensor(ctx, 1), *hi = ptec_arg_opt_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_CHECK(ctx, lo != NULL || hi != NULL, PTEC_STATUS_INVALID_ARGUMENT,
             "at least one of min and max must be given");
  const ptec_tensor *inputs[3] = {self, lo != NULL ? lo : self, hi != NULL ? hi : self};
  bool any_float = false;
  for (int k = 0; k < 3; k++) {
    PTEC_CHECK(ctx, ptec_dtype_is_supported(inputs[k]->dtype), PTEC_STATUS_NOT_SUPPORTED,
               "dtype %s not supported", ptec_dtype_name(inputs[k]->dtype));
    any_float |= ptec_dtype_is_float(inputs[k]->dtype);
  }
  bool is_float = ptec_dtype_computes_in_f32(out->dtype); /* clamping is exact: no rounding */
  PTEC_CHECK(ctx, is_float || (ptec_dtype_is_integer(out->dtype) && !any_float),
             PTEC_STATUS_TYPE_MISMATCH, "out dtype %s cannot hold the result",
             ptec_dtype_name(out->dtype));
  ptec_iter it;
  PTEC_TRY(ptec_iter_broadcast(ctx, &it, out, inputs, 3));
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      int64_t o = it.offset[0] + j * it.step[0], a = it.offset[1] + j * it.step[1];
      int64_t l = it.offset[2] + j * it.step[2], h = it.offset[3] + j * it.step[3];
      if (is_float) {
        float x = ptec_load_f32(self->data, self->dtype, a), vl = 0.0f, vh = 0.0f;
        if (lo != NULL) vl = ptec_load_f32(lo->data, lo->dtype, l);
        if (hi != NULL) vh = ptec_load_f32(hi->data, hi->dtype, h);
        ptec_store_f32(out->data, out->dtype, o,
                       clamp_f32(x, lo != NULL ? &vl : NULL, hi != NULL ? &vh : NULL));
      } else {
        int64_t x = ptec_load_i64(self->data, self->dtype, a);
        if (lo != NULL) {
          int64_t v = ptec_load_i64(lo->data, lo->dtype, l);
          x = x < v ? v : x;
        }
        if (hi != NULL) {
          int64_t v = ptec_load_i64(hi->data, hi->dtype, h);
          x = x > v ? v : x;
        }
        ptec_store_i64(out->data, out->dtype, o, x);
      }
    }
  return PTEC_STATUS_OK;
}
