/* convolution.out: 2-D and 1-D (as 2-D with H = 1; 3-D in conv3d.c), groups, stride,
 * padding, dilation; float32 (float16 and bfloat16 in op_convolution_half.c), any dim
 * orders. Direct loops: for each output element, taps outer and input channels inner,
 * accumulating in float. */
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

/* convolution.out(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride,
 *   SymInt[] padding, SymInt[] dilation, bool transposed, SymInt[] output_padding,
 *   SymInt groups, *, Tensor(a!) out) */
ptec_status ptec_kernel_convolution_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0), *w = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *bias = ptec_arg_opt_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 9);
  PTEC_CHECK(ctx, !ptec_arg_bool(ctx, 6), PTEC_STATUS_NOT_SUPPORTED,
             "transposed convolution is not supported");
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_TRY(ptec_check_dtype(ctx, w, out->dtype, "weight"));
  if (in->rank == 5) return ptec_conv3d_f32(ctx, in, w, bias, out); /* conv3d.c */
  PTEC_CHECK(ctx, (in->rank == 4 || in->rank == 3) && w->rank == in->rank,
             PTEC_STATUS_NOT_SUPPORTED,
             "only 1-D, 2-D and 3-D convolution (input rank 3 to 5) are supported, got rank %u",
             (unsigned)in->rank);
  uint32_t nsp = in->rank - 2u;
  int64_t stride[2] = {0}, pad[2] = {0}, dil[2] = {0};
  PTEC_TRY(spatial_list(ctx, 3, nsp, 1, stride, "stride"));
  PTEC_TRY(spatial_list(ctx, 4, nsp, 0, pad, "padding"));
  PTEC_TRY(spatial_list(ctx, 5, nsp, 1, dil, "dilation"));
  int64_t groups = ptec_arg_int(ctx, 8);
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
    return PTEC_STATUS_OK;
  }

  const float *x = in->data, *wt = w->data, *b = bias ? bias->data : NULL;
  float *y = out->data;
  ptec_conv_f32 v = {x, wt, b, y, N, C, H, W, OC, KH, KW, OH, OW, groups,
                     {stride[0], stride[1]}, {pad[0], pad[1]}, {dil[0], dil[1]},
                     {is[0], is[1], ish, isw}, {ws[0], ws[1], wsh, wsw},
                     {os[0], os[1], osh, osw}, ctx->parallel};
  if (PTEC_F_VARIANT_CONV(&v)) return PTEC_STATUS_OK; /* variants.h */
  int64_t OCg = OC / groups;
  for (int64_t n = 0; n < N; n++)
    for (int64_t oc = 0; oc < OC; oc++) {
      const float *xg = x + n * is[0] + (oc / OCg) * ICg * is[1];
      const float *wo = wt + oc * ws[0];
      float bv = b ? b[oc * bias_stride] : 0.0f;
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          float acc = 0.0f;
          for (int64_t kh = 0; kh < KH; kh++) {
            int64_t ih = oh * stride[0] - pad[0] + kh * dil[0];
            if (ih < 0 || ih >= H) continue;
            for (int64_t kw = 0; kw < KW; kw++) {
              int64_t iw = ow * stride[1] - pad[1] + kw * dil[1];
              if (iw < 0 || iw >= W) continue;
              const float *xp = xg + ih * ish + iw * isw;
              const float *wp = wo + kh * wsh + kw * wsw;
              for (int64_t ic = 0; ic < ICg; ic++) acc += xp[ic * is[1]] * wp[ic * ws[1]];
            }
          }
          y[n * os[0] + oc * os[1] + oh * osh + ow * osw] = acc + bv;
        }
    }
  return PTEC_STATUS_OK;
}
