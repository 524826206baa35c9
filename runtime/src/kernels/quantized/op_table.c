/*
 * ptec::table.out(Tensor input, Tensor table, *, Tensor(a!) out) -> Tensor(a!)
 *
 * TOSA TABLE, elementwise, same shape in and out, any dim orders:
 *   int8:  table int8 [256],  out int8:  out = table[x + 128]
 *   int16: table int16 [513], out int32: out = (base << 7) + slope * frac,
 *          index = (x + 32768) >> 7, frac = (x + 32768) & 0x7f,
 *          base = table[index], slope = table[index + 1] - base
 *          (a 16.7 fixed-point value; TOSA's recipe for an int16 result is a
 *          RESCALE by 2^-7 after it)
 * The compiler builds the table from f, the input's and output's qparams
 * (ExecuTorch's InsertTableOpsPass).
 */
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/qparams.h"

enum { ARG_INPUT, ARG_TABLE, ARG_OUT };

static ptec_status setup(ptec_kernel_context *ctx, ptec_iter *it) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, ARG_INPUT), *table = ptec_arg_tensor(ctx, ARG_TABLE);
  const ptec_tensor *out = ptec_arg_tensor(ctx, ARG_OUT);
  PTEC_TRY(ptec_q_check_activation_dtype(ctx, in, "input"));
  bool s8 = in->dtype == PTEC_DTYPE_INT8;
  PTEC_TRY(ptec_check_same_dtype(ctx, in, table, "input", "table"));
  PTEC_TRY(ptec_check_dtype(ctx, out, s8 ? PTEC_DTYPE_INT8 : PTEC_DTYPE_INT32, "out"));
  int64_t entries = s8 ? 256 : 513;
  PTEC_TRY(ptec_check_shape(ctx, table, &entries, 1, "table"));
  const ptec_tensor *inputs[1] = {in};
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  return ptec_iter_broadcast(ctx, it, out, inputs, 1);
}

ptec_status ptec_prepare_table_out(ptec_kernel_context *ctx) {
  ptec_iter it;
  return setup(ctx, &it);
}

ptec_status ptec_kernel_table_out(ptec_kernel_context *ctx) {
  ptec_iter it;
  PTEC_TRY(setup(ctx, &it));
  const ptec_tensor *in = ptec_arg_tensor(ctx, ARG_INPUT);
  const void *table = ptec_arg_tensor(ctx, ARG_TABLE)->data;
  void *out = ptec_arg_tensor(ctx, ARG_OUT)->data;
  if (in->dtype == PTEC_DTYPE_INT8) {
    const int8_t *x = in->data, *t = table;
    int8_t *y = out;
    for (; !it.done; ptec_iter_next(&it))
      for (int64_t j = 0; j < it.count; j++)
        y[it.offset[0] + j * it.step[0]] = t[x[it.offset[1] + j * it.step[1]] + 128];
  } else {
    const int16_t *x = in->data, *t = table;
    int32_t *y = out;
    for (; !it.done; ptec_iter_next(&it))
      for (int64_t j = 0; j < it.count; j++) {
        int32_t v = (int32_t)x[it.offset[1] + j * it.step[1]] + 32768;
        int32_t index = v >> 7, fraction = v & 0x7f;
        int32_t base = t[index], slope = t[index + 1] - base;
        /* TOSA requires the slope to fit int16; computed in int32 it
         * cannot overflow either way: |base * 128 + slope * 127| < 2^24. */
        y[it.offset[0] + j * it.step[0]] = base * 128 + slope * fraction;
      }
  }
  return PTEC_STATUS_OK;
}
