/*
 * RESCALE and TABLE: the runtime's ptec::rescale and ptec::table kernels
 * have exactly TOSA's semantics (apply_scale_32 with SINGLE_ROUND, the
 * 256-entry int8 table, the interpolated 513-entry int16 table).
 *
 * RESCALE(input, multiplier, shift, input_zp, output_zp): multiplier int32
 * (scale32) or int16 (widened to int32 here once: apply_scale_16 computes
 * the same formula), shift int8 (widened), per channel along the last dim.
 * Supported: SINGLE_ROUND; signed data, or unsigned 8-bit input or output
 * (the kernel sees those bytes as uint8). DOUBLE_ROUND (EXT-DOUBLEROUND),
 * INEXACT_ROUND and unsigned 16-bit data are refused.
 *
 * INT48 input (EXT-INT16, int64 in memory): scale16 only (TOSA's ERROR_IF),
 * signed, input_zp 0, to INT8, INT16 or INT32, as a loop here (ptec::rescale
 * takes int32 values):
 *   out = clip_out(sat32((x * m[c] + 2^(s[c]-1)) >> s[c]) + output_zp)
 * which is apply_scale_16 (|x| < 2^47, m < 2^15: the product fits int64);
 * a result outside int32, unpredictable in TOSA, saturates as it does in
 * apply_scale_32 (requantize.h). m[c] >= 0 and s[c] in [2, 62] are checked
 * at init.
 */
#include <string.h>

#include "backends/tosa/tosa.h"
#include "kernels/quantized/requantize.h"

enum { IN_X, IN_MULTIPLIER, IN_SHIFT, IN_INPUT_ZP, IN_OUTPUT_ZP };

static bool is_int_type(uint32_t t) {
  return t == TOSA_DTYPE_INT8 || t == TOSA_DTYPE_INT16 || t == TOSA_DTYPE_INT32;
}

