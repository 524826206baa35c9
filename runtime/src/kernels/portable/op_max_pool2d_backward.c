/* max_pool2d_with_indices_backward.grad_input: each output gradient added to the input
 * position its index names (a flat h * W + w in the plane, as max_pool2d_with_indices
 * writes them), in output order, as PyTorch's CPU kernel and ExecuTorch's portable one
 * do; -1 (ExecuTorch: no maximum) adds nothing. [N, C, H, W] or [C, H, W], any dim
 * orders; float64, float32, float16, bfloat16 (each add rounds to the type, as the
 * type's own += does). Indices come from a tensor, so each is checked to lie in its
 * plane before it is used. */
#include "kernels/portable/common.h"
#include "kernels/portable/float_any.h"
#include "kernels/ops_decl.h"

/* kernel_size / stride / padding / dilation: 1 entry (both dims) or 2; none = `dflt`. */
static ptec_status pair(ptec_kernel_context *ctx, uint32_t arg, const int64_t *dflt,
                        int64_t v[2], const char *name) {
  uint32_t count;
  const int64_t *list = ptec_arg_int_list(ctx, arg, &count);
  PTEC_CHECK(ctx, count <= 2 && (count > 0 || dflt), PTEC_STATUS_INVALID_ARGUMENT,
             "%s must have 1 or 2 entries", name);
  v[0] = count ? list[0] : dflt[0];
  v[1] = count ? list[count - 1] : dflt[1];
  PTEC_CHECK(ctx, v[0] >= 0 && v[1] >= 0 && v[0] <= INT32_MAX && v[1] <= INT32_MAX,
             PTEC_STATUS_OUT_OF_RANGE, "%s must be in [0, 2^31 - 1]", name);
  return PTEC_STATUS_OK;
}

/* PyTorch's pooling_output_shape (the forward's out size, which grad_output must have). */
static int64_t pooled(int64_t in, int64_t k, int64_t pad, int64_t s, int64_t d, bool ceil) {
  int64_t span = in + 2 * pad - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  int64_t out = (span < 0 ? -((-span + s - 1) / s) : span / s) + 1; /* floor division */
  if (ceil && (out - 1) * s >= in + pad) out--;
  return out;
}

/* max_pool2d_with_indices_backward.grad_input(Tensor grad_output, Tensor self,
 *   int[2] kernel_size, int[2] stride, int[2] padding, int[2] dilation, bool ceil_mode,
 *   Tensor indices, *, Tensor(a!) grad_input) */
ptec_status ptec_kernel_max_pool2d_with_indices_backward_grad_input(ptec_kernel_context *ctx) {
  const ptec_tensor *g = ptec_arg_tensor(ctx, 0), *x = ptec_arg_tensor(ctx, 1),
                    *idx = ptec_arg_tensor(ctx, 7);
  ptec_tensor *out = ptec_arg_tensor(ctx, 8);
  PTEC_CHECK(ctx, ptec_dtype_is_float_any(x->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported (float64, float32, float16, bfloat16)",
             ptec_dtype_name(x->dtype));
  PTEC_TRY(ptec_check_same_dtype(ctx, x, g, "self", "grad_output"));
  PTEC_TRY(ptec_check_same_dtype(ctx, x, out, "self", "grad_input"));
  PTEC_TRY(ptec_check_dtype(ctx, idx, PTEC_DTYPE_INT64, "indices"));
  PTEC_CHECK(ctx, x->rank == 3 || x->rank == 4, PTEC_STATUS_SHAPE_MISMATCH,
             "self must be [N, C, H, W] or [C, H, W]");
  int64_t k[2], s[2], p[2], d[2];
  PTEC_TRY(pair(ctx, 2, NULL, k, "kernel_size"));
  PTEC_TRY(pair(ctx, 3, k, s, "stride"));
  PTEC_TRY(pair(ctx, 4, NULL, p, "padding"));
  PTEC_TRY(pair(ctx, 5, NULL, d, "dilation"));
  PTEC_CHECK(ctx, k[0] > 0 && k[1] > 0 && s[0] > 0 && s[1] > 0 && d[0] > 0 && d[1] > 0 &&
                      p[0] <= k[0] / 2 && p[1] <= k[1] / 2,
             PTEC_STATUS_INVALID_ARGUMENT,
             "kernel_size, stride and dilation must be positive, padding at most half the "
             "kernel size");
  uint32_t o = x->rank - 3u; /* 1 for 4-D */
  int64_t NC = (o ? x->sizes[0] : 1) * x->sizes[o], H = x->sizes[o + 1], W = x->sizes[o + 2];
  bool ceil = ptec_arg_bool(ctx, 6);
  int64_t want[4] = {x->sizes[0], x->sizes[o], pooled(H, k[0], p[0], s[0], d[0], ceil),
                     pooled(W, k[1], p[1], s[1], d[1], ceil)};
  PTEC_CHECK(ctx, want[2] > 0 && want[3] > 0, PTEC_STATUS_SHAPE_MISMATCH,
             "pooled output would be empty");
  PTEC_TRY(ptec_check_shape(ctx, g, want + 1 - o, x->rank, "grad_output"));
  PTEC_TRY(ptec_check_same_shape(ctx, g, idx, "grad_output", "indices"));
  PTEC_TRY(ptec_check_same_shape(ctx, x, out, "self", "grad_input"));

  /* Planes as [N * C] of [rows, cols]: dims o-1 (if any) and o fold into one index. */
  int64_t gs[PTEC_MAX_RANK], is[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(g, gs);
  ptec_tensor_strides(idx, is);
  ptec_tensor_strides(out, os);
  int64_t C = x->sizes[o], OH = want[2], OW = want[3];
  const int64_t *ix = idx->data;
  for (int64_t plane = 0; plane < NC; plane++) {
    int64_t n = plane / C, c = plane % C, ib = (o ? n * is[0] : 0) + c * is[o];
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t at = ix[ib + oh * is[o + 1] + ow * is[o + 2]];
        PTEC_CHECK(ctx, at >= -1 && at < H * W, PTEC_STATUS_OUT_OF_RANGE,
                   "index %lld is outside the %lld x %lld plane", (long long)at, (long long)H,
                   (long long)W);
      }
  }
  for (int64_t plane = 0; plane < NC; plane++) { /* zero, whatever the dim order */
    int64_t n = plane / C, c = plane % C, ob = (o ? n * os[0] : 0) + c * os[o];
    for (int64_t h = 0; h < H; h++)
      for (int64_t w = 0; w < W; w++)
        ptec_st_any(out->data, out->dtype, ob + h * os[o + 1] + w * os[o + 2], 0.0);
  }
  for (int64_t plane = 0; plane < NC; plane++) {
    int64_t n = plane / C, c = plane % C;
    int64_t gb = (o ? n * gs[0] : 0) + c * gs[o], ib = (o ? n * is[0] : 0) + c * is[o];
    int64_t ob = (o ? n * os[0] : 0) + c * os[o];
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t at = ix[ib + oh * is[o + 1] + ow * is[o + 2]];
        if (at < 0) continue;
        int64_t dst = ob + (at / W) * os[o + 1] + (at % W) * os[o + 2];
        double v = ptec_ld_any(out->data, out->dtype, dst) +
                   ptec_ld_any(g->data, g->dtype, gb + oh * gs[o + 1] + ow * gs[o + 2]);
        ptec_st_any(out->data, out->dtype, dst, v);
      }
  }
  return PTEC_STATUS_OK;
}
