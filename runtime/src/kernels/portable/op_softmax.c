/* _softmax and _log_softmax along one dim, float32, float16 and bfloat16 (the row loop,
 * softmax_body.h, once per element type), any dim orders. */
#include "kernels/portable/common.h"
#include "kernels/portable/half.h"
#include "kernels/portable/iter.h"
#include "kernels/x86/ops_f32_x86.h"
#include "kernels/ops_decl.h"

#define NAME softmax_row_f32
#define LD PTEC_F32_LD
#define ST PTEC_F32_ST
#define RND PTEC_F32_RND
#define ROUNDS 0
#include "kernels/portable/softmax_body.h"

static ptec_status softmax_common(ptec_kernel_context *ctx, bool log) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  /* half_to_float: a float16 / bfloat16 input, a float32 output (CUDA's fused
   * cast + softmax; the export of softmax(x, dtype=float32) casts first instead). */
  bool to_float = ptec_arg_bool(ctx, 2);
  if (to_float) {
    PTEC_CHECK(ctx, in->dtype == PTEC_DTYPE_FLOAT16 || in->dtype == PTEC_DTYPE_BFLOAT16,
               PTEC_STATUS_INVALID_ARGUMENT, "half_to_float needs a float16 or bfloat16 input");
    PTEC_CHECK(ctx, out->dtype == PTEC_DTYPE_FLOAT32, PTEC_STATUS_INVALID_ARGUMENT,
               "half_to_float needs a float32 out");
  } else {
    PTEC_TRY(ptec_check_float_io(ctx, in, out));
  }
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
  int64_t n = s.inner.count, sx = s.inner.step[0], sy = s.inner.step[1];
  bool half = in->dtype != PTEC_DTYPE_FLOAT32, bf = in->dtype == PTEC_DTYPE_BFLOAT16;
  bool last = dim + 1 == in->rank;
  for (; !s.outer.done; ptec_iter_next(&s.outer))
    for (int64_t j = 0; j < s.outer.count; j++) {
      if (s.inner.empty) continue;
      int64_t xo = s.outer.offset[0] + j * s.outer.step[0];
      int64_t yo = s.outer.offset[1] + j * s.outer.step[1];
      if (to_float)
        ptec_softmax_row_half_to_float(in->data, xo, sx, out->data, yo, sy, n, log, last, bf);
      else if (half) ptec_softmax_row_half(in->data, xo, sx, out->data, yo, sy, n, log, last, bf);
      else if (log || sx != 1 || sy != 1 ||
               !PTEC_F_VARIANT_SOFTMAX_ROW((const float *)in->data + xo, (float *)out->data + yo, n))
        softmax_row_f32(in->data, xo, sx, out->data, yo, sy, n, log, last, bf);
    }
  return PTEC_STATUS_OK;
}

/* _softmax.out(Tensor self, int dim, bool half_to_float, *, Tensor(a!) out) */
ptec_status ptec_kernel_softmax_out(ptec_kernel_context *ctx) { return softmax_common(ctx, false); }

/* _log_softmax.out(Tensor self, int dim, bool half_to_float, *, Tensor(a!) out) */
ptec_status ptec_kernel_log_softmax_out(ptec_kernel_context *ctx) {
  return softmax_common(ctx, true);
}