ptec_status tosa_rescale_check(tosa_graph *g, const tosa_op *op, tosa_rescale_params *p) {
  if (op->num_in != 5 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 5 "
                        "and 1", op->num_in, op->num_out);
  }
  const tosa_tensor *x = tosa_in(g, op, IN_X), *y = tosa_out(g, op, 0);
  bool wide = x->type == TOSA_DTYPE_INT48;
  if (!(is_int_type(x->type) || wide) || !is_int_type(y->type)) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "%s to %s is not supported (INT8, "
                        "INT16, INT32, INT48 to INT8, INT16, INT32)", tosa_dtype_name(x->type),
                        tosa_dtype_name(y->type));
  }
  if (!tosa_same_shape(x, y)) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input and output shapes differ");
  }
  fb_table a;
  ptec_status s = tosa_attr(g, op, &a);
  if (s != PTEC_STATUS_OK) return s;
  uint8_t scale32, per_channel, in_unsigned, out_unsigned;
  uint32_t rounding;
  s = fb_u8(&g->r, &a, TOSA_RESCALE_SCALE32, 0, &scale32);
  if (s == PTEC_STATUS_OK) s = fb_u32(&g->r, &a, TOSA_RESCALE_ROUNDING_MODE, 0, &rounding);
  if (s == PTEC_STATUS_OK) s = fb_u8(&g->r, &a, TOSA_RESCALE_PER_CHANNEL, 0, &per_channel);
  if (s == PTEC_STATUS_OK) s = fb_u8(&g->r, &a, TOSA_RESCALE_INPUT_UNSIGNED, 0, &in_unsigned);
  if (s == PTEC_STATUS_OK) s = fb_u8(&g->r, &a, TOSA_RESCALE_OUTPUT_UNSIGNED, 0, &out_unsigned);
  if (s != PTEC_STATUS_OK) return tosa_op_fail(g, op, s, "attribute: %s", g->r.reason);
  if (rounding == 0 || rounding > TOSA_ROUND_DOUBLE) {
    return tosa_op_fail(g, op, PTEC_STATUS_BAD_ENUM, "rounding_mode %u is unknown", rounding);
  }
  if (rounding != TOSA_ROUND_SINGLE) {
    return tosa_op_fail(g, op, PTEC_STATUS_NOT_SUPPORTED, "rounding_mode %s is not supported "
                        "(SINGLE_ROUND is)", rounding == TOSA_ROUND_DOUBLE ? "DOUBLE_ROUND"
                                                                           : "INEXACT_ROUND");
  }
  if (in_unsigned && out_unsigned) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "input and output cannot both be "
                        "unsigned");
  }
  if (wide && scale32) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "scale32 is not allowed with an INT48 "
                        "input (TOSA: apply_scale_16, INT16 multipliers)");
  }
  if ((in_unsigned && (x->type == TOSA_DTYPE_INT32 || y->type == TOSA_DTYPE_INT32)) ||
      (out_unsigned && (y->type == TOSA_DTYPE_INT32 || x->type == TOSA_DTYPE_INT32)) ||
      (wide && (in_unsigned || out_unsigned))) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "unsigned data cannot come from or go "
                        "to INT32 or INT48");
  }
  if ((in_unsigned && x->type != TOSA_DTYPE_INT8) || (out_unsigned && y->type != TOSA_DTYPE_INT8)) {
    return tosa_op_fail(g, op, PTEC_STATUS_NOT_SUPPORTED, "unsigned 16-bit data is not "
                        "supported (unsigned 8-bit is)");
  }
  p->in_unsigned = in_unsigned != 0;
  p->out_unsigned = out_unsigned != 0;
  p->scale32 = scale32 != 0;
  p->per_channel = per_channel != 0;
  if (p->per_channel && x->t.rank < 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "per_channel needs rank >= 1");
  }
  p->channels = p->per_channel ? (uint32_t)x->sizes[x->t.rank - 1] : 1;
  const tosa_tensor *m = tosa_in(g, op, IN_MULTIPLIER), *sh = tosa_in(g, op, IN_SHIFT);
  uint32_t mtype = p->scale32 ? TOSA_DTYPE_INT32 : TOSA_DTYPE_INT16;
  if (!(m->flags & TOSA_T_CONST) || m->type != mtype || m->t.rank != 1 ||
      m->sizes[0] != (int32_t)p->channels) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "multiplier must be a constant %s "
                        "[%u]", tosa_dtype_name(mtype), p->channels);
  }
  if (!(sh->flags & TOSA_T_CONST) || sh->type != TOSA_DTYPE_INT8 || sh->t.rank != 1 ||
      sh->sizes[0] != (int32_t)p->channels) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "shift must be a constant INT8 [%u]",
                        p->channels);
  }
  int64_t zp;
  /* Unsigned data has a zero-extended zero point (uint8 in an INT8 tensor). */
  s = tosa_const_scalar(g, op, IN_INPUT_ZP, x->type, "input_zp", &zp);
  if (s != PTEC_STATUS_OK) return s;
  if (wide && zp != 0) { /* before narrowing it to int32 */
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "zero points must be 0 except for INT8");
  }
  p->in_zp = p->in_unsigned ? (int32_t)(uint8_t)zp : (int32_t)zp;
  s = tosa_const_scalar(g, op, IN_OUTPUT_ZP, y->type, "output_zp", &zp);
  if (s != PTEC_STATUS_OK) return s;
  p->out_zp = p->out_unsigned ? (int32_t)(uint8_t)zp : (int32_t)zp;
  if ((x->type != TOSA_DTYPE_INT8 && p->in_zp != 0) ||
      (y->type != TOSA_DTYPE_INT8 && p->out_zp != 0)) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "zero points must be 0 except for INT8");
  }
  return PTEC_STATUS_OK;
}

tosa_op *tosa_fusable_rescale(tosa_graph *g, int32_t t) {
  const tosa_tensor *x = &g->tensors[t];
  if (x->readers != 1 || (x->flags & TOSA_T_OUTPUT)) return NULL;
  for (uint32_t i = (uint32_t)x->producer + 1; i < g->num_ops; i++) {
    tosa_op *op = &g->ops[i];
    for (uint32_t k = 0; k < op->num_in; k++) {
      if (tosa_in_index(g, op, k) == t) {
        return op->code == TOSA_OP_RESCALE && k == IN_X ? op : NULL;
      }
    }
  }
  return NULL;
}

static ptec_status run_fused_copy(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *x = tosa_in(g, op, IN_X), *y = tosa_out(g, op, 0);
  memcpy(y->t.data, x->t.data, y->t.nbytes); /* y is 1 or 2 bytes per element, x 4 */
  return PTEC_STATUS_OK;
}

int32_t tosa_fuse_rescale(tosa_graph *g, tosa_op *op, tosa_op *rescale, uint32_t rank,
                          const int32_t *sizes, const uint8_t *order) {
  int32_t acc = tosa_in_index(g, rescale, IN_X);
  int32_t v = tosa_value_view(g, op, acc, rank, sizes, order);
  if (v >= 0) g->values[v].u.tensor->dtype = g->tensors[g->operands[rescale->out_at]].t.dtype;
  rescale->fused_into = (int32_t)tosa_op_index(g, op);
  rescale->run = run_fused_copy;
  return v;
}

