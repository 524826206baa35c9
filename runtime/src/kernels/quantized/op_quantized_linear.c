/*
 * ptec::quantized_linear.out(Tensor input, Tensor weight, Tensor? bias,
 *   int input_zp, int weight_zp, Tensor multiplier, Tensor shift,
 *   int output_zp, int activation_min, int activation_max, *,
 *   Tensor(a!) out) -> Tensor(a!)
 *
 * input [..., K], weight [N, K], bias [N], out [..., N]:
 *
 *   acc[..., j] = sum_k (x[..., k] - input_zp) * (w[j, k] - weight_zp)
 *   out = clamp(apply_scale_32(sat32(sat32(acc) + bias[j]), m[c], s[c])
 *               + output_zp, activation_min, activation_max)
 *
 * c = j (per-channel multiplier/shift of length N) or 0 (length 1). This is
 * what ExecuTorch's TOSA lowering makes of linear (a 1x1 CONV2D, then
 * RESCALE), so dtypes and the a16w8 rule are quantized_conv2d's: input int8
 * (bias int32) or int16 (bias int64 or int32), weight int8, out of the
 * input's dtype. Any dim orders; rows whose K elements are contiguous in
 * both input and weight take an int32 dot-product path.
 */
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/qparams.h"
#include "kernels/quantized/variants.h"

enum {
  ARG_INPUT, ARG_WEIGHT, ARG_BIAS, ARG_INPUT_ZP, ARG_WEIGHT_ZP, ARG_MULTIPLIER, ARG_SHIFT,
  ARG_OUTPUT_ZP, ARG_ACT_MIN, ARG_ACT_MAX, ARG_OUT
};

typedef struct linear {
  const ptec_tensor *in, *weight, *bias, *multiplier, *shift;
  ptec_tensor *out;
  int64_t k, n, scale_step;
  int32_t in_zp, w_zp, out_zp, act_min, act_max;
  uint32_t cpu_features; /* the context's, for the variant (ptec.h) */
} linear;

static ptec_status setup(ptec_kernel_context *ctx, linear *p, ptec_q_phase phase) {
  p->in = ptec_arg_tensor(ctx, ARG_INPUT);
  p->weight = ptec_arg_tensor(ctx, ARG_WEIGHT);
  p->bias = ptec_arg_opt_tensor(ctx, ARG_BIAS);
  p->multiplier = ptec_arg_tensor(ctx, ARG_MULTIPLIER);
  p->shift = ptec_arg_tensor(ctx, ARG_SHIFT);
  p->out = ptec_arg_tensor(ctx, ARG_OUT);
  p->cpu_features = ctx->cpu_features;
  const ptec_tensor *in = p->in, *w = p->weight, *out = p->out;
  PTEC_TRY(ptec_q_check_activation_dtype(ctx, in, "input"));
  PTEC_TRY(ptec_check_dtype(ctx, w, PTEC_DTYPE_INT8, "weight"));
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out"));
  PTEC_CHECK(ctx, in->rank >= 1 && w->rank == 2, PTEC_STATUS_SHAPE_MISMATCH,
             "input must be [..., K] and weight [N, K], got ranks %u and %u",
             (unsigned)in->rank, (unsigned)w->rank);
  p->k = in->sizes[in->rank - 1];
  p->n = w->sizes[0];
  PTEC_CHECK(ctx, w->sizes[1] == p->k, PTEC_STATUS_SHAPE_MISMATCH,
             "weight [%lld, %lld] does not match input features %lld", (long long)p->n,
             (long long)w->sizes[1], (long long)p->k);
  int64_t want[PTEC_MAX_RANK];
  for (uint32_t d = 0; d + 1 < in->rank; d++) want[d] = in->sizes[d];
  want[in->rank - 1] = p->n;
  PTEC_TRY(ptec_check_shape(ctx, out, want, in->rank, "out"));
  if (p->bias) {
    const ptec_tensor *b = p->bias;
    bool ok = b->dtype == PTEC_DTYPE_INT32 ||
              (in->dtype == PTEC_DTYPE_INT16 && b->dtype == PTEC_DTYPE_INT64);
    PTEC_CHECK(ctx, ok, PTEC_STATUS_TYPE_MISMATCH,
               "bias has dtype %s, expected int32 (or int64 with int16 input)",
               ptec_dtype_name(b->dtype));
    PTEC_CHECK(ctx, b->rank == 1 && b->sizes[0] == p->n, PTEC_STATUS_SHAPE_MISMATCH,
               "bias must have shape [%lld]", (long long)p->n);
  }
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_INPUT_ZP, in->dtype, "input_zp", &p->in_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_WEIGHT_ZP, PTEC_DTYPE_INT8, "weight_zp", &p->w_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, out->dtype, "output_zp", &p->out_zp));
  PTEC_TRY(ptec_q_activation_range(ctx, ARG_ACT_MIN, out->dtype, &p->act_min, &p->act_max));
  return ptec_q_scale_tensors(ctx, p->multiplier, p->shift, p->n, phase, &p->scale_step);
}

