/*
 * ptec::quantized_avg_pool2d.out(Tensor input, int[] kernel, int[] stride,
 *   int[] padding, int input_zp, int output_zp, int activation_min,
 *   int activation_max, *, Tensor(a!) out) -> Tensor(a!)
 *
 * TOSA AVG_POOL2D (int32 accumulator) followed by CLAMP, on logical
 * [N, C, H, W] or [C, H, W] int8/int16 tensors of any dim order:
 *
 *   acc   = sum over the window's elements inside the input of (x - input_zp)
 *   count = how many there are (padding is not counted)
 *   (m, s) = reciprocal_scale(count)
 *   out   = clamp(apply_scale_32(sat32(acc), m, s) + output_zp,
 *                 activation_min, activation_max)
 *
 * Input and output share one scale (an average does not rescale), so the
 * zero points are the only quantization parameters. padding is [p],
 * [ph, pw] or [top, bottom, left, right], each smaller than the kernel.
 * PyTorch's count_include_pad=True is an explicit pad (with input_zp)
 * before this op, done by the compiler. stride [] means the kernel size.
 *
 * NHWC int8 input (dim order 0,2,3,1) takes a path that sums a block of
 * consecutive channels per window element.
 */
#include "kernels/ops_decl.h"
#include "kernels/quantized/pool2d.h"
#include "kernels/quantized/variants.h"

enum {
  ARG_INPUT, ARG_KERNEL, ARG_STRIDE, ARG_PADDING, ARG_INPUT_ZP, ARG_OUTPUT_ZP, ARG_ACT_MIN,
  ARG_ACT_MAX, ARG_OUT
};

enum { BLOCK = 32 }; /* accumulators per block of channels */

/* Kernel area limit: keeps count and the accumulator far from overflow. */
#define MAX_KERNEL_AREA (1 << 22)

typedef struct avg_pool {
  ptec_qpool w;
  int32_t in_zp, out_zp, act_min, act_max;
} avg_pool;

static ptec_status setup(ptec_kernel_context *ctx, avg_pool *p) {
  PTEC_TRY(ptec_qpool_setup(ctx, &p->w, -1, ARG_OUT));
  PTEC_CHECK(ctx, p->w.kernel[0] * p->w.kernel[1] <= MAX_KERNEL_AREA,
             PTEC_STATUS_INVALID_ARGUMENT, "kernel area %lld exceeds %d",
             (long long)(p->w.kernel[0] * p->w.kernel[1]), MAX_KERNEL_AREA);
  int dtype = p->w.in->dtype;
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_INPUT_ZP, dtype, "input_zp", &p->in_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, dtype, "output_zp", &p->out_zp));
  return ptec_q_activation_range(ctx, ARG_ACT_MIN, dtype, &p->act_min, &p->act_max);
}

static int32_t average(const avg_pool *p, int64_t acc, int64_t count) {
  int32_t m, s;
  ptec_reciprocal_scale((uint32_t)count, &m, &s);
  int64_t r = (int64_t)ptec_apply_scale_32(ptec_q_sat32(acc), m, s) + p->out_zp;
  return r < p->act_min ? p->act_min : r > p->act_max ? p->act_max : (int32_t)r;
}

/* The window of output (oy, ox) clipped to the input: rows [y0, y1), columns [x0, x1). */
static void window(const ptec_qpool *w, int64_t oy, int64_t ox, int64_t *y0, int64_t *y1,
                   int64_t *x0, int64_t *x1) {
  int64_t iy = oy * w->stride[0] - w->pad[0], ix = ox * w->stride[1] - w->pad[2];
  *y0 = iy < 0 ? 0 : iy;
  *x0 = ix < 0 ? 0 : ix;
  *y1 = iy + w->kernel[0] < w->x.h ? iy + w->kernel[0] : w->x.h;
  *x1 = ix + w->kernel[1] < w->x.w ? ix + w->kernel[1] : w->x.w;
}

static void avg_pool_reference(const avg_pool *p) {
  const ptec_q_view4 X = p->w.x, Y = p->w.y;
  const void *x = p->w.in->data;
  void *y = p->w.out->data;
  int dtype = p->w.in->dtype;
  for (int64_t n = 0; n < Y.n; n++)
    for (int64_t c = 0; c < Y.c; c++)
      for (int64_t oy = 0; oy < Y.h; oy++)
        for (int64_t ox = 0; ox < Y.w; ox++) {
          int64_t y0, y1, x0, x1, acc = 0;
          window(&p->w, oy, ox, &y0, &y1, &x0, &x1);
          for (int64_t iy = y0; iy < y1; iy++)
            for (int64_t ix = x0; ix < x1; ix++)
              acc += ptec_q_load(x, dtype, n * X.sn + c * X.sc + iy * X.sh + ix * X.sw) -
                     p->in_zp;
          ptec_q_store(y, dtype, n * Y.sn + c * Y.sc + oy * Y.sh + ox * Y.sw,
                       average(p, acc, (y1 - y0) * (x1 - x0)));
        }
}

static bool avg_pool_s8_nhwc(const avg_pool *p) {
  const ptec_q_view4 X = p->w.x, Y = p->w.y;
  if (p->w.in->dtype != PTEC_DTYPE_INT8 || X.sc != 1) return false;
  const int8_t *x = p->w.in->data;
  int8_t *y = p->w.out->data;
  int32_t acc[BLOCK];
  for (int64_t n = 0; n < Y.n; n++)
    for (int64_t oy = 0; oy < Y.h; oy++)
      for (int64_t ox = 0; ox < Y.w; ox++) {
        int64_t y0, y1, x0, x1;
        window(&p->w, oy, ox, &y0, &y1, &x0, &x1);
        int64_t count = (y1 - y0) * (x1 - x0);
        for (int64_t c0 = 0; c0 < Y.c; c0 += BLOCK) {
          int64_t cn = Y.c - c0 < BLOCK ? Y.c - c0 : BLOCK;
          for (int64_t j = 0; j < cn; j++) acc[j] = 0;
          for (int64_t iy = y0; iy < y1; iy++)
            for (int64_t ix = x0; ix < x1; ix++) {
              const int8_t *xp = x + n * X.sn + iy * X.sh + ix * X.sw + c0;
              for (int64_t j = 0; j < cn; j++) acc[j] += xp[j];
            }
          /* Zero points come off once per window: count * zp fits easily. */
          int8_t *yp = y + n * Y.sn + oy * Y.sh + ox * Y.sw;
          for (int64_t j = 0; j < cn; j++)
            yp[(c0 + j) * Y.sc] = (int8_t)average(p, (int64_t)acc[j] - count * p->in_zp, count);
        }
      }
  return true;
}

ptec_status ptec_prepare_quantized_avg_pool2d_out(ptec_kernel_context *ctx) {
  avg_pool p;
  return setup(ctx, &p);
}

ptec_status ptec_kernel_quantized_avg_pool2d_out(ptec_kernel_context *ctx) {
  avg_pool p;
  PTEC_TRY(setup(ctx, &p));
  if (PTEC_Q_VARIANT_AVG_POOL(&p.w, p.in_zp, p.out_zp, p.act_min, p.act_max)) /* variants.h */
    return PTEC_STATUS_OK;
  if (!avg_pool_s8_nhwc(&p)) avg_pool_reference(&p);
  return PTEC_STATUS_OK;
}
