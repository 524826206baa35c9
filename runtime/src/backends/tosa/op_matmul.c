/*
 * MATMUL(A [N, H, C], B [N, C, W], A_zp, B_zp) -> [N, H, W].
 *
 * INT (int8 -> int32): ptec::quantized_matmul. A following RESCALE to int8
 * with one scale (per tensor), when it is the int32 result's only reader,
 * runs in the same call; otherwise the kernel stores the int32 accumulator
 * (identity scale). FP32: aten::bmm.
 * EXT-INT16 (int16 x int16 -> int48, zero points 0): a loop here (no kernel
 * has an int64 result), the exact 64-bit sum of products saturated to the
 * int48 range where TOSA calls the result unpredictable; INT48 tensors are
 * int64 in memory. The RESCALE (scale16) that follows runs on its own.
 */
#include <string.h>

#include "backends/tosa/tosa.h"

#define INT48_MIN (-((int64_t)1 << 47))
#define INT48_MAX (((int64_t)1 << 47) - 1)

static ptec_status run_matmul_i16(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *at = tosa_in(g, op, 0), *bt = tosa_in(g, op, 1), *yt = tosa_out(g, op, 0);
  const int16_t *a = at->t.data, *b = bt->t.data;
  int64_t *y = yt->t.data;
  const int64_t N = at->sizes[0], H = at->sizes[1], C = at->sizes[2], W = bt->sizes[2];
  for (int64_t n = 0; n < N; n++)
    for (int64_t h = 0; h < H; h++) {
      const int16_t *ar = a + (n * H + h) * C;
      for (int64_t w = 0; w < W; w++) {
        const int16_t *bc = b + n * C * W + w;
        int64_t acc = 0; /* < 2^31 terms of at most 2^30: no overflow */
        for (int64_t c = 0; c < C; c++) acc += (int64_t)ar[c] * bc[c * W];
        y[(n * H + h) * W + w] = acc < INT48_MIN ? INT48_MIN : acc > INT48_MAX ? INT48_MAX : acc;
      }
    }
  return PTEC_STATUS_OK;
}

static ptec_status setup_i16(tosa_graph *g, tosa_op *op) {
  int64_t azp, bzp;
  ptec_status s = tosa_const_scalar(g, op, 2, TOSA_DTYPE_INT16, "A_zp", &azp);
  if (s == PTEC_STATUS_OK) s = tosa_const_scalar(g, op, 3, TOSA_DTYPE_INT16, "B_zp", &bzp);
  if (s != PTEC_STATUS_OK) return s;
  if (azp != 0 || bzp != 0) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "zero points %lld and %lld must be 0 "
                        "for INT16 (TOSA allows them only for INT8)", (long long)azp,
                        (long long)bzp);
  }
  op->run = run_matmul_i16;
  return PTEC_STATUS_OK;
}

ptec_status tosa_setup_matmul(tosa_graph *g, tosa_op *op) {
  if (op->num_in != 4 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 4 "
                        "and 1", op->num_in, op->num_out);
  }
  const tosa_tensor *a = tosa_in(g, op, 0), *b = tosa_in(g, op, 1), *y = tosa_out(g, op, 0);
  if (a->t.rank != 3 || b->t.rank != 3 || y->t.rank != 3 || a->sizes[0] != b->sizes[0] ||
      a->sizes[2] != b->sizes[1] || y->sizes[0] != a->sizes[0] || y->sizes[1] != a->sizes[1] ||
      y->sizes[2] != b->sizes[2]) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "shapes must be A [N, H, C], B [N, C, "
                        "W] and output [N, H, W]");
  }
  int32_t out = g->operands[op->out_at];
  /* FP16 / BF16: aten::bmm's half variant keeps each dot product in float32. */
  if (tosa_is_float(a->type) && b->type == a->type && y->type == a->type) {
    int32_t args[] = {tosa_in_index(g, op, 0), tosa_in_index(g, op, 1), out, out};
    memcpy(op->call->args, args, sizeof args);
    op->call->num_args = 4;
    return tosa_use_kernel(g, op, "aten::bmm.out");
  }
  if (a->type == TOSA_DTYPE_INT16 && b->type == TOSA_DTYPE_INT16 && y->type == TOSA_DTYPE_INT48) {
    return setup_i16(g, op);
  }
  if (a->type != TOSA_DTYPE_INT8 || b->type != TOSA_DTYPE_INT8 || y->type != TOSA_DTYPE_INT32) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "types %s x %s -> %s are not supported "
                        "(INT8 -> INT32, INT16 -> INT48, FP32, FP16, BF16)", tosa_dtype_name(a->type),
                        tosa_dtype_name(b->type), tosa_dtype_name(y->type));
  }
  int64_t azp, bzp;
  ptec_status s = tosa_const_scalar(g, op, 2, TOSA_DTYPE_INT8, "A_zp", &azp);
  if (s == PTEC_STATUS_OK) s = tosa_const_scalar(g, op, 3, TOSA_DTYPE_INT8, "B_zp", &bzp);
  if (s != PTEC_STATUS_OK) return s;
  int64_t multiplier = 1 << 30, shift = 30, out_zp = 0; /* identity scale */
  tosa_op *rescale = tosa_fusable_rescale(g, out);
  tosa_rescale_params rp;
  if (rescale != NULL && tosa_rescale_check(g, rescale, &rp) == PTEC_STATUS_OK && rp.scale32 &&
      !rp.out_unsigned &&
      !rp.per_channel && tosa_out(g, rescale, 0)->type == TOSA_DTYPE_INT8) {
    multiplier = *(const int32_t *)tosa_in(g, rescale, 1)->t.data;
    shift = *(const int8_t *)tosa_in(g, rescale, 2)->t.data;
    out_zp = rp.out_zp;
    static const uint8_t order[3] = {0, 1, 2};
    out = tosa_fuse_rescale(g, op, rescale, 3, y->sizes, order);
  }
  g->message[0] = '\0';
  /* ptec::quantized_matmul.out(a, b, a_zp, b_zp, multiplier, shift, output_zp, out) */
  int32_t args[] = {tosa_in_index(g, op, 0), tosa_in_index(g, op, 1), tosa_value_int(g, op, azp),
                    tosa_value_int(g, op, bzp), tosa_value_int(g, op, multiplier),
                    tosa_value_int(g, op, shift), tosa_value_int(g, op, out_zp), out, out};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = sizeof args / sizeof args[0];
  s = tosa_use_kernel(g, op, "ptec::quantized_matmul.out");
  if (s == PTEC_STATUS_OK) s = tosa_prepare_kernel(g, op);
  return s;
}
