/* convolution.out: 2-D and 1-D (as 2-D with H = 1; 3-D in conv3d.c), groups, stride,
 * padding, dilation; float32 (float16 and bfloat16 in op_convolution_half.c), any dim
 * orders. Direct loops: for each output element, taps outer and input channels inner,
 * accumulating in float.
 *
 * ptec::conv2d_f32.out: the same 2-D float32 convolution with the relu / hardtanh /
 * clamp after it fused (outputs clamped to [min, max] as they are stored; None: no
 * bound) and, groups 1, the filters also packed at compile time into the x86
 * kernels' panels (python/ptec/cpu/pack_f32.py; docs/kernels-cpu.md, "fp32
 * convolution, packed and fused"):
 *
 *   conv2d_f32.out(Tensor input, Tensor weight, Tensor? bias, int[] stride,
 *                  int[] padding, int[] dilation, int groups, float? min,
 *                  float? max, Tensor? packed, *, Tensor(a!) out)
 *
 * The reference loops read `weight`; `packed` is for the variants, and method
 * init refuses a program whose `packed` is not the packing of `weight`. */
#include <math.h>
#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/conv3d.h"
#include "kernels/portable/half.h"
#include "kernels/portable/variants.h"
#include "kernels/ops_decl.h"

/* Reads a per-spatial-dim list ('L') of n (1 or 2) entries, a single entry
 * applying to every dim, into v[2] (H then W; H = `h_default` for 1-D). */
static ptec_status spatial_list(ptec_kernel_context *ctx, uint32_t arg, uint32_t n,
                                int64_t h_default, int64_t v[2], const char *name) {
  uint32_t count;
  const int64_t *list = ptec_arg_int_list(ctx, arg, &count);
  PTEC_CHECK(ctx, count == n || count == 1, PTEC_STATUS_INVALID_ARGUMENT,
             "%s has %u entries, expected %u", name, (unsigned)count, (unsigned)n);
  if (n == 1) {
    v[0] = h_default;
    v[1] = list[0];
  } else {
    v[0] = list[0];
    v[1] = list[count - 1];
  }
  return PTEC_STATUS_OK;
}

/* convolution.out's checks for the argument slots of its groups and out (the
 * rest are at the same slots in both ops); a float32 call is described in *v for
 * run_f32, other dtypes and 3-D run here (*done). */
