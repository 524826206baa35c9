/* convolution_backward.out: the gradients of a 2-D convolution, as ExecuTorch's portable
 * kernel gives them: not transposed, [N, C, H, W] tensors (any dim orders), groups,
 * stride, padding, dilation; float64, float32, float16 and bfloat16; any output_mask
 * (an out whose mask entry is false is neither checked nor written, so the compiler may
 * give it an empty placeholder).
 *
 * Each gradient element is gathered as one sum in double and rounded once on store (no
 * scatter, so no scratch and no order that depends on the loop nest):
 *   grad_bias[oc]             = sum over n, oh, ow of g[n, oc, oh, ow]
 *   grad_weight[oc, ic, kh, kw] = sum over n, oh, ow of g[n, oc, oh, ow] * x[n, c, ih, iw]
 *   grad_input[n, c, ih, iw]  = sum over the oc of c's group and the taps (kh, kw) that
 *                               reach (ih, iw) from some (oh, ow) of g * w[oc, ic, kh, kw]
 * with c = group * C/groups + ic, ih = oh * stride - pad + kh * dilation (w likewise). */
#include "kernels/portable/common.h"
#include "kernels/portable/float_any.h"
#include "kernels/ops_decl.h"

typedef struct conv_grad {
  const void *g, *x, *w;
  int dtype;
  int64_t N, C, H, W, OC, ICg, KH, KW, OH, OW, groups;
  int64_t s[2], p[2], d[2];
  int64_t gs[PTEC_MAX_RANK], xs[PTEC_MAX_RANK], ws[PTEC_MAX_RANK]; /* element strides */
} conv_grad;

/* Element [a, b, h, w] of a 4-D operand with element strides s. */
static double at4(const conv_grad *c, const void *p, const int64_t *s, int64_t a, int64_t b,
                  int64_t h, int64_t w) {
  return ptec_ld_any(p, c->dtype, a * s[0] + b * s[1] + h * s[2] + w * s[3]);
}

static void grad_bias(const conv_grad *c, ptec_tensor *out) {
  int64_t os[PTEC_MAX_RANK];
  ptec_tensor_strides(out, os);
  for (int64_t oc = 0; oc < c->OC; oc++) {
    double acc = 0.0;
    for (int64_t n = 0; n < c->N; n++)
      for (int64_t oh = 0; oh < c->OH; oh++)
        for (int64_t ow = 0; ow < c->OW; ow++)
          acc += at4(c, c->g, c->gs, n, oc, oh, ow);
    ptec_st_any(out->data, out->dtype, oc * os[0], acc);
  }
}

static void grad_weight(const conv_grad *c, ptec_tensor *out) {
  int64_t os[PTEC_MAX_RANK];
  ptec_tensor_strides(out, os);
  int64_t OCg = c->OC / c->groups;
  for (int64_t oc = 0; oc < c->OC; oc++)
    for (int64_t ic = 0; ic < c->ICg; ic++) {
      int64_t ch = (oc / OCg) * c->ICg + ic;
      for (int64_t kh = 0; kh < c->KH; kh++)
        for (int64_t kw = 0; kw < c->KW; kw++) {
          double acc = 0.0;
          for (int64_t n = 0; n < c->N; n++)
            for (int64_t oh = 0; oh < c->OH; oh++) {
              int64_t ih = oh * c->s[0] - c->p[0] + kh * c->d[0];
              if (ih < 0 || ih >= c->H) continue;
              for (int64_t ow = 0; ow < c->OW; ow++) {
                int64_t iw = ow * c->s[1] - c->p[1] + kw * c->d[1];
                if (iw < 0 || iw >= c->W) continue;
                acc += at4(c, c->g, c->gs, n, oc, oh, ow) * at4(c, c->x, c->xs, n, ch, ih, iw);
              }
            }
          ptec_st_any(out->data, out->dtype,
                      oc * os[0] + ic * os[1] + kh * os[2] + kw * os[3], acc);
        }
    }
}

/* The output position along one dim that tap k reaches input position i from, or -1. */
static int64_t source(int64_t i, int64_t k, int64_t s, int64_t p, int64_t d, int64_t osize) {
  int64_t t = i + p - k * d;
  if (t < 0 || t % s != 0 || t / s >= osize) return -1;
  return t / s;
}

