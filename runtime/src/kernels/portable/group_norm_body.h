/* native_group_norm, a template (half.h): the includer defines LD, ST, OFFSET_OF and
 * GROUP_NORM. Per sample and group of C / group channels, mean and biased variance over
 * those channels' elements, in double; the output computed in float32 and rounded once;
 * mean and rstd stored in the input's dtype, as PyTorch returns them. */
#include <math.h>

/* Offset of element (n, c, s) of t, s indexing its dims 2.. flattened. */
static int64_t OFFSET_OF(const ptec_tensor *t, const int64_t *strides, int64_t n, int64_t c,
                         int64_t s) {
  int64_t off = n * strides[0] + c * strides[1];
  for (uint32_t d = t->rank; d-- > 2;) {
    off += (s % t->sizes[d]) * strides[d];
    s /= t->sizes[d];
  }
  return off;
}

static ptec_status GROUP_NORM(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  const ptec_tensor *w = ptec_arg_opt_tensor(ctx, 1), *b = ptec_arg_opt_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 8), *mean = ptec_arg_tensor(ctx, 9);
  ptec_tensor *rstd = ptec_arg_tensor(ctx, 10);
  int64_t n = ptec_arg_int(ctx, 3), c = ptec_arg_int(ctx, 4), hw = ptec_arg_int(ctx, 5);
  int64_t groups = ptec_arg_int(ctx, 6);
  double eps = ptec_arg_double(ctx, 7);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_TRY(ptec_check_dtype(ctx, mean, out->dtype, "out1"));
  PTEC_TRY(ptec_check_dtype(ctx, rstd, out->dtype, "out2"));
  bool bf = out->dtype == PTEC_DTYPE_BFLOAT16;
  (void)bf;
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out0"));
  PTEC_CHECK(ctx, in->rank >= 2 && in->sizes[0] == n && in->sizes[1] == c &&
                      n * c * hw == (int64_t)in->numel,
             PTEC_STATUS_SHAPE_MISMATCH, "input is not [N=%lld, C=%lld, HxW=%lld]",
             (long long)n, (long long)c, (long long)hw);
  PTEC_CHECK(ctx, groups > 0 && c % groups == 0, PTEC_STATUS_INVALID_ARGUMENT,
             "%lld channels in %lld groups", (long long)c, (long long)groups);
  int64_t stat_sizes[2] = {n, groups};
  PTEC_TRY(ptec_check_shape(ctx, mean, stat_sizes, 2, "out1"));
  PTEC_TRY(ptec_check_shape(ctx, rstd, stat_sizes, 2, "out2"));
  int64_t cs[1] = {c};
  if (w != NULL) PTEC_TRY(ptec_check_shape(ctx, w, cs, 1, "weight"));
  if (b != NULL) PTEC_TRY(ptec_check_shape(ctx, b, cs, 1, "bias"));
  if (w != NULL) PTEC_TRY(ptec_check_dtype(ctx, w, out->dtype, "weight"));
  if (b != NULL) PTEC_TRY(ptec_check_dtype(ctx, b, out->dtype, "bias"));
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK], ms[PTEC_MAX_RANK], rs[PTEC_MAX_RANK];
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  ptec_tensor_strides(mean, ms);
  ptec_tensor_strides(rstd, rs);
  const void *x = in->data;
  void *y = out->data;
  int64_t per = c / groups;
  for (int64_t i = 0; i < n; i++)
    for (int64_t g = 0; g < groups; g++) {
      double sum = 0.0, sq = 0.0, count = (double)(per * hw);
      for (int64_t ch = g * per; ch < (g + 1) * per; ch++)
        for (int64_t s = 0; s < hw; s++) sum += LD(x, OFFSET_OF(in, is, i, ch, s));
      double m = count > 0.0 ? sum / count : 0.0;
      for (int64_t ch = g * per; ch < (g + 1) * per; ch++)
        for (int64_t s = 0; s < hw; s++) {
          double d = LD(x, OFFSET_OF(in, is, i, ch, s)) - m;
          sq += d * d;
        }
      float r = (float)(1.0 / sqrt((count > 0.0 ? sq / count : 0.0) + eps));
      ST(mean->data, i * ms[0] + g * ms[1], (float)m);
      ST(rstd->data, i * rs[0] + g * rs[1], r);
      for (int64_t ch = g * per; ch < (g + 1) * per; ch++) {
        float scale = r * (w != NULL ? LD(w->data, ch) : 1.0f);
        float shift = b != NULL ? LD(b->data, ch) : 0.0f;
        for (int64_t s = 0; s < hw; s++)
          ST(y, OFFSET_OF(out, os, i, ch, s),
             (LD(x, OFFSET_OF(in, is, i, ch, s)) - (float)m) * scale + shift);
      }
    }
  return PTEC_STATUS_OK;
}
