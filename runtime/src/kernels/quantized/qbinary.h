/*
 * The operands every quantized elementwise binary op reads the same way
 * (quantized_add, quantized_sub, quantized_mul): two int8/int16 tensors of
 * the output's dtype that broadcast against it.
 */
#ifndef PTEC_KERNELS_QUANTIZED_QBINARY_H
#define PTEC_KERNELS_QUANTIZED_QBINARY_H

#include "kernels/portable/iter.h"
#include "kernels/quantized/qparams.h"

typedef struct ptec_qbinary_operands {
  const ptec_tensor *a, *b;
  ptec_tensor *out;
} ptec_qbinary_operands;

/* Reads arguments `a_arg`, `b_arg` and `out_arg`, checks their dtypes and sets
 * `it` to walk out with a and b broadcast. */
static inline ptec_status ptec_qbinary_setup(ptec_kernel_context *ctx, uint32_t a_arg,
                                             uint32_t b_arg, uint32_t out_arg,
                                             ptec_qbinary_operands *op, ptec_iter *it) {
  op->a = ptec_arg_tensor(ctx, a_arg);
  op->b = ptec_arg_tensor(ctx, b_arg);
  op->out = ptec_arg_tensor(ctx, out_arg);
  PTEC_TRY(ptec_q_check_activation_dtype(ctx, op->a, "a"));
  PTEC_TRY(ptec_check_same_dtype(ctx, op->a, op->b, "a", "b"));
  PTEC_TRY(ptec_check_same_dtype(ctx, op->a, op->out, "a", "out"));
  const ptec_tensor *inputs[2] = {op->a, op->b};
  return ptec_iter_broadcast(ctx, it, op->out, inputs, 2);
}

#endif
