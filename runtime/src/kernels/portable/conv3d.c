/* 3-D convolution, float32 (the half types in op_convolution_half.c), any dim orders:
 * direct loops like the 2-D reference (taps outer, input channels inner, accumulating in
 * float). */
#include "kernels/portable/conv3d.h"

#include "kernels/portable/common.h"
#include "kernels/portable/half.h"

/* stride / padding / dilation: 3 entries or 1 for all. */
static ptec_status list3(ptec_kernel_context *ctx, uint32_t arg, int64_t v[3], int64_t low,
                         const char *name) {
  uint32_t n;
  const int64_t *l = ptec_arg_int_list(ctx, arg, &n);
  PTEC_CHECK(ctx, n == 3 || n == 1, PTEC_STATUS_INVALID_ARGUMENT,
             "%s has %u entries, expected 3", name, (unsigned)n);
  for (uint32_t k = 0; k < 3; k++) {
    v[k] = l[n == 1 ? 0 : k];
    PTEC_CHECK(ctx, v[k] >= low && v[k] <= INT32_MAX, PTEC_STATUS_OUT_OF_RANGE,
               "%s %lld out of range", name, (long long)v[k]);
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_conv3d_f32(ptec_kernel_context *ctx, const ptec_tensor *in,
                            const ptec_tensor *w, const ptec_tensor *bias, ptec_tensor *out) {
  int64_t stride[3], pad[3], dil[3];
  PTEC_TRY(list3(ctx, 3, stride, 1, "stride"));
  PTEC_TRY(list3(ctx, 4, pad, 0, "padding"));
  PTEC_TRY(list3(ctx, 5, dil, 1, "dilation"));
  int64_t groups = ptec_arg_int(ctx, 8);
  PTEC_CHECK(ctx, groups > 0 && groups <= INT32_MAX, PTEC_STATUS_INVALID_ARGUMENT,
             "groups must be positive");
  PTEC_CHECK(ctx, w->rank == 5, PTEC_STATUS_SHAPE_MISMATCH, "weight must have rank 5");
  int64_t N = in->sizes[0], C = in->sizes[1], OC = w->sizes[0], ICg = w->sizes[1];
  PTEC_CHECK(ctx, C == ICg * groups && OC % groups == 0, PTEC_STATUS_SHAPE_MISMATCH,
             "weight [%lld, %lld, ...] does not fit %lld input channels in %lld groups",
             (long long)OC, (long long)ICg, (long long)C, (long long)groups);
  int64_t size[3], k[3], osz[3];
  for (int d = 0; d < 3; d++) {
    size[d] = in->sizes[2 + d];
    k[d] = w->sizes[2 + d];
    PTEC_CHECK(ctx, size[d] + 2 * pad[d] >= dil[d] * (k[d] - 1) + 1, PTEC_STATUS_SHAPE_MISMATCH,
               "kernel is larger than the padded input");
    osz[d] = (size[d] + 2 * pad[d] - dil[d] * (k[d] - 1) - 1) / stride[d] + 1;
  }
  int64_t want[5] = {N, OC, osz[0], osz[1], osz[2]};
  PTEC_TRY(ptec_check_shape(ctx, out, want, 5, "out"));
  if (bias != NULL) {
    PTEC_TRY(ptec_check_dtype(ctx, bias, out->dtype, "bias"));
    PTEC_CHECK(ctx, bias->rank == 1 && bias->sizes[0] == OC, PTEC_STATUS_SHAPE_MISMATCH,
               "bias must have shape [%lld]", (long long)OC);
  }
  int64_t is[PTEC_MAX_RANK], ws[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(w, ws);
  ptec_tensor_strides(out, os);
  if (out->dtype != PTEC_DTYPE_FLOAT32) { /* float16, bfloat16: op_convolution_half.c */
    ptec_conv_half h = {in->data, w->data, bias ? bias->data : NULL, out->data,
                        out->dtype == PTEC_DTYPE_BFLOAT16, N, C, OC, groups, 1,
                        {size[0], size[1], size[2]}, {k[0], k[1], k[2]},
                        {osz[0], osz[1], osz[2]}, {stride[0], stride[1], stride[2]},
                        {pad[0], pad[1], pad[2]}, {dil[0], dil[1], dil[2]},
                        {is[0], is[1], is[2], is[3], is[4]}, {ws[0], ws[1], ws[2], ws[3], ws[4]},
                        {os[0], os[1], os[2], os[3], os[4]}};
    ptec_conv_half_run(&h);
    return PTEC_STATUS_OK;
  }
  const float *x = in->data, *wt = w->data, *b = bias ? bias->data : NULL;
  float *y = out->data;
  int64_t OCg = OC / groups;
  for (int64_t n = 0; n < N; n++)
    for (int64_t oc = 0; oc < OC; oc++) {
      const float *xg = x + n * is[0] + (oc / OCg) * ICg * is[1];
      const float *wo = wt + oc * ws[0];
      for (int64_t od = 0; od < osz[0]; od++)
        for (int64_t oh = 0; oh < osz[1]; oh++)
          for (int64_t ow = 0; ow < osz[2]; ow++) {
            float acc = 0.0f;
            for (int64_t kd = 0; kd < k[0]; kd++) {
              int64_t id = od * stride[0] - pad[0] + kd * dil[0];
              if (id < 0 || id >= size[0]) continue;
              for (int64_t kh = 0; kh < k[1]; kh++) {
                int64_t ih = oh * stride[1] - pad[1] + kh * dil[1];
                if (ih < 0 || ih >= size[1]) continue;
                for (int64_t kw = 0; kw < k[2]; kw++) {
                  int64_t iw = ow * stride[2] - pad[2] + kw * dil[2];
                  if (iw < 0 || iw >= size[2]) continue;
                  const float *xp = xg + id * is[2] + ih * is[3] + iw * is[4];
                  const float *wp = wo + kd * ws[2] + kh * ws[3] + kw * ws[4];
                  for (int64_t ic = 0; ic < ICg; ic++) acc += xp[ic * is[1]] * wp[ic * ws[1]];
                }
              }
            }
            y[n * os[0] + oc * os[1] + od * os[2] + oh * os[3] + ow * os[4]] =
                acc + (b != NULL ? b[oc] : 0.0f);
          }
    }
  return PTEC_STATUS_OK;
}