/* Widens a constant of int8 or int16 values to int32 in the arena, once
 * (tosa_count's arena bound counts 4 bytes per element of every rank-0/1
 * int8 and int16 constant). */
static int32_t *widen(tosa_graph *g, tosa_tensor *t) {
  if (t->widened != NULL) return t->widened;
  int32_t *w = tosa_arena_take(g, t->t.numel * 4);
  if (w == NULL) return NULL;
  t->widened = w;
  for (size_t i = 0; i < t->t.numel; i++) {
    w[i] = t->type == TOSA_DTYPE_INT8 ? ((const int8_t *)t->t.data)[i]
                                      : ((const int16_t *)t->t.data)[i];
  }
  return w;
}

/* Shifts are int8 in TOSA and int32 in the kernels, 16-bit multipliers
 * int16: both are widened. */
ptec_status tosa_rescale_scale_values(tosa_graph *g, tosa_op *op, tosa_op *rescale,
                                      int32_t *m_value, int32_t *s_value) {
  tosa_tensor *m = tosa_in(g, rescale, IN_MULTIPLIER), *sh = tosa_in(g, rescale, IN_SHIFT);
  int32_t *shifts = widen(g, sh);
  int32_t *mults = m->type == TOSA_DTYPE_INT32 ? (int32_t *)m->t.data : widen(g, m);
  if (shifts == NULL || mults == NULL) {
    return tosa_op_fail(g, op, PTEC_STATUS_INTERNAL, "no arena left for scale parameters");
  }
  *m_value = tosa_value_i32_tensor(g, op, mults, (uint32_t)m->t.numel);
  *s_value = tosa_value_i32_tensor(g, op, shifts, (uint32_t)sh->t.numel);
  return PTEC_STATUS_OK;
}

/* op->p of an INT48-input RESCALE */
enum { P48_STEP, P48_CHANNELS, P48_OUT_ZP, P48_LO, P48_HI };

static ptec_status run_rescale48(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *x = tosa_in(g, op, IN_X), *y = tosa_out(g, op, 0);
  const int32_t *m = tosa_in(g, op, IN_MULTIPLIER)->widened;
  const int32_t *sh = tosa_in(g, op, IN_SHIFT)->widened;
  const int64_t *xs = x->t.data;
  const int64_t lo48 = -((int64_t)1 << 47), hi48 = ((int64_t)1 << 47) - 1;
  const int64_t channels = op->p[P48_CHANNELS], step = op->p[P48_STEP];
  int64_t c = 0;
  for (size_t i = 0; i < y->t.numel; i++) {
    /* INT48 tensors hold int48 values (producers saturate, constants are
     * 6 bytes); the clamp only keeps the product below 2^63 regardless. */
    int64_t v = xs[i] < lo48 ? lo48 : xs[i] > hi48 ? hi48 : xs[i];
    int64_t k = c * step, s = sh[k];
    int64_t r = ptec_asr64(v * m[k] + ((int64_t)1 << (s - 1)), (int)s);
    r = r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : r;
    r += op->p[P48_OUT_ZP];
    r = r < op->p[P48_LO] ? op->p[P48_LO] : r > op->p[P48_HI] ? op->p[P48_HI] : r;
    switch (y->type) {
      case TOSA_DTYPE_INT8: ((int8_t *)y->t.data)[i] = (int8_t)r; break;
      case TOSA_DTYPE_INT16: ((int16_t *)y->t.data)[i] = (int16_t)r; break;
      default: ((int32_t *)y->t.data)[i] = (int32_t)r; break;
    }
    if (++c == channels) c = 0;
  }
  return PTEC_STATUS_OK;
}

