/* ptec::safe_softmax.out(Tensor self, int dim, *, Tensor(a!) out), float32, dense
 * row-major (python/ptec/passes/safe_softmax.py): softmax along dim, a slice whose every
 * value is -inf giving zeros instead of NaN. PyTorch's scaled_dot_product_attention
 * (math path, no mask) exports this as _softmax plus eq(-inf) / logical_not / any /
 * logical_not / full_like / where, six calls over the scores that cost more than the
 * softmax itself (~8.5 us per attention layer of the transformer example); the pass makes
 * them this one call. Each slice is _softmax's row (the AVX-512 row variant when
 * contiguous, else softmax_body.h's loop, as op_softmax.c), so the values are _softmax's
 * bit for bit; then an all -inf slice is zeroed (a NaN anywhere keeps the softmax's
 * NaNs, as eq(NaN, -inf) is false there). */
#include "kernels/ops_decl.h"
#include "kernels/portable/common.h"
#include "kernels/portable/half.h"
#include "kernels/x86/ops_f32_x86.h"

#define NAME safe_softmax_row_f32
#define LD PTEC_F32_LD
#define ST PTEC_F32_ST
#define RND PTEC_F32_RND
#define ROUNDS 0
#include "kernels/portable/softmax_body.h"

/* Whether every value of the slice x[0], x[s], ..., x[(n - 1) s] is -inf. */
static bool all_minus_inf(const float *x, int64_t n, int64_t s) {
  for (int64_t k = 0; k < n; k++)
    if (!(x[k * s] == -INFINITY)) return false;
  return true;
}

ptec_status ptec_kernel_safe_softmax_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_f32(ctx, in, out));
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "self", "out"));
  PTEC_CHECK(ctx, in->rank >= 1, PTEC_STATUS_SHAPE_MISMATCH, "safe_softmax needs a dim");
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));
  int64_t xs[PTEC_MAX_RANK], ys[PTEC_MAX_RANK], dense = 1;
  ptec_tensor_strides(in, xs);
  ptec_tensor_strides(out, ys);
  for (uint32_t d = in->rank; d-- > 0;) {
    PTEC_CHECK(ctx, (xs[d] == dense || in->sizes[d] == 1) && (ys[d] == dense || in->sizes[d] == 1),
               PTEC_STATUS_INVALID_ARGUMENT, "safe_softmax needs dense row-major tensors");
    dense *= in->sizes[d];
  }
  /* [outer, n, inner]: slice (o, i) starts at o * n * inner + i, its values inner apart. */
  int64_t n = in->sizes[dim], inner = 1, outer = 1;
  for (uint32_t d = dim + 1; d < in->rank; d++) inner *= in->sizes[d];
  for (uint32_t d = 0; d < dim; d++) outer *= in->sizes[d];
  if (n == 0) return PTEC_STATUS_OK;
  const float *x = in->data;
  float *y = out->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const int64_t at = o * n * inner + i;
      if (all_minus_inf(x + at, n, inner)) {
        for (int64_t k = 0; k < n; k++) y[at + k * inner] = 0.0f;
      } else if (inner != 1 || !PTEC_F_VARIANT_SOFTMAX_ROW(x + at, y + at, n)) {
        safe_softmax_row_f32(x, at, inner, y, at, inner, n, false, inner == 1, false);
      }
    }
  return PTEC_STATUS_OK;
}