static void grad_input(const conv_grad *c, ptec_tensor *out) {
  int64_t os[PTEC_MAX_RANK];
  ptec_tensor_strides(out, os);
  int64_t OCg = c->OC / c->groups;
  for (int64_t n = 0; n < c->N; n++)
    for (int64_t ch = 0; ch < c->C; ch++) {
      int64_t g0 = (ch / c->ICg) * OCg, ic = ch % c->ICg;
      for (int64_t ih = 0; ih < c->H; ih++)
        for (int64_t iw = 0; iw < c->W; iw++) {
          double acc = 0.0;
          for (int64_t kh = 0; kh < c->KH; kh++) {
            int64_t oh = source(ih, kh, c->s[0], c->p[0], c->d[0], c->OH);
            if (oh < 0) continue;
            for (int64_t kw = 0; kw < c->KW; kw++) {
              int64_t ow = source(iw, kw, c->s[1], c->p[1], c->d[1], c->OW);
              if (ow < 0) continue;
              for (int64_t oc = g0; oc < g0 + OCg; oc++)
                acc += at4(c, c->g, c->gs, n, oc, oh, ow) * at4(c, c->w, c->ws, oc, ic, kh, kw);
            }
          }
          ptec_st_any(out->data, out->dtype,
                      n * os[0] + ch * os[1] + ih * os[2] + iw * os[3], acc);
        }
    }
}

/* stride / padding / dilation: 1 entry (both dims) or 2. */
static ptec_status hw_list(ptec_kernel_context *ctx, uint32_t arg, int64_t v[2],
                           const char *name) {
  uint32_t count;
  const int64_t *list = ptec_arg_int_list(ctx, arg, &count);
  PTEC_CHECK(ctx, count == 1 || count == 2, PTEC_STATUS_INVALID_ARGUMENT,
             "%s has %u entries, expected 2", name, (unsigned)count);
  v[0] = list[0];
  v[1] = list[count - 1];
  /* Below 2^31 each, the shape arithmetic stays far inside int64. */
  PTEC_CHECK(ctx, v[0] >= 0 && v[1] >= 0 && v[0] <= INT32_MAX && v[1] <= INT32_MAX,
             PTEC_STATUS_OUT_OF_RANGE, "%s must be in [0, 2^31 - 1]", name);
  return PTEC_STATUS_OK;
}

static ptec_status check_out(ptec_kernel_context *ctx, const ptec_tensor *t, int dtype,
                             const int64_t *sizes, uint32_t rank, const char *name) {
  PTEC_TRY(ptec_check_dtype(ctx, t, dtype, name));
  return ptec_check_shape(ctx, t, sizes, rank, name);
}

/* convolution_backward.out(Tensor grad_output, Tensor input, Tensor weight,
 *   SymInt[]? bias_sizes, SymInt[] stride, SymInt[] padding, SymInt[] dilation,
 *   bool transposed, SymInt[] output_padding, SymInt groups, bool[3] output_mask, *,
 *   Tensor(a!) out0, Tensor(b!) out1, Tensor(c!) out2) */
