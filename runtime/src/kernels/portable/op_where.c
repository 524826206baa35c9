/* where.self_out and masked_fill.Scalar_out: selection with broadcasting. */
#include "kernels/portable/common.h"
#include "kernels/portable/elementwise.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

static ptec_status check_mask(ptec_kernel_context *ctx, const ptec_tensor *t, const char *name) {
  PTEC_CHECK(ctx, t->dtype == PTEC_DTYPE_BOOL || t->dtype == PTEC_DTYPE_UINT8,
             PTEC_STATUS_TYPE_MISMATCH, "%s must be bool, not %s", name,
             ptec_dtype_name(t->dtype));
  return PTEC_STATUS_OK;
}

/* out = cond ? a : b (broadcast), converting a and b to out's dtype. */
static ptec_status select_where(ptec_kernel_context *ctx, const ptec_tensor *cond,
                                const ptec_tensor *a, const ptec_tensor *b, ptec_tensor *out) {
  const ptec_tensor *inputs[3] = {cond, a, b};
  for (int k = 1; k < 3; k++)
    PTEC_CHECK(ctx, ptec_dtype_is_supported(inputs[k]->dtype), PTEC_STATUS_NOT_SUPPORTED,
               "dtype %s not supported", ptec_dtype_name(inputs[k]->dtype));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(out->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "out dtype %s not supported", ptec_dtype_name(out->dtype));
  ptec_iter it;
  PTEC_TRY(ptec_iter_broadcast(ctx, &it, out, inputs, 3));
  const uint8_t *c = cond->data;
  bool fast = out->dtype == PTEC_DTYPE_FLOAT32 && a->dtype == PTEC_DTYPE_FLOAT32 &&
              b->dtype == PTEC_DTYPE_FLOAT32;
  for (; !it.done; ptec_iter_next(&it)) {
    if (fast) {
      float *o = (float *)out->data + it.offset[0];
      const uint8_t *cr = c + it.offset[1];
      const float *ar = (const float *)a->data + it.offset[2];
      const float *br = (const float *)b->data + it.offset[3];
      for (int64_t j = 0; j < it.count; j++)
        o[j * it.step[0]] = cr[j * it.step[1]] ? ar[j * it.step[2]] : br[j * it.step[3]];
      continue;
    }
    for (int64_t j = 0; j < it.count; j++) {
      bool pick_a = c[it.offset[1] + j * it.step[1]] != 0;
      const ptec_tensor *t = pick_a ? a : b;
      int64_t si = pick_a ? it.offset[2] + j * it.step[2] : it.offset[3] + j * it.step[3];
      ptec_convert_element(out->data, out->dtype, it.offset[0] + j * it.step[0], t->data,
                           t->dtype, si);
    }
  }
  return PTEC_STATUS_OK;
}

/* where.self_out(Tensor condition, Tensor self, Tensor other, *, Tensor(a!) out) */
ptec_status ptec_kernel_where_self_out(ptec_kernel_context *ctx) {
  const ptec_tensor *cond = ptec_arg_tensor(ctx, 0);
  PTEC_TRY(check_mask(ctx, cond, "condition"));
  return select_where(ctx, cond, ptec_arg_tensor(ctx, 1), ptec_arg_tensor(ctx, 2),
                ptec_arg_tensor(ctx, 3));
}

/* masked_fill.Scalar_out(Tensor self, Tensor mask, Scalar value, *, Tensor(a!) out) */
ptec_status ptec_kernel_masked_fill_scalar_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0), *mask = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(check_mask(ctx, mask, "mask"));
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  /* The value converted to out's dtype, as a 0-d tensor of that dtype. */
  union {
    float f;
    double d;
    int64_t i;
    int32_t i32;
    int16_t i16;
    uint8_t u8;
  } storage;
  ptec_tensor value = *out;
  value.rank = 0;
  value.numel = 1;
  value.data = &storage;
  ptec_fill_scalar(ctx, 2, &value);
  return select_where(ctx, mask, &value, self, out);
}