static ptec_status setup_rescale48(tosa_graph *g, tosa_op *op, const tosa_rescale_params *p) {
  tosa_tensor *m = tosa_in(g, op, IN_MULTIPLIER), *sh = tosa_in(g, op, IN_SHIFT);
  const tosa_tensor *x = tosa_in(g, op, IN_X), *y = tosa_out(g, op, 0);
  if (widen(g, m) == NULL || widen(g, sh) == NULL) {
    return tosa_op_fail(g, op, PTEC_STATUS_INTERNAL, "no arena left for scale parameters");
  }
  for (uint32_t c = 0; c < p->channels; c++) {
    if (m->widened[c] < 0 || sh->widened[c] < 2 || sh->widened[c] > 62) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "multiplier[%u] = %d must be >= 0 "
                          "and shift[%u] = %d in [2, 62]", c, (int)m->widened[c], c,
                          (int)sh->widened[c]);
    }
  }
  int32_t lo = y->type == TOSA_DTYPE_INT8 ? INT8_MIN : y->type == TOSA_DTYPE_INT16 ? INT16_MIN
                                                                                   : INT32_MIN;
  int32_t hi = y->type == TOSA_DTYPE_INT8 ? INT8_MAX : y->type == TOSA_DTYPE_INT16 ? INT16_MAX
                                                                                   : INT32_MAX;
  /* per channel: the last dim, innermost in the contiguous tensor */
  op->p[P48_STEP] = p->per_channel ? 1 : 0;
  op->p[P48_CHANNELS] = p->per_channel ? x->sizes[x->t.rank - 1] : 1;
  op->p[P48_OUT_ZP] = p->out_zp;
  op->p[P48_LO] = lo;
  op->p[P48_HI] = hi;
  if (op->p[P48_CHANNELS] < 1) op->p[P48_CHANNELS] = 1; /* an empty tensor: nothing runs */
  op->run = run_rescale48;
  return PTEC_STATUS_OK;
}

static int32_t unsigned_view(tosa_graph *g, tosa_op *op, int32_t t) {
  const tosa_tensor *x = &g->tensors[t];
  int32_t v = tosa_value_view(g, op, t, x->t.rank, x->sizes, x->t.dim_order);
  if (v >= 0) g->values[v].u.tensor->dtype = PTEC_DTYPE_UINT8;
  return v;
}

ptec_status tosa_setup_rescale(tosa_graph *g, tosa_op *op) {
  tosa_rescale_params p;
  ptec_status s = tosa_rescale_check(g, op, &p);
  if (s != PTEC_STATUS_OK) return s;
  if (tosa_in(g, op, IN_X)->type == TOSA_DTYPE_INT48) return setup_rescale48(g, op, &p);
  int32_t m, sh;
  s = tosa_rescale_scale_values(g, op, op, &m, &sh);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, IN_X);
  /* Unsigned 8-bit data is the same bytes seen as uint8 by the kernel. */
  int32_t in = tosa_in_index(g, op, IN_X), out = g->operands[op->out_at];
  if (p.in_unsigned) in = unsigned_view(g, op, in);
  if (p.out_unsigned) out = unsigned_view(g, op, out);
  /* ptec::rescale.out(input, input_zp, multiplier, shift, output_zp, axis, out) */
  int32_t args[] = {in, tosa_value_int(g, op, p.in_zp), m, sh,
                    tosa_value_int(g, op, p.out_zp),
                    tosa_value_int(g, op, x->t.rank > 0 ? x->t.rank - 1 : 0), out, out};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = 8;
  s = tosa_use_kernel(g, op, "ptec::rescale.out");
  if (s == PTEC_STATUS_OK) s = tosa_prepare_kernel(g, op);
  return s;
}

/* TABLE(input, table): int8 with a 256-entry int8 table, or int16 with a
 * 513-entry int16 table (EXT-INT16) giving int32. */
ptec_status tosa_setup_table(tosa_graph *g, tosa_op *op) {
  if (op->num_in != 2 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 2 "
                        "and 1", op->num_in, op->num_out);
  }
  const tosa_tensor *x = tosa_in(g, op, 0), *table = tosa_in(g, op, 1), *y = tosa_out(g, op, 0);
  if (!(table->flags & TOSA_T_CONST)) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "table must be a constant");
  }
  if (!(x->type == TOSA_DTYPE_INT8 && y->type == TOSA_DTYPE_INT8) &&
      !(x->type == TOSA_DTYPE_INT16 && y->type == TOSA_DTYPE_INT32)) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "%s to %s is not a TABLE type "
                        "(INT8 to INT8, INT16 to INT32)", tosa_dtype_name(x->type),
                        tosa_dtype_name(y->type));
  }
  if (!tosa_same_shape(x, y)) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input and output shapes differ");
  }
  int32_t out = g->operands[op->out_at];
  int32_t args[] = {tosa_in_index(g, op, 0), tosa_in_index(g, op, 1), out, out};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = 4;
  ptec_status s = tosa_use_kernel(g, op, "ptec::table.out");
  if (s == PTEC_STATUS_OK) s = tosa_prepare_kernel(g, op);
  return s;
}