static ptec_status setup(ptec_kernel_context *ctx, uint32_t arg_groups, uint32_t arg_out,
                         ptec_conv_f32 *v, bool *done) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0), *w = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *bias = ptec_arg_opt_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, arg_out);
  *done = false;
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_TRY(ptec_check_dtype(ctx, w, out->dtype, "weight"));
  if (in->rank == 5) {
    *done = true;
    return ptec_conv3d_f32(ctx, in, w, bias, out); /* conv3d.c */
  }
  PTEC_CHECK(ctx, (in->rank == 4 || in->rank == 3) && w->rank == in->rank,
             PTEC_STATUS_NOT_SUPPORTED,
             "only 1-D, 2-D and 3-D convolution (input rank 3 to 5) are supported, got rank %u",
             (unsigned)in->rank);
  uint32_t nsp = in->rank - 2u;
  int64_t stride[2] = {0}, pad[2] = {0}, dil[2] = {0};
  PTEC_TRY(spatial_list(ctx, 3, nsp, 1, stride, "stride"));
  PTEC_TRY(spatial_list(ctx, 4, nsp, 0, pad, "padding"));
  PTEC_TRY(spatial_list(ctx, 5, nsp, 1, dil, "dilation"));
  int64_t groups = ptec_arg_int(ctx, arg_groups);
  PTEC_CHECK(ctx, stride[0] > 0 && stride[1] > 0 && dil[0] > 0 && dil[1] > 0 && pad[0] >= 0 &&
                      pad[1] >= 0 && groups > 0,
             PTEC_STATUS_INVALID_ARGUMENT, "stride, dilation and groups must be positive");
  /* Below 2^31 each, the shape arithmetic below stays far inside int64. */
  PTEC_CHECK(ctx, stride[0] <= INT32_MAX && stride[1] <= INT32_MAX && dil[0] <= INT32_MAX &&
                      dil[1] <= INT32_MAX && pad[0] <= INT32_MAX && pad[1] <= INT32_MAX &&
                      groups <= INT32_MAX,
             PTEC_STATUS_OUT_OF_RANGE, "stride, padding, dilation or groups exceeds 2^31 - 1");

  /* Views as N, C, H, W with H of size 1 and stride 0 for 1-D. */
  int64_t is[PTEC_MAX_RANK], ws[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(w, ws);
  ptec_tensor_strides(out, os);
  int64_t N = in->sizes[0], C = in->sizes[1];
  int64_t H = nsp == 2 ? in->sizes[2] : 1, W = in->sizes[in->rank - 1];
  int64_t OC = w->sizes[0], ICg = w->sizes[1];
  int64_t KH = nsp == 2 ? w->sizes[2] : 1, KW = w->sizes[w->rank - 1];
  int64_t ish = nsp == 2 ? is[2] : 0, isw = is[in->rank - 1];
  int64_t wsh = nsp == 2 ? ws[2] : 0, wsw = ws[w->rank - 1];
  int64_t osh = nsp == 2 ? os[2] : 0, osw = os[out->rank - 1];
  PTEC_CHECK(ctx, C == ICg * groups && OC % groups == 0, PTEC_STATUS_SHAPE_MISMATCH,
             "weight [%lld, %lld, ...] does not fit %lld input channels in %lld groups",
             (long long)OC, (long long)ICg, (long long)C, (long long)groups);
  int64_t OH = (H + 2 * pad[0] - dil[0] * (KH - 1) - 1) / stride[0] + 1;
  int64_t OW = (W + 2 * pad[1] - dil[1] * (KW - 1) - 1) / stride[1] + 1;
  PTEC_CHECK(ctx, H + 2 * pad[0] >= dil[0] * (KH - 1) + 1 &&
                      W + 2 * pad[1] >= dil[1] * (KW - 1) + 1,
             PTEC_STATUS_SHAPE_MISMATCH, "kernel is larger than the padded input");
  int64_t want[4] = {N, OC, OH, OW};
  if (nsp == 1) want[2] = OW;
  PTEC_TRY(ptec_check_shape(ctx, out, want, in->rank, "out"));
  int64_t bias_stride = 0;
  if (bias) {
    PTEC_TRY(ptec_check_dtype(ctx, bias, out->dtype, "bias"));
    PTEC_CHECK(ctx, bias->rank == 1 && bias->sizes[0] == OC, PTEC_STATUS_SHAPE_MISMATCH,
               "bias must have shape [%lld]", (long long)OC);
    bias_stride = 1;
  }
  if (out->dtype != PTEC_DTYPE_FLOAT32) { /* as 3-D with D = 1 (and H = 1 for 1-D) */
    ptec_conv_half h = {in->data, w->data, bias ? bias->data : NULL, out->data,
                        out->dtype == PTEC_DTYPE_BFLOAT16, N, C, OC, groups, bias_stride,
                        {1, H, W}, {1, KH, KW}, {1, OH, OW}, {1, stride[0], stride[1]},
                        {0, pad[0], pad[1]}, {1, dil[0], dil[1]},
                        {is[0], is[1], 0, ish, isw}, {ws[0], ws[1], 0, wsh, wsw},
                        {os[0], os[1], 0, osh, osw}};
    ptec_conv_half_run(&h);
    *done = true;
    return PTEC_STATUS_OK;
  }

  *v = (ptec_conv_f32){in->data, w->data, bias ? bias->data : NULL, out->data, N, C, H, W,
                       OC, KH, KW, OH, OW, groups, {stride[0], stride[1]}, {pad[0], pad[1]},
                       {dil[0], dil[1]}, {is[0], is[1], ish, isw}, {ws[0], ws[1], wsh, wsw},
                       {os[0], os[1], osh, osw}, ctx->parallel, false, 0.0f, 0.0f, NULL};
  return PTEC_STATUS_OK;
}

