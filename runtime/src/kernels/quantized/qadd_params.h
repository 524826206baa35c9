/*
 * The arguments quantized_add and quantized_sub share (op_quantized_add.c,
 * op_quantized_sub.c): two int8/int16 operands that broadcast, each RESCALEd
 * to a common int32 scale, the int32 result RESCALEd to the output.
 */
#ifndef PTEC_KERNELS_QUANTIZED_QADD_PARAMS_H
#define PTEC_KERNELS_QUANTIZED_QADD_PARAMS_H

#include "kernels/quantized/qbinary.h"

enum {
  PTEC_QADD_A, PTEC_QADD_B, PTEC_QADD_A_ZP, PTEC_QADD_A_MULTIPLIER, PTEC_QADD_A_SHIFT,
  PTEC_QADD_B_ZP, PTEC_QADD_B_MULTIPLIER, PTEC_QADD_B_SHIFT, PTEC_QADD_OUTPUT_ZP,
  PTEC_QADD_OUTPUT_MULTIPLIER, PTEC_QADD_OUTPUT_SHIFT, PTEC_QADD_ACT_MIN, PTEC_QADD_ACT_MAX,
  PTEC_QADD_OUT
};

typedef struct ptec_qadd_args {
  const ptec_tensor *a, *b;
  ptec_tensor *out;
  int32_t a_zp, a_m, a_s, b_zp, b_m, b_s, out_zp, out_m, out_s, act_min, act_max;
} ptec_qadd_args;

/* Reads and checks the arguments; `it` walks out, a and b broadcast. */
static inline ptec_status ptec_qadd_setup(ptec_kernel_context *ctx, ptec_qadd_args *p,
                                          ptec_iter *it) {
  ptec_qbinary_operands op;
  PTEC_TRY(ptec_qbinary_setup(ctx, PTEC_QADD_A, PTEC_QADD_B, PTEC_QADD_OUT, &op, it));
  p->a = op.a, p->b = op.b, p->out = op.out;
  int dtype = p->a->dtype;
  PTEC_TRY(ptec_q_zero_point(ctx, PTEC_QADD_A_ZP, dtype, "a_zp", &p->a_zp));
  PTEC_TRY(ptec_q_scale(ctx, PTEC_QADD_A_MULTIPLIER, PTEC_QADD_A_SHIFT, "a", &p->a_m, &p->a_s));
  PTEC_TRY(ptec_q_zero_point(ctx, PTEC_QADD_B_ZP, dtype, "b_zp", &p->b_zp));
  PTEC_TRY(ptec_q_scale(ctx, PTEC_QADD_B_MULTIPLIER, PTEC_QADD_B_SHIFT, "b", &p->b_m, &p->b_s));
  PTEC_TRY(ptec_q_zero_point(ctx, PTEC_QADD_OUTPUT_ZP, dtype, "output_zp", &p->out_zp));
  PTEC_TRY(ptec_q_scale(ctx, PTEC_QADD_OUTPUT_MULTIPLIER, PTEC_QADD_OUTPUT_SHIFT, "output",
                        &p->out_m, &p->out_s));
  return ptec_q_activation_range(ctx, PTEC_QADD_ACT_MIN, dtype, &p->act_min, &p->act_max);
}

#endif