ptec_status ptec_kernel_convolution_backward_out(ptec_kernel_context *ctx) {
  const ptec_tensor *g = ptec_arg_tensor(ctx, 0), *x = ptec_arg_tensor(ctx, 1),
                    *w = ptec_arg_tensor(ctx, 2);
  ptec_tensor *outs[3] = {ptec_arg_tensor(ctx, 11), ptec_arg_tensor(ctx, 12),
                          ptec_arg_tensor(ctx, 13)};
  const ptec_value *mask_v = ptec_arg(ctx, 10);
  PTEC_CHECK(ctx, mask_v->count == 3, PTEC_STATUS_INVALID_ARGUMENT,
             "output_mask has %u entries, expected 3", (unsigned)mask_v->count);
  bool mask[3] = {mask_v->u.bool_list[0] != 0, mask_v->u.bool_list[1] != 0,
                  mask_v->u.bool_list[2] != 0};
  PTEC_CHECK(ctx, !ptec_arg_bool(ctx, 7), PTEC_STATUS_NOT_SUPPORTED,
             "transposed convolution backward is not supported (nor by ExecuTorch's "
             "portable kernel)");
  PTEC_CHECK(ctx, x->rank == 4 && w->rank == 4 && g->rank == 4, PTEC_STATUS_NOT_SUPPORTED,
             "only 2-D convolution backward ([N, C, H, W]) is supported, got input rank %u",
             (unsigned)x->rank);
  PTEC_CHECK(ctx, ptec_dtype_is_float_any(x->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported (float64, float32, float16, bfloat16)",
             ptec_dtype_name(x->dtype));
  PTEC_TRY(ptec_check_same_dtype(ctx, x, w, "input", "weight"));
  PTEC_TRY(ptec_check_same_dtype(ctx, x, g, "input", "grad_output"));

  conv_grad c = {g->data, x->data, w->data, x->dtype, x->sizes[0], x->sizes[1], x->sizes[2],
                 x->sizes[3], w->sizes[0], w->sizes[1], w->sizes[2], w->sizes[3], 0, 0,
                 ptec_arg_int(ctx, 9), {0}, {0}, {0}, {0}, {0}, {0}};
  PTEC_TRY(hw_list(ctx, 4, c.s, "stride"));
  PTEC_TRY(hw_list(ctx, 5, c.p, "padding"));
  PTEC_TRY(hw_list(ctx, 6, c.d, "dilation"));
  PTEC_CHECK(ctx, c.s[0] > 0 && c.s[1] > 0 && c.d[0] > 0 && c.d[1] > 0 && c.groups > 0 &&
                      c.groups <= INT32_MAX,
             PTEC_STATUS_INVALID_ARGUMENT, "stride, dilation and groups must be positive");
  PTEC_CHECK(ctx, c.C == c.ICg * c.groups && c.OC % c.groups == 0, PTEC_STATUS_SHAPE_MISMATCH,
             "weight [%lld, %lld, ...] does not fit %lld input channels in %lld groups",
             (long long)c.OC, (long long)c.ICg, (long long)c.C, (long long)c.groups);
  PTEC_CHECK(ctx, c.H + 2 * c.p[0] >= c.d[0] * (c.KH - 1) + 1 &&
                      c.W + 2 * c.p[1] >= c.d[1] * (c.KW - 1) + 1,
             PTEC_STATUS_SHAPE_MISMATCH, "kernel is larger than the padded input");
  c.OH = (c.H + 2 * c.p[0] - c.d[0] * (c.KH - 1) - 1) / c.s[0] + 1;
  c.OW = (c.W + 2 * c.p[1] - c.d[1] * (c.KW - 1) - 1) / c.s[1] + 1;
  int64_t gsz[4] = {c.N, c.OC, c.OH, c.OW};
  PTEC_TRY(ptec_check_shape(ctx, g, gsz, 4, "grad_output"));
  int64_t xsz[PTEC_MAX_RANK], wsz[PTEC_MAX_RANK], bsz[1] = {c.OC};
  ptec_tensor_sizes64(x, xsz);
  ptec_tensor_sizes64(w, wsz);
  if (!ptec_arg_is_none(ctx, 3)) {
    uint32_t count;
    const int64_t *bias_sizes = ptec_arg_int_list(ctx, 3, &count);
    PTEC_CHECK(ctx, count == 1 && bias_sizes[0] == c.OC, PTEC_STATUS_SHAPE_MISMATCH,
               "bias_sizes must be [%lld]", (long long)c.OC);
  }
  if (mask[0]) PTEC_TRY(check_out(ctx, outs[0], x->dtype, xsz, 4, "grad_input (out0)"));
  if (mask[1]) PTEC_TRY(check_out(ctx, outs[1], x->dtype, wsz, 4, "grad_weight (out1)"));
  if (mask[2]) PTEC_TRY(check_out(ctx, outs[2], x->dtype, bsz, 1, "grad_bias (out2)"));
  ptec_tensor_strides(g, c.gs);
  ptec_tensor_strides(x, c.xs);
  ptec_tensor_strides(w, c.ws);
  if (mask[0]) grad_input(&c, outs[0]);
  if (mask[1]) grad_weight(&c, outs[1]);
  if (mask[2]) grad_bias(&c, outs[2]);
  return PTEC_STATUS_OK;
}
