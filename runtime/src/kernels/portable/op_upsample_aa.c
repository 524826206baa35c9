/* _upsample_bilinear2d_aa.out: antialiased bilinear resampling on [N, C, H, W] of any
 * dim order, as PyTorch's CPU kernel computes it (UpSampleKernel.cpp, separable AA):
 * a triangle filter whose support grows with the downscale factor, weights normalised
 * per output pixel, width resampled first, then height; a dimension whose size does not
 * change is not resampled. float32 only, like PyTorch's CPU kernel (it refuses half).
 *
 * PyTorch keeps the width-resampled image in a float buffer; this kernel recomputes each
 * row's width sum where the height pass needs it (the same float operations in the same
 * order, so the same value) and needs no scratch memory. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/ops_decl.h"

/* One dimension's resampling: PyTorch's scale, support and window size. The casts
 * between float and double follow its C++ expressions (scalar_t = float). */
typedef struct aa_dim {
  int64_t in, out;
  float scale, support, invscale;
  int64_t max_size; /* ceil(support) * 2 + 1 */
} aa_dim;

static aa_dim aa_dim_of(int64_t in, int64_t out, bool align, bool has_scale, double s) {
  aa_dim d;
  d.in = in;
  d.out = out;
  if (align) d.scale = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
  else d.scale = has_scale && s > 0.0 ? (float)(1.0 / s) : (float)in / (float)out;
  /* interp_size 2 for linear: support 1, widened by the scale when downscaling. */
  d.support = d.scale >= 1.0f ? (float)(1.0 * (double)d.scale) : 1.0f;
  d.invscale = d.scale >= 1.0f ? (float)(1.0 / (double)d.scale) : 1.0f;
  d.max_size = (int64_t)ceilf(d.support) * 2 + 1;
  return d;
}

/* HelperInterpLinear::aa_filter, the triangle. */
static float triangle(float x) {
  x = fabsf(x);
  return x < 1.0f ? (float)(1.0 - (double)x) : 0.0f;
}

/* The window of output index i: first input index, count, the filter's centre and
 * the sum of its raw weights (_compute_indices_min_size_weights_aa). */
typedef struct aa_window {
  int64_t min, size;
  float center, total;
} aa_window;

static float raw_weight(const aa_dim *d, const aa_window *w, int64_t j) {
  return triangle((float)(((double)((float)(j + w->min) - w->center) + 0.5) *
                          (double)d->invscale));
}

static aa_window window_of(const aa_dim *d, int64_t i) {
  aa_window w;
  w.center = (float)((double)d->scale * ((double)i + 0.5));
  int64_t lo = (int64_t)((double)(w.center - d->support) + 0.5);
  int64_t hi = (int64_t)((double)(w.center + d->support) + 0.5);
  w.min = lo > 0 ? lo : 0;
  w.size = (hi < d->in ? hi : d->in) - w.min;
  if (w.size < 0) w.size = 0;
  if (w.size > d->max_size) w.size = d->max_size; /* PyTorch's clip for rounding */
  w.total = 0.0f;
  for (int64_t j = 0; j < w.size; j++) w.total += raw_weight(d, &w, j);
  return w;
}

/* Normalised weight j; the identity window when the dimension keeps its size. */
static float weight(const aa_dim *d, const aa_window *w, int64_t j) {
  float r = raw_weight(d, w, j);
  return w->total != 0.0f ? r / w->total : r;
}

static aa_window identity_window(int64_t i) {
  aa_window w = {i, 1, 0.0f, 0.0f};
  return w;
}

/* interpolate_aa_single_dim: t = w0 * s0, then t += wj * sj. Identity when resize is false. */
static float row_sum(const float *src, int64_t p, int64_t stride, const aa_dim *d,
                     const aa_window *w, bool resize) {
  if (!resize) return src[p + w->min * stride];
  if (w->size == 0) return 0.0f; /* an empty window: all of PyTorch's weights are zero */
  float t = weight(d, w, 0) * src[p + w->min * stride];
  for (int64_t j = 1; j < w->size; j++) t += weight(d, w, j) * src[p + (w->min + j) * stride];
  return t;
}

/* _upsample_bilinear2d_aa.out(Tensor self, SymInt[2] output_size, bool align_corners,
 *   float? scales_h=None, float? scales_w=None, *, Tensor(a!) out) */
ptec_status ptec_kernel_upsample_bilinear2d_aa_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  bool align = ptec_arg_bool(ctx, 2);
  PTEC_CHECK(ctx, in->rank == 4, PTEC_STATUS_SHAPE_MISMATCH, "input must be [N, C, H, W]");
  PTEC_CHECK(ctx, in->dtype == PTEC_DTYPE_FLOAT32 && out->dtype == PTEC_DTYPE_FLOAT32,
             PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported (float32 only, like PyTorch's CPU kernel)",
             ptec_dtype_name(in->dtype));
  uint32_t ns = 0;
  const int64_t *size = ptec_arg_int_list(ctx, 1, &ns);
  PTEC_CHECK(ctx, ns == 2, PTEC_STATUS_INVALID_ARGUMENT, "output_size has %u values, not 2",
             (unsigned)ns);
  aa_dim d[2];
  for (int k = 0; k < 2; k++) {
    PTEC_CHECK(ctx, size[k] > 0 && size[k] < ((int64_t)1 << 31) && in->sizes[2 + k] > 0,
               PTEC_STATUS_INVALID_ARGUMENT, "output size %lld from input size %lld",
               (long long)size[k], (long long)in->sizes[2 + k]);
    bool has = !ptec_arg_is_none(ctx, 3 + (uint32_t)k);
    double s = has ? ptec_arg_double(ctx, 3 + (uint32_t)k) : 0.0;
    PTEC_CHECK(ctx, !has || (s > 0.0 && s < 65536.0), PTEC_STATUS_INVALID_ARGUMENT,
               "scale factor out of range");
    d[k] = aa_dim_of(in->sizes[2 + k], size[k], align, has, s);
  }
  int64_t sizes[4] = {in->sizes[0], in->sizes[1], size[0], size[1]};
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, 4, "out"));
  bool resize_h = d[0].out != d[0].in, resize_w = d[1].out != d[1].in;
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  const float *src = in->data;
  float *dst = out->data;
  for (int64_t y = 0; y < d[0].out; y++) {
    aa_window wy = resize_h ? window_of(&d[0], y) : identity_window(y);
    for (int64_t x = 0; x < d[1].out; x++) {
      aa_window wx = resize_w ? window_of(&d[1], x) : identity_window(x);
      for (int64_t n = 0; n < in->sizes[0]; n++)
        for (int64_t c = 0; c < in->sizes[1]; c++) {
          int64_t p = n * is[0] + c * is[1];
          float v;
          if (!resize_h || wy.size == 0) {
            v = resize_h ? 0.0f : row_sum(src, p + y * is[2], is[3], &d[1], &wx, resize_w);
          } else {
            v = weight(&d[0], &wy, 0) * row_sum(src, p + wy.min * is[2], is[3], &d[1], &wx,
                                                  resize_w);
            for (int64_t j = 1; j < wy.size; j++)
              v += weight(&d[0], &wy, j) *
                   row_sum(src, p + (wy.min + j) * is[2], is[3], &d[1], &wx, resize_w);
          }
          dst[n * os[0] + c * os[1] + y * os[2] + x * os[3]] = v;
        }
    }
  }
  return PTEC_STATUS_OK;
}
