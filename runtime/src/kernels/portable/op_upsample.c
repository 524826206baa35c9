/* upsample_nearest2d.vec and upsample_bilinear2d.vec on [N, C, H, W] of
 * any dim order, with PyTorch's source-index arithmetic (UpSample.h):
 * a given scale factor s maps out to in by 1/s, else by in/out. */
#include <math.h>
#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/half.h"
#include "kernels/ops_decl.h"

#define LD PTEC_F32_LD
#define ST PTEC_F32_ST
#define SOURCE_INDEX source_index
#define BILINEAR bilinear_f32
#include "kernels/portable/upsample_body.h"

typedef struct upsample {
  int64_t in[2], out[2]; /* H, W */
  bool has_scale[2];
  double scale[2];      /* the given factors */
} upsample;

/* Output size from output_size or scale_factors (exactly one is given). */
static ptec_status read_sizes(ptec_kernel_context *ctx, const ptec_tensor *in, uint32_t size_arg,
                              uint32_t scale_arg, upsample *u) {
  PTEC_CHECK(ctx, in->rank == 4, PTEC_STATUS_SHAPE_MISMATCH, "input must be [N, C, H, W]");
  memset(u, 0, sizeof *u);
  u->in[0] = in->sizes[2];
  u->in[1] = in->sizes[3];
  uint32_t ns = 0, nf = 0;
  const int64_t *size = ptec_arg_is_none(ctx, size_arg) ? NULL
                                                         : ptec_arg_int_list(ctx, size_arg, &ns);
  const double *factors = ptec_arg_double_list(ctx, scale_arg, &nf);
  PTEC_CHECK(ctx, (size != NULL) != (factors != NULL), PTEC_STATUS_INVALID_ARGUMENT,
             "give exactly one of output_size and scale_factors");
  PTEC_CHECK(ctx, size == NULL || ns == 2, PTEC_STATUS_INVALID_ARGUMENT,
             "output_size has %u values, not 2", (unsigned)ns);
  PTEC_CHECK(ctx, factors == NULL || nf == 2, PTEC_STATUS_INVALID_ARGUMENT,
             "scale_factors has %u values, not 2", (unsigned)nf);
  for (int k = 0; k < 2; k++) {
    if (size != NULL) {
      u->out[k] = size[k];
    } else {
      double f;
      memcpy(&f, &factors[k], sizeof f);
      PTEC_CHECK(ctx, f > 0.0 && f < 65536.0, PTEC_STATUS_INVALID_ARGUMENT,
                 "scale factor out of range");
      u->has_scale[k] = true;
      u->scale[k] = f;
      u->out[k] = (int64_t)((double)u->in[k] * f);
    }
    PTEC_CHECK(ctx, u->out[k] > 0 && u->out[k] < ((int64_t)1 << 31), PTEC_STATUS_INVALID_ARGUMENT,
               "output size %lld", (long long)u->out[k]);
  }
  return PTEC_STATUS_OK;
}

/* compute_scales_value: 1 / factor when given, else in / out. */
static float scale_of(const upsample *u, int k) {
  return u->has_scale[k] ? (float)(1.0 / u->scale[k]) : (float)u->in[k] / (float)u->out[k];
}

static ptec_status check_out(ptec_kernel_context *ctx, const ptec_tensor *in,
                             const ptec_tensor *out, const upsample *u) {
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  int64_t sizes[4] = {in->sizes[0], in->sizes[1], u->out[0], u->out[1]};
  return ptec_check_shape(ctx, out, sizes, 4, "out");
}

/* upsample_nearest2d.vec_out(Tensor input, SymInt[]? output_size, float[]? scale_factors,
 *   *, Tensor(a!) out): in = min(floor(out * scale), in - 1). */
ptec_status ptec_kernel_upsample_nearest2d_vec_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  upsample u;
  PTEC_TRY(read_sizes(ctx, in, 1, 2, &u));
  PTEC_TRY(check_out(ctx, in, out, &u));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(in->dtype));
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  float sh = scale_of(&u, 0), sw = scale_of(&u, 1);
  size_t esize = ptec_dtype_size(in->dtype);
  for (int64_t n = 0; n < in->sizes[0]; n++)
    for (int64_t c = 0; c < in->sizes[1]; c++)
      for (int64_t y = 0; y < u.out[0]; y++) {
        int64_t iy = (int64_t)floorf((float)y * sh);
        if (iy > u.in[0] - 1) iy = u.in[0] - 1;
        for (int64_t x = 0; x < u.out[1]; x++) {
          int64_t ix = (int64_t)floorf((float)x * sw);
          if (ix > u.in[1] - 1) ix = u.in[1] - 1;
          int64_t o = n * os[0] + c * os[1] + y * os[2] + x * os[3];
          int64_t i = n * is[0] + c * is[1] + iy * is[2] + ix * is[3];
          memcpy((char *)out->data + o * (int64_t)esize,
                 (const char *)in->data + i * (int64_t)esize, esize);
        }
      }
  return PTEC_STATUS_OK;
}

/* upsample_bilinear2d.vec_out(Tensor input, SymInt[]? output_size, bool align_corners,
 *   float[]? scale_factors, *, Tensor(a!) out): float32, float16, bfloat16. */
ptec_status ptec_kernel_upsample_bilinear2d_vec_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  bool align = ptec_arg_bool(ctx, 2);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  upsample u;
  PTEC_TRY(read_sizes(ctx, in, 1, 3, &u));
  PTEC_TRY(check_out(ctx, in, out, &u));
  float scale[2];
  for (int k = 0; k < 2; k++)
    scale[k] = align ? (u.out[k] > 1 ? (float)(u.in[k] - 1) / (float)(u.out[k] - 1) : 0.0f)
                     : scale_of(&u, k);
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  int64_t osz[4] = {in->sizes[0], in->sizes[1], u.out[0], u.out[1]};
  int64_t isz[4] = {in->sizes[0], in->sizes[1], u.in[0], u.in[1]};
  if (out->dtype != PTEC_DTYPE_FLOAT32)
    ptec_upsample_bilinear2d_half(in->data, out->data, isz, osz, is, os, scale, align,
                                  out->dtype == PTEC_DTYPE_BFLOAT16);
  else bilinear_f32(in->data, out->data, isz, osz, is, os, scale, align, false);
  return PTEC_STATUS_OK;
}
