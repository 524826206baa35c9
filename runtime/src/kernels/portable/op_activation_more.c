/* elu, glu, logit: PyTorch's CPU formulas in float32 (for float16 and bfloat16 too,
 * rounding once on store). */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/portable/elementwise.h"
#include "kernels/portable/half.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

typedef struct elu_params {
  float neg, pos, input_scale;
} elu_params;

static void elu_f32(float *o, const float *in, int64_t n, const void *params) {
  const elu_params *p = params;
  for (int64_t i = 0; i < n; i++) {
    float x = in[i];
    o[i] = x <= 0.0f ? expm1f(x * p->input_scale) * p->neg : x * p->pos;
  }
}

/* elu.out(Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1, *,
 *   Tensor(a!) out): x > 0 ? scale * x : alpha * scale * (exp(x * input_scale) - 1) */
ptec_status ptec_kernel_elu_out(ptec_kernel_context *ctx) {
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  PTEC_TRY(ptec_check_float_io(ctx, ptec_arg_tensor(ctx, 0), out)); /* ptec_unary converts halves */
  float scale = (float)ptec_arg_double(ctx, 2);
  elu_params p = {(float)ptec_arg_double(ctx, 1) * scale, scale,
                  (float)ptec_arg_double(ctx, 3)};
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), out, elu_f32, NULL, &p);
}

typedef struct logit_params {
  bool clamp;
  float lo, hi;
} logit_params;

static void logit_f32(float *o, const float *in, int64_t n, const void *params) {
  const logit_params *p = params;
  for (int64_t i = 0; i < n; i++) {
    float x = in[i];
    if (p->clamp) x = x < p->lo ? p->lo : x > p->hi ? p->hi : x;
    o[i] = logf(x / (1.0f - x));
  }
}

/* logit.out(Tensor self, float? eps=None, *, Tensor(a!) out): log(x / (1 - x)),
 * x clamped to [eps, 1 - eps] when eps is given. */
ptec_status ptec_kernel_logit_out(ptec_kernel_context *ctx) {
  logit_params p = {!ptec_arg_is_none(ctx, 1), 0.0f, 1.0f};
  if (p.clamp) {
    p.lo = (float)ptec_arg_double(ctx, 1);
    p.hi = 1.0f - p.lo;
  }
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 2), logit_f32, NULL, &p);
}

/* glu.out(Tensor self, int dim=-1, *, Tensor(a!) out): a * sigmoid(b) for the
 * halves a, b of self along dim. */
ptec_status ptec_kernel_glu_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_CHECK(ctx, in->rank > 0, PTEC_STATUS_SHAPE_MISMATCH, "glu needs a dim to halve");
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));
  PTEC_CHECK(ctx, in->sizes[dim] % 2 == 0, PTEC_STATUS_SHAPE_MISMATCH,
             "dim %u has odd size %d", (unsigned)dim, (int)in->sizes[dim]);
  int64_t sizes[PTEC_MAX_RANK], strides[3][PTEC_MAX_RANK], base[3] = {0, 0, 0};
  ptec_tensor_sizes64(in, sizes);
  sizes[dim] /= 2;
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, in->rank, "out"));
  ptec_tensor_strides(out, strides[0]);
  ptec_tensor_strides(in, strides[1]);
  ptec_tensor_strides(in, strides[2]);
  base[2] = sizes[dim] * strides[2][dim];
  const void *x = in->data;
  ptec_iter it;
  for (ptec_iter_init(&it, in->rank, sizes, out->dim_order, 3,
                      (const int64_t(*)[PTEC_MAX_RANK])strides, base);
       !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      float a = ptec_load_f32(x, in->dtype, it.offset[1] + j * it.step[1]);
      float b = ptec_load_f32(x, in->dtype, it.offset[2] + j * it.step[2]);
      ptec_store_f32(out->data, out->dtype, it.offset[0] + j * it.step[0],
                     a * (1.0f / (1.0f + expf(-b))));
    }
  return PTEC_STATUS_OK;
}
