/* grid_sampler_2d: bilinear and nearest sampling of [N, C, H, W] at the
 * grid's [-1, 1] coordinates, zeros / border / reflection padding, as
 * PyTorch's CPU kernel (GridSampler.h) computes them in float32. In float16 /
 * bfloat16 PyTorch runs its scalar loop in the half type, so every operation
 * (unnormalize, reflect, the weights, each product and sum) rounds to it:
 * R() below does that rounding (a no-op for float32), bit-exact with eager. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/half.h"
#include "kernels/ops_decl.h"

enum { BILINEAR = 0, NEAREST = 1, PAD_ZEROS = 0, PAD_BORDER = 1, PAD_REFLECTION = 2 };

/* ht: 0 float32, 1 float16, 2 bfloat16. */
static float R(float v, int ht) { return ht ? ptec_half_round(v, ht == 2) : v; }

static float clip(float x, int64_t size) {
  float hi = (float)(size - 1);
  return x < 0.0f ? 0.0f : x > hi ? hi : x;
}

static float reflect(float x, float twice_low, float twice_high, int ht) {
  if (twice_low == twice_high) return 0.0f;
  float lo = R(twice_low / 2.0f, ht), span = R((twice_high - twice_low) / 2.0f, ht);
  x = R(fabsf(R(x - lo, ht)), ht);
  float extra = R(fmodf(x, span), ht);
  int64_t flips = (int64_t)floorf(R(x / span, ht));
  return flips % 2 == 0 ? R(extra + lo, ht) : R(R(span - extra, ht) + lo, ht);
}

/* grid_sampler_compute_source_index */
static float source_index(float g, int64_t size, int padding, bool align, int ht) {
  float n = (float)size;
  float x = align ? R(R(R(g + 1.0f, ht) / 2.0f, ht) * R(n - 1.0f, ht), ht)
                  : R(R(R(R(g + 1.0f, ht) * R(n, ht), ht) - 1.0f, ht) / 2.0f, ht);
  if (padding == PAD_BORDER) {
    x = clip(x, size);
  } else if (padding == PAD_REFLECTION) {
    x = align ? reflect(x, 0.0f, 2.0f * (n - 1.0f), ht)
              : reflect(x, -1.0f, 2.0f * n - 1.0f, ht);
    x = clip(x, size);
  }
  return x;
}

/* grid_sampler_2d.out(Tensor input, Tensor grid, int interpolation_mode,
 *   int padding_mode, bool align_corners, *, Tensor(a!) out) */
ptec_status ptec_kernel_grid_sampler_2d_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0), *grid = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  int64_t mode = ptec_arg_int(ctx, 2), padding = ptec_arg_int(ctx, 3);
  bool align = ptec_arg_bool(ctx, 4);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_TRY(ptec_check_dtype(ctx, grid, in->dtype, "grid"));
  int dt = in->dtype;
  int ht = dt == PTEC_DTYPE_FLOAT16 ? 1 : dt == PTEC_DTYPE_BFLOAT16 ? 2 : 0;
  PTEC_CHECK(ctx, mode == BILINEAR || mode == NEAREST, PTEC_STATUS_NOT_SUPPORTED,
             "interpolation mode %lld (bicubic) is not supported", (long long)mode);
  PTEC_CHECK(ctx, padding >= PAD_ZEROS && padding <= PAD_REFLECTION, PTEC_STATUS_INVALID_ARGUMENT,
             "padding mode %lld", (long long)padding);
  PTEC_CHECK(ctx, in->rank == 4 && grid->rank == 4 && grid->sizes[0] == in->sizes[0] &&
                      grid->sizes[3] == 2,
             PTEC_STATUS_SHAPE_MISMATCH, "input must be [N, C, H, W] and grid [N, H', W', 2]");
  int64_t N = in->sizes[0], C = in->sizes[1], H = in->sizes[2], W = in->sizes[3];
  int64_t OH = grid->sizes[1], OW = grid->sizes[2];
  int64_t want[4] = {N, C, OH, OW};
  PTEC_TRY(ptec_check_shape(ctx, out, want, 4, "out"));
  int64_t is[PTEC_MAX_RANK], gs[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(grid, gs);
  ptec_tensor_strides(out, os);
  for (int64_t n = 0; n < N; n++)
    for (int64_t h = 0; h < OH; h++)
      for (int64_t w = 0; w < OW; w++) {
        int64_t gp = n * gs[0] + h * gs[1] + w * gs[2];
        float ix = source_index(ptec_load_f32(grid->data, dt, gp), W, (int)padding, align, ht);
        float iy = source_index(ptec_load_f32(grid->data, dt, gp + gs[3]), H, (int)padding,
                                align, ht);
        /* A grid point far outside (or NaN) samples only zeros; the bound
         * keeps the integer conversions below defined. */
        bool inside = fabsf(ix) < 1e9f && fabsf(iy) < 1e9f;
        for (int64_t c = 0; c < C; c++) {
          int64_t xp = n * is[0] + c * is[1];
          float v = 0.0f;
          if (!inside) {
            v = 0.0f;
          } else if (mode == NEAREST) {
            int64_t xi = (int64_t)nearbyintf(ix), yi = (int64_t)nearbyintf(iy);
            if (xi >= 0 && xi < W && yi >= 0 && yi < H)
              v = ptec_load_f32(in->data, dt, xp + yi * is[2] + xi * is[3]);
          } else {
            int64_t x0 = (int64_t)floorf(ix), y0 = (int64_t)floorf(iy);
            float fx = ix - (float)x0, fy = iy - (float)y0;
            float wts[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
            if (ht) { /* the half loop's weights: (x0 + 1 - ix) * (y0 + 1 - iy), ... */
              float gx = R((float)(x0 + 1) - ix, ht), gy = R((float)(y0 + 1) - iy, ht);
              fx = R(fx, ht);
              fy = R(fy, ht);
              wts[0] = R(gx * gy, ht);
              wts[1] = R(fx * gy, ht);
              wts[2] = R(gx * fy, ht);
              wts[3] = R(fx * fy, ht);
            }
            for (int k = 0; k < 4; k++) {
              int64_t xi = x0 + (k & 1), yi = y0 + (k >> 1);
              if (xi >= 0 && xi < W && yi >= 0 && yi < H)
                v = R(v + R(ptec_load_f32(in->data, dt, xp + yi * is[2] + xi * is[3]) * wts[k], ht),
                      ht);
            }
          }
          ptec_store_f32(out->data, dt, n * os[0] + c * os[1] + h * os[2] + w * os[3], v);
        }
      }
  return PTEC_STATUS_OK;
}
