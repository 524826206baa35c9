/*
 * ptec::quantized_mul.out(Tensor a, Tensor b, int a_zp, int b_zp,
 *   int multiplier, int shift, int output_zp, int activation_min,
 *   int activation_max, *, Tensor(a!) out) -> Tensor(a!)
 *
 * ExecuTorch's TOSA lowering of a quantized mul: RESCALE each input to
 * int32 by 1.0 (subtracting its zero point), MUL in int32 (shift 0), RESCALE
 * by s_a * s_b / s_out:
 *
 *   out = clamp(apply_scale_32(sat32((a - a_zp) * (b - b_zp)), multiplier,
 *               shift) + output_zp, activation_min, activation_max)
 *
 * a, b and out share one dtype, int8 or int16; broadcasting as in PyTorch;
 * any dim orders. (An int16 product with a nonzero zero point can pass
 * int32; it saturates where TOSA's result would be unpredictable.)
 */
#include "kernels/ops_decl.h"
#include "kernels/quantized/qbinary.h"
#include "kernels/quantized/variants.h"

enum {
  ARG_A, ARG_B, ARG_A_ZP, ARG_B_ZP, ARG_MULTIPLIER, ARG_SHIFT, ARG_OUTPUT_ZP, ARG_ACT_MIN,
  ARG_ACT_MAX, ARG_OUT
};

typedef struct mul {
  const ptec_tensor *a, *b;
  ptec_tensor *out;
  int32_t a_zp, b_zp, m, s, out_zp, act_min, act_max;
} mul;

static ptec_status setup(ptec_kernel_context *ctx, mul *p, ptec_iter *it) {
  ptec_qbinary_operands op;
  PTEC_TRY(ptec_qbinary_setup(ctx, ARG_A, ARG_B, ARG_OUT, &op, it));
  p->a = op.a, p->b = op.b, p->out = op.out;
  int dtype = p->a->dtype;
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_A_ZP, dtype, "a_zp", &p->a_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_B_ZP, dtype, "b_zp", &p->b_zp));
  PTEC_TRY(ptec_q_scale(ctx, ARG_MULTIPLIER, ARG_SHIFT, "output", &p->m, &p->s));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, dtype, "output_zp", &p->out_zp));
  return ptec_q_activation_range(ctx, ARG_ACT_MIN, dtype, &p->act_min, &p->act_max);
}

static inline int32_t mul_one(const mul *p, int32_t a, int32_t b) {
  int32_t prod = ptec_q_sat32((int64_t)(a - p->a_zp) * (b - p->b_zp));
  int64_t r = (int64_t)ptec_apply_scale_32(prod, p->m, p->s) + p->out_zp;
  return r < p->act_min ? p->act_min : r > p->act_max ? p->act_max : (int32_t)r;
}

ptec_status ptec_prepare_quantized_mul_out(ptec_kernel_context *ctx) {
  mul p;
  ptec_iter it;
  return setup(ctx, &p, &it);
}

ptec_status ptec_kernel_quantized_mul_out(ptec_kernel_context *ctx) {
  mul p;
  ptec_iter it;
  PTEC_TRY(setup(ctx, &p, &it));
  const int64_t sy = it.step[0], sa = it.step[1], sb = it.step[2];
  if (p.a->dtype == PTEC_DTYPE_INT8) {
    const int8_t *a = p.a->data, *b = p.b->data;
    int8_t *y = p.out->data;
    const ptec_qmul_params vp = {p.a_zp, p.b_zp, p.m, p.s, p.out_zp, p.act_min, p.act_max};
    for (; !it.done; ptec_iter_next(&it)) {
      const int8_t *ap = a + it.offset[1], *bp = b + it.offset[2];
      int8_t *yp = y + it.offset[0];
      /* The ISA variant on this run (variants.h), else the loop below. */
      if (sy == 1 && PTEC_Q_VARIANT_MUL(&vp, ap, sa, bp, sb, yp, (int32_t)it.count)) continue;
      for (int64_t j = 0; j < it.count; j++)
        yp[j * sy] = (int8_t)mul_one(&p, ap[j * sa], bp[j * sb]);
    }
  } else {
    const int16_t *a = p.a->data, *b = p.b->data;
    int16_t *y = p.out->data;
    for (; !it.done; ptec_iter_next(&it)) {
      const int16_t *ap = a + it.offset[1], *bp = b + it.offset[2];
      int16_t *yp = y + it.offset[0];
      for (int64_t j = 0; j < it.count; j++)
        yp[j * sy] = (int16_t)mul_one(&p, ap[j * sa], bp[j * sb]);
    }
  }
  return PTEC_STATUS_OK;
}