/* NaN stays NaN (as relu and hardtanh leave it). */
static inline float clamp_f32(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void ptec_conv_f32_clamp_out(const ptec_conv_f32 *p) {
  for (int64_t n = 0; n < p->n; n++)
    for (int64_t oc = 0; oc < p->oc; oc++)
      for (int64_t oh = 0; oh < p->oh; oh++) {
        float *y = p->y + n * p->ys[0] + oc * p->ys[1] + oh * p->ys[2];
        for (int64_t ow = 0; ow < p->ow; ow++)
          y[ow * p->ys[3]] = clamp_f32(y[ow * p->ys[3]], p->lo, p->hi);
      }
}

static void run_f32(const ptec_conv_f32 *v) {
  if (PTEC_F_VARIANT_CONV(v)) { /* variants.h; the x86 ones clamp themselves */
#if !PTEC_KERNELS_X86
    if (v->clamp) ptec_conv_f32_clamp_out(v);
#endif
    return;
  }
  const float *x = v->x, *wt = v->w, *b = v->b;
  float *y = v->y;
  const int64_t *is = v->xs, *ws = v->ws, *os = v->ys;
  const int64_t ICg = v->c / v->groups, OCg = v->oc / v->groups;
  const float lo = v->clamp ? v->lo : -INFINITY, hi = v->clamp ? v->hi : INFINITY;
  for (int64_t n = 0; n < v->n; n++)
    for (int64_t oc = 0; oc < v->oc; oc++) {
      const float *xg = x + n * is[0] + (oc / OCg) * ICg * is[1];
      const float *wo = wt + oc * ws[0];
      float bv = b ? b[oc] : 0.0f;
      for (int64_t oh = 0; oh < v->oh; oh++)
        for (int64_t ow = 0; ow < v->ow; ow++) {
          float acc = 0.0f;
          for (int64_t kh = 0; kh < v->kh; kh++) {
            int64_t ih = oh * v->stride[0] - v->pad[0] + kh * v->dil[0];
            if (ih < 0 || ih >= v->h) continue;
            for (int64_t kw = 0; kw < v->kw; kw++) {
              int64_t iw = ow * v->stride[1] - v->pad[1] + kw * v->dil[1];
              if (iw < 0 || iw >= v->w_) continue;
              const float *xp = xg + ih * is[2] + iw * is[3];
              const float *wp = wo + kh * ws[2] + kw * ws[3];
              for (int64_t ic = 0; ic < ICg; ic++) acc += xp[ic * is[1]] * wp[ic * ws[1]];
            }
          }
          float r = acc + bv;
          y[n * os[0] + oc * os[1] + oh * os[2] + ow * os[3]] = v->clamp ? clamp_f32(r, lo, hi) : r;
        }
    }
}

/* convolution.out(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride,
 *   SymInt[] padding, SymInt[] dilation, bool transposed, SymInt[] output_padding,
 *   SymInt groups, *, Tensor(a!) out) */
ptec_status ptec_kernel_convolution_out(ptec_kernel_context *ctx) {
  PTEC_CHECK(ctx, !ptec_arg_bool(ctx, 6), PTEC_STATUS_NOT_SUPPORTED,
             "transposed convolution is not supported");
  ptec_conv_f32 v;
  bool done;
  PTEC_TRY(setup(ctx, 8, 9, &v, &done));
  if (!done) run_f32(&v);
  return PTEC_STATUS_OK;
}

enum { C2_GROUPS = 6, C2_MIN = 7, C2_MAX = 8, C2_PACKED = 9, C2_OUT = 10, PANEL = 8 };

/* conv2d_f32's checks: float32, rank 4, bounds, the packed tensor's shape. */
static ptec_status conv2d_setup(ptec_kernel_context *ctx, ptec_conv_f32 *v,
                                const ptec_tensor **packed) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0), *out = ptec_arg_tensor(ctx, C2_OUT);
  PTEC_CHECK(ctx, in->dtype == PTEC_DTYPE_FLOAT32 && out->dtype == PTEC_DTYPE_FLOAT32 &&
                      in->rank == 4,
             PTEC_STATUS_NOT_SUPPORTED, "conv2d_f32 takes float32 input and out of rank 4");
  bool done;
  PTEC_TRY(setup(ctx, C2_GROUPS, C2_OUT, v, &done));
  const bool has_lo = !ptec_arg_is_none(ctx, C2_MIN), has_hi = !ptec_arg_is_none(ctx, C2_MAX);
  const double lo = has_lo ? ptec_arg_double(ctx, C2_MIN) : -INFINITY;
  const double hi = has_hi ? ptec_arg_double(ctx, C2_MAX) : INFINITY;
  PTEC_CHECK(ctx, lo <= hi, PTEC_STATUS_INVALID_ARGUMENT,
             "min must not exceed max, and neither may be NaN");
  v->clamp = has_lo || has_hi;
  v->lo = (float)lo;
  v->hi = (float)hi;
  *packed = ptec_arg_opt_tensor(ctx, C2_PACKED);
  if (*packed) {
    const int64_t k = v->c * v->kh * v->kw, np = (v->oc + PANEL - 1) / PANEL * PANEL;
    PTEC_CHECK(ctx, v->groups == 1, PTEC_STATUS_NOT_SUPPORTED, "packed filters need groups 1");
    PTEC_CHECK(ctx, (*packed)->dtype == PTEC_DTYPE_FLOAT32 && (*packed)->rank == 1 &&
                        (*packed)->sizes[0] == np * k,
               PTEC_STATUS_SHAPE_MISMATCH, "packed must be float32 [%lld] for a [%lld, %lld] filter bank",
               (long long)(np * k), (long long)v->oc, (long long)k);
    v->packed = (*packed)->data;
  }
  return PTEC_STATUS_OK;
}

