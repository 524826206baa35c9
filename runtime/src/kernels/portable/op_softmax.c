/* _softmax and _log_softmax along one dim, float32, any dim orders. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

static ptec_status softmax_common(ptec_kernel_context *ctx, bool log) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_CHECK(ctx, !ptec_arg_bool(ctx, 2), PTEC_STATUS_NOT_SUPPORTED,
             "half_to_float is not supported");
  PTEC_TRY(ptec_check_f32(ctx, in, out));
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));

  int64_t strides[2][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides[0]);
  ptec_tensor_strides(out, strides[1]);
  ptec_tensor_sizes64(in, sizes);
  bool split[PTEC_MAX_RANK] = {false};
  if (in->rank) split[dim] = true;
  ptec_split_iter s;
  ptec_split_iter_init(&s, in->rank, sizes, in->dim_order, split, 2,
                       (const int64_t(*)[PTEC_MAX_RANK])strides);
  /* The slice along dim is a single row (one dim never splits). */
  const float *x0 = in->data;
  float *y0 = out->data;
  int64_t n = s.inner.count, sx = s.inner.step[0], sy = s.inner.step[1];
  for (; !s.outer.done; ptec_iter_next(&s.outer))
    for (int64_t j = 0; j < s.outer.count; j++) {
      if (s.inner.empty) continue;
      const float *x = x0 + s.outer.offset[0] + j * s.outer.step[0];
      float *y = y0 + s.outer.offset[1] + j * s.outer.step[1];
      float max = x[0];
      for (int64_t k = 1; k < n; k++) max = x[k * sx] > max ? x[k * sx] : max;
      double sum = 0.0;
      if (log) {
        for (int64_t k = 0; k < n; k++) sum += expf(x[k * sx] - max);
        float logsum = logf((float)sum);
        for (int64_t k = 0; k < n; k++) y[k * sy] = x[k * sx] - max - logsum;
      } else {
        /* Like PyTorch: exponentials first, then one multiply by 1/sum. */
        for (int64_t k = 0; k < n; k++) {
          float e = expf(x[k * sx] - max);
          y[k * sy] = e;
          sum += e;
        }
        float scale = 1.0f / (float)sum;
        for (int64_t k = 0; k < n; k++) y[k * sy] *= scale;
      }
    }
  return PTEC_STATUS_OK;
}

/* _softmax.out(Tensor self, int dim, bool half_to_float, *, Tensor(a!) out) */
ptec_status ptec_kernel_softmax_out(ptec_kernel_context *ctx) { return softmax_common(ctx, false); }

/* _log_softmax.out(Tensor self, int dim, bool half_to_float, *, Tensor(a!) out) */
ptec_status ptec_kernel_log_softmax_out(ptec_kernel_context *ctx) {
  return softmax_common(ctx, true);
}
