/*
 * ptec::quantized_max_pool2d.out(Tensor input, int[] kernel, int[] stride,
 *   int[] padding, int[] dilation, int activation_min, int activation_max,
 *   *, Tensor(a!) out) -> Tensor(a!)
 *
 * TOSA MAX_POOL2D followed by CLAMP, on logical [N, C, H, W] or [C, H, W]
 * int8/int16 tensors of any dim order: the maximum of the window's elements
 * inside the input (padding never wins), clamped to [activation_min,
 * activation_max]. Input and output must share scale and zero point (the
 * compiler's job; max commutes with the affine map), so there are no
 * quantization parameters. padding is [p], [ph, pw] or [top, bottom, left,
 * right], each smaller than the kernel; stride [] means the kernel size.
 * (TOSA has no dilation: ExecuTorch decomposes it; here it is direct.)
 */
#include "kernels/ops_decl.h"
#include "kernels/quantized/pool2d.h"
#include "kernels/quantized/variants.h"

enum {
  ARG_INPUT, ARG_KERNEL, ARG_STRIDE, ARG_PADDING, ARG_DILATION, ARG_ACT_MIN, ARG_ACT_MAX,
  ARG_OUT
};

static ptec_status setup(ptec_kernel_context *ctx, ptec_qpool *w, int32_t *lo, int32_t *hi) {
  PTEC_TRY(ptec_qpool_setup(ctx, w, ARG_DILATION, ARG_OUT));
  return ptec_q_activation_range(ctx, ARG_ACT_MIN, w->in->dtype, lo, hi);
}

ptec_status ptec_prepare_quantized_max_pool2d_out(ptec_kernel_context *ctx) {
  ptec_qpool w;
  int32_t lo, hi;
  return setup(ctx, &w, &lo, &hi);
}

/* The largest element of output (n, c, oy, ox)'s window inside the input,
 * or `none` (the dtype's minimum, as TOSA starts) if there were none. */
static int32_t window_max(const ptec_qpool *w, int32_t none, int64_t n, int64_t c, int64_t oy,
                          int64_t ox) {
  const ptec_q_view4 X = w->x;
  int64_t iy0 = oy * w->stride[0] - w->pad[0], ix0 = ox * w->stride[1] - w->pad[2];
  int32_t best = none;
  for (int64_t ky = 0; ky < w->kernel[0]; ky++) {
    int64_t iy = iy0 + ky * w->dilation[0];
    if (iy < 0 || iy >= X.h) continue;
    for (int64_t kx = 0; kx < w->kernel[1]; kx++) {
      int64_t ix = ix0 + kx * w->dilation[1];
      if (ix < 0 || ix >= X.w) continue;
      int32_t v = ptec_q_load(w->in->data, w->in->dtype,
                              n * X.sn + c * X.sc + iy * X.sh + ix * X.sw);
      if (v > best) best = v;
    }
  }
  return best;
}

ptec_status ptec_kernel_quantized_max_pool2d_out(ptec_kernel_context *ctx) {
  ptec_qpool w;
  int32_t lo, hi, none, dhi;
  PTEC_TRY(setup(ctx, &w, &lo, &hi));
  if (PTEC_Q_VARIANT_MAX_POOL(&w, lo, hi)) return PTEC_STATUS_OK; /* variants.h */
  const ptec_q_view4 Y = w.y;
  void *y = w.out->data;
  int dtype = w.in->dtype;
  ptec_q_dtype_range(dtype, &none, &dhi);
#define MAX_POOL_ONE(n, c, oy, ox)                                              \
  do {                                                                          \
    int32_t v = window_max(&w, none, n, c, oy, ox);                             \
    ptec_q_store(y, dtype, n * Y.sn + c * Y.sc + oy * Y.sh + ox * Y.sw,         \
                 v < lo ? lo : v > hi ? hi : v);                                \
  } while (0)
  if (w.x.sc == 1) { /* NHWC: channels innermost, as they lie in memory */
    for (int64_t n = 0; n < Y.n; n++)
      for (int64_t oy = 0; oy < Y.h; oy++)
        for (int64_t ox = 0; ox < Y.w; ox++)
          for (int64_t c = 0; c < Y.c; c++) MAX_POOL_ONE(n, c, oy, ox);
  } else {
    for (int64_t n = 0; n < Y.n; n++)
      for (int64_t c = 0; c < Y.c; c++)
        for (int64_t oy = 0; oy < Y.h; oy++)
          for (int64_t ox = 0; ox < Y.w; ox++) MAX_POOL_ONE(n, c, oy, ox);
  }
#undef MAX_POOL_ONE
  return PTEC_STATUS_OK;
}