/* Bit for bit (-0 and NaN payloads count). */
static inline bool same_bits(float a, float b) {
  uint32_t x, y;
  memcpy(&x, &a, sizeof x);
  memcpy(&y, &b, sizeof y);
  return x == y;
}

/* Every packed value is filter j's value i (i in (c, ky, kx) order), zeros
 * past the filters. */
static bool packed_matches(const ptec_conv_f32 *v, const float *packed) {
  const int64_t C = v->c, KH = v->kh, KW = v->kw, k = C * KH * KW, oc = v->oc;
  const int64_t s0 = v->ws[0], s1 = v->ws[1], s2 = v->ws[2], s3 = v->ws[3];
  const int64_t np = (oc + PANEL - 1) / PANEL * PANEL;
  for (int64_t j = 0; j < np; j++) {
    const float *panel = packed + j / PANEL * PANEL * k + j % PANEL, *wj = v->w + j * s0;
    if (j >= oc) {
      for (int64_t i = 0; i < k; i++)
        if (!same_bits(panel[i * PANEL], 0.0f)) return false;
      continue;
    }
    for (int64_t c = 0; c < C; c++)
      for (int64_t ky = 0; ky < KH; ky++) {
        const float *wr = wj + c * s1 + ky * s2;
        for (int64_t kx = 0; kx < KW; kx++, panel += PANEL)
          if (!same_bits(panel[0], wr[kx * s3])) return false;
      }
  }
  return true;
}

ptec_status ptec_prepare_conv2d_f32_out(ptec_kernel_context *ctx) {
  ptec_conv_f32 v;
  const ptec_tensor *packed;
  PTEC_TRY(conv2d_setup(ctx, &v, &packed));
  PTEC_CHECK(ctx, !packed || packed_matches(&v, v.packed), PTEC_STATUS_MALFORMED,
             "packed does not hold the packing of the weight");
  return PTEC_STATUS_OK;
}

ptec_status ptec_kernel_conv2d_f32_out(ptec_kernel_context *ctx) {
  ptec_conv_f32 v;
  const ptec_tensor *packed;
  PTEC_TRY(conv2d_setup(ctx, &v, &packed));
  run_f32(&v);
  return PTEC_STATUS_OK;
}