static int32_t output(const linear *p, int64_t j, int64_t acc) {
  const int32_t *m = p->multiplier->data, *s = p->shift->data;
  int64_t bias = 0;
  if (p->bias) {
    bias = p->bias->dtype == PTEC_DTYPE_INT64 ? ((const int64_t *)p->bias->data)[j]
                                              : ((const int32_t *)p->bias->data)[j];
  }
  int64_t c = j * p->scale_step;
  return ptec_q_requantize(acc, bias, m[c], s[c], p->out_zp, p->act_min, p->act_max);
}

/* The ISA variant (variants.h) over every row of `it`, int8 in and out with
 * K contiguous; false (nothing written) when there is none or it declines. */
static bool linear_variant(const linear *p, ptec_iter it, int64_t wn, int64_t yn) {
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8) return false;
  ptec_qfc_s8 fc = {
      .w = p->weight->data, .bias = p->bias ? p->bias->data : NULL,
      .multiplier = p->multiplier->data, .shift = p->shift->data, .depth = (int32_t)p->k,
      .n = (int32_t)p->n, .w_row = (ptrdiff_t)wn, .y_col = (ptrdiff_t)yn,
      .scale_step = (int32_t)p->scale_step, .in_zp = p->in_zp, .w_zp = p->w_zp,
      .out_zp = p->out_zp, .act_min = p->act_min, .act_max = p->act_max,
      .cpu_features = p->cpu_features};
  for (; !it.done; ptec_iter_next(&it)) {
    fc.x = (const int8_t *)p->in->data + it.offset[1];
    fc.y = (int8_t *)p->out->data + it.offset[0];
    fc.rows = (int32_t)it.count;
    fc.x_row = (ptrdiff_t)it.step[1];
    fc.y_row = (ptrdiff_t)it.step[0];
    if (!PTEC_Q_VARIANT_FC(&fc)) return false; /* decided by parameters: only the first run */
  }
  return true;
}

ptec_status ptec_prepare_quantized_linear_out(ptec_kernel_context *ctx) {
  linear p;
  return setup(ctx, &p, PTEC_Q_PREPARE);
}

ptec_status ptec_kernel_quantized_linear_out(ptec_kernel_context *ctx) {
  linear p;
  PTEC_TRY(setup(ctx, &p, PTEC_Q_EXECUTE));
  const ptec_tensor *in = p.in;
  int64_t xs[PTEC_MAX_RANK], ys[PTEC_MAX_RANK], ws[PTEC_MAX_RANK];
  ptec_tensor_strides(in, xs);
  ptec_tensor_strides(p.out, ys);
  ptec_tensor_strides(p.weight, ws);
  uint32_t lead = in->rank - 1u;
  int64_t xk = xs[lead], yn = ys[lead], wn = ws[0], wk = ws[1];
  /* Rows: the leading dims, operand 0 = out, 1 = input. */
  int64_t sizes[PTEC_MAX_RANK], strides[2][PTEC_MAX_RANK];
  for (uint32_t d = 0; d < lead; d++) {
    sizes[d] = in->sizes[d];
    strides[0][d] = ys[d];
    strides[1][d] = xs[d];
  }
  ptec_iter it;
  ptec_iter_init(&it, lead, sizes, NULL, 2, (const int64_t(*)[PTEC_MAX_RANK])strides, NULL);
  const int8_t *w = p.weight->data;
  const int32_t izp = p.in_zp, wzp = p.w_zp;
  bool fast = in->dtype == PTEC_DTYPE_INT8 && (xk == 1 || p.k <= 1) && (wk == 1 || p.k <= 1) &&
              p.k <= PTEC_Q_MAX_TERMS_I32;
  if (fast && linear_variant(&p, it, wn, yn)) return PTEC_STATUS_OK;
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t r = 0; r < it.count; r++) {
      int64_t xo = it.offset[1] + r * it.step[1], yo = it.offset[0] + r * it.step[0];
      for (int64_t j = 0; j < p.n; j++) {
        int32_t v;
        if (fast) {
          const int8_t *xp = (const int8_t *)in->data + xo, *wp = w + j * wn;
          int32_t acc = 0;
          for (int64_t k = 0; k < p.k; k++)
            acc += ((int32_t)xp[k] - izp) * ((int32_t)wp[k] - wzp);
          v = output(&p, j, acc);
        } else {
          int64_t acc = 0;
          for (int64_t k = 0; k < p.k; k++)
            acc += (int64_t)(ptec_q_load(in->data, in->dtype, xo + k * xk) - izp) *
                   ((int32_t)w[j * wn + k * wk] - wzp);
          v = output(&p, j, acc);
        }
        ptec_q_store(p.out->data, p.out->dtype, yo + j * yn, v);
      }
    }
  return PTEC_STATUS_OK;
}
