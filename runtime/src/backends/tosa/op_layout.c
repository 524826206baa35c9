/*
 * Data layout: CONCAT and TRANSPOSE (aten::cat, aten::permute_copy), PAD
 * (aten::constant_pad_nd), RESHAPE (a copy: TOSA tensors are contiguous),
 * and REVERSE, SLICE, TILE, GATHER, SCATTER as loops here. Shape operands
 * (RESHAPE's shape, PAD's padding, SLICE's start and size, TILE's
 * multiples) are CONST_SHAPE tensors, read and checked once at init.
 */
#include <string.h>

#include "backends/tosa/tosa.h"

static void strides_of(const tosa_tensor *t, int64_t s[TOSA_MAX_RANK]) {
  int64_t n = 1;
  for (uint32_t d = t->t.rank; d-- > 0;) {
    s[d] = n;
    n *= t->sizes[d];
  }
}

/* Advances a row-major index over `sizes`; false after the last. */
static bool next_index(int64_t *idx, const int32_t *sizes, uint32_t rank) {
  for (uint32_t d = rank; d-- > 0;) {
    if (++idx[d] < sizes[d]) return true;
    idx[d] = 0;
  }
  return false;
}

static ptec_status arity(tosa_graph *g, const tosa_op *op, uint32_t in, uint32_t out) {
  if (op->num_in == in && op->num_out == out) return PTEC_STATUS_OK;
  return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected %u "
                      "and %u", op->num_in, op->num_out, in, out);
}

static ptec_status same_type(tosa_graph *g, const tosa_op *op, const tosa_tensor *a,
                             const tosa_tensor *b) {
  /* TOSA's data layout, GATHER and SCATTER have no INT48 (nor SHAPE) variant; FP16 and BF16
   * (EXT-BF16) move as 16-bit elements. */
  if (a->type == b->type && a->type != TOSA_DTYPE_SHAPE && a->type != TOSA_DTYPE_INT48) {
    return PTEC_STATUS_OK;
  }
  return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "types %s and %s must match (BOOL, INT8, "
                      "INT16, INT32, FP32, FP16, BF16)", tosa_dtype_name(a->type),
                      tosa_dtype_name(b->type));
}

/* Generic gather-copy: out[idx] = in[src(idx)], where op->p describes src:
 * SLICE: p[d] = start; TILE: p[d] unused (modulo); REVERSE: p[0] = axis. */
static ptec_status run_copy(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  size_t es = ptec_dtype_size(y->t.dtype);
  if (y->t.numel == 0) return PTEC_STATUS_OK;
  int64_t xs[TOSA_MAX_RANK], idx[TOSA_MAX_RANK] = {0};
  strides_of(x, xs);
  const uint8_t *src = x->t.data;
  uint8_t *dst = y->t.data;
  int64_t o = 0;
  do {
    int64_t xi = 0;
    for (uint32_t d = 0; d < y->t.rank; d++) {
      int64_t i = idx[d];
      if (op->code == TOSA_OP_SLICE) i += op->p[d];
      else if (op->code == TOSA_OP_TILE) i %= x->sizes[d];
      else if ((int32_t)d == op->p[0]) i = x->sizes[d] - 1 - i; /* REVERSE */
      xi += i * xs[d];
    }
    memcpy(dst + (size_t)o * es, src + (size_t)xi * es, es);
    o++;
  } while (next_index(idx, y->sizes, y->t.rank));
  return PTEC_STATUS_OK;
}

static ptec_status run_reshape(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  if (x->t.data != y->t.data) memmove(y->t.data, x->t.data, y->t.nbytes);
  return PTEC_STATUS_OK;
}

static ptec_status setup_reshape(tosa_graph *g, tosa_op *op) {
  ptec_status s = arity(g, op, 2, 1);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  int64_t shape[TOSA_MAX_RANK];
  uint32_t n;
  s = same_type(g, op, x, y);
  if (s == PTEC_STATUS_OK) s = tosa_const_shape(g, op, 1, shape, TOSA_MAX_RANK, &n);
  if (s != PTEC_STATUS_OK) return s;
  bool ok = n == y->t.rank && x->t.numel == y->t.numel;
  for (uint32_t d = 0; ok && d < n; d++) ok = shape[d] == y->sizes[d];
  if (!ok) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "shape operand, output shape and "
                        "element count disagree");
  }
  op->run = run_reshape;
  return PTEC_STATUS_OK;
}

static ptec_status setup_slice(tosa_graph *g, tosa_op *op) {
  ptec_status s = arity(g, op, 3, 1);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  int64_t start[TOSA_MAX_RANK], size[TOSA_MAX_RANK];
  uint32_t n1, n2;
  s = same_type(g, op, x, y);
  if (s == PTEC_STATUS_OK) s = tosa_const_shape(g, op, 1, start, TOSA_MAX_RANK, &n1);
  if (s == PTEC_STATUS_OK) s = tosa_const_shape(g, op, 2, size, TOSA_MAX_RANK, &n2);
  if (s != PTEC_STATUS_OK) return s;
  bool ok = n1 == x->t.rank && n2 == x->t.rank && y->t.rank == x->t.rank;
  for (uint32_t d = 0; ok && d < n1; d++) {
    ok = start[d] >= 0 && size[d] >= 1 && start[d] + size[d] <= x->sizes[d] &&
         size[d] == y->sizes[d];
    op->p[d] = (int32_t)start[d];
  }
  if (!ok) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "start and size must select a "
                        "non-empty box inside the input equal to the output shape");
  }
  op->run = run_copy;
  return PTEC_STATUS_OK;
}

static ptec_status setup_tile(tosa_graph *g, tosa_op *op) {
  ptec_status s = arity(g, op, 2, 1);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  int64_t m[TOSA_MAX_RANK];
  uint32_t n;
  s = same_type(g, op, x, y);
  if (s == PTEC_STATUS_OK) s = tosa_const_shape(g, op, 1, m, TOSA_MAX_RANK, &n);
  if (s != PTEC_STATUS_OK) return s;
  bool ok = n == x->t.rank && y->t.rank == x->t.rank;
  for (uint32_t d = 0; ok && d < n; d++) {
    ok = m[d] >= 1 && (int64_t)x->sizes[d] * m[d] == y->sizes[d];
  }
  if (!ok) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "multiples must be >= 1 and give the "
                        "output shape");
  }
  op->run = run_copy;
  return PTEC_STATUS_OK;
}

static ptec_status setup_reverse(tosa_graph *g, tosa_op *op) {
  ptec_status s = arity(g, op, 1, 1);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  fb_table a;
  int32_t axis;
  s = same_type(g, op, x, y);
  if (s == PTEC_STATUS_OK) s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = fb_i32(&g->r, &a, TOSA_AXIS, 0, &axis);
  if (s != PTEC_STATUS_OK) return s;
  if (axis < 0 || (uint32_t)axis >= x->t.rank || !tosa_same_shape(x, y)) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "axis %d is outside rank %u or shapes "
                        "differ", axis, (unsigned)x->t.rank);
  }
  op->p[0] = axis;
  op->run = run_copy;
  return PTEC_STATUS_OK;
}

static ptec_status setup_transpose(tosa_graph *g, tosa_op *op) {
  ptec_status s = arity(g, op, 1, 1);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  fb_table a;
  int32_t perms[TOSA_MAX_RANK];
  s = same_type(g, op, x, y);
  if (s == PTEC_STATUS_OK) s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) {
    s = tosa_attr_i32s(g, op, &a, TOSA_TRANSPOSE_PERMS, perms, x->t.rank, "perms");
  }
  if (s != PTEC_STATUS_OK) return s;
  bool seen[TOSA_MAX_RANK] = {false};
  bool ok = y->t.rank == x->t.rank;
  int64_t dims[TOSA_MAX_RANK];
  for (uint32_t d = 0; ok && d < x->t.rank; d++) {
    ok = perms[d] >= 0 && (uint32_t)perms[d] < x->t.rank && !seen[perms[d]] &&
         y->sizes[d] == x->sizes[perms[d]];
    if (ok) seen[perms[d]] = true;
    dims[d] = perms[d];
  }
  if (!ok) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "perms is not a permutation giving the "
                        "output shape");
  }
  int32_t out = g->operands[op->out_at];
  int32_t args[] = {tosa_in_index(g, op, 0), tosa_value_list(g, op, dims, x->t.rank), out, out};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = 4;
  return tosa_use_kernel(g, op, "aten::permute_copy.out");
}

static ptec_status setup_concat(tosa_graph *g, tosa_op *op) {
  if (op->num_in < 1 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "needs inputs and one output");
  }
  const tosa_tensor *y = tosa_out(g, op, 0);
  fb_table a;
  int32_t axis;
  ptec_status s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = fb_i32(&g->r, &a, TOSA_AXIS, 0, &axis);
  if (s != PTEC_STATUS_OK) return s;
  if (axis < 0 || (uint32_t)axis >= y->t.rank) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "axis %d is outside rank %u", axis,
                        (unsigned)y->t.rank);
  }
  int64_t total = 0;
  for (uint32_t k = 0; k < op->num_in; k++) {
    const tosa_tensor *x = tosa_in(g, op, k);
    s = same_type(g, op, x, y);
    if (s != PTEC_STATUS_OK) return s;
    bool ok = x->t.rank == y->t.rank;
    for (uint32_t d = 0; ok && d < y->t.rank; d++) {
      ok = (int32_t)d == axis || x->sizes[d] == y->sizes[d];
    }
    if (!ok) {
      return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input %u does not match the output "
                          "outside axis %d", k, axis);
    }
    total += x->sizes[axis];
  }
  if (total != y->sizes[axis]) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "inputs add up to %lld along axis %d, "
                        "the output has %d", (long long)total, axis, y->sizes[axis]);
  }
  int32_t out = g->operands[op->out_at];
  /* aten::cat.out(tensors, dim, out): tensor k of the graph is value k. */
  int32_t args[] = {tosa_value_tensor_list(g, op, g->operands + op->in_at, op->num_in),
                    tosa_value_int(g, op, axis), out, out};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = 4;
  return tosa_use_kernel(g, op, "aten::cat.out");
}

static ptec_status setup_pad(tosa_graph *g, tosa_op *op) {
  ptec_status s = arity(g, op, 3, 1);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0), *c = tosa_in(g, op, 2);
  int64_t pad[2 * TOSA_MAX_RANK];
  uint32_t n;
  s = same_type(g, op, x, y);
  if (s == PTEC_STATUS_OK) s = tosa_const_shape(g, op, 1, pad, 2 * TOSA_MAX_RANK, &n);
  if (s != PTEC_STATUS_OK) return s;
  bool ok = n == 2 * x->t.rank && y->t.rank == x->t.rank;
  for (uint32_t d = 0; ok && d < x->t.rank; d++) {
    ok = pad[2 * d] >= 0 && pad[2 * d + 1] >= 0 &&
         x->sizes[d] + pad[2 * d] + pad[2 * d + 1] == y->sizes[d];
  }
  if (!ok) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "padding must be 2 * rank values >= 0 "
                        "that give the output shape");
  }
  if (!(c->flags & TOSA_T_CONST) || c->type != x->type || c->t.numel != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "pad_const must be a constant of one %s",
                        tosa_dtype_name(x->type));
  }
  /* PyTorch lists the last dim's (before, after) first. */
  int64_t torch_pad[2 * TOSA_MAX_RANK];
  for (uint32_t d = 0; d < x->t.rank; d++) {
    torch_pad[2 * d] = pad[2 * (x->t.rank - 1 - d)];
    torch_pad[2 * d + 1] = pad[2 * (x->t.rank - 1 - d) + 1];
  }
  int32_t value;
  switch (c->type) {
    case TOSA_DTYPE_FP32: case TOSA_DTYPE_FP16: case TOSA_DTYPE_BF16:
      value = tosa_value_double(g, op, tosa_load_float(c, 0)); /* exact in the half types */
      break;
    case TOSA_DTYPE_INT8: value = tosa_value_int(g, op, *(const int8_t *)c->t.data); break;
    case TOSA_DTYPE_INT16: value = tosa_value_int(g, op, *(const int16_t *)c->t.data); break;
    case TOSA_DTYPE_INT32: value = tosa_value_int(g, op, *(const int32_t *)c->t.data); break;
    default: value = tosa_value_bool(g, op, *(const uint8_t *)c->t.data != 0); break;
  }
  int32_t out = g->operands[op->out_at];
  int32_t args[] = {tosa_in_index(g, op, 0), tosa_value_list(g, op, torch_pad, 2 * x->t.rank),
                    value, out, out};
  memcpy(op->call->args, args, sizeof args);
  op->call->num_args = 5;
  return tosa_use_kernel(g, op, "aten::constant_pad_nd.out");
}

/* GATHER(values [N, K, C], indices int32 [N, W]) -> [N, W, C];
 * SCATTER(values_in [N, K, C], indices [N, W], input [N, W, C]) -> [N, K, C]. */
static ptec_status run_gather_scatter(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *v = tosa_in(g, op, 0), *ix = tosa_in(g, op, 1), *y = tosa_out(g, op, 0);
  size_t es = ptec_dtype_size(y->t.dtype);
  int64_t N = v->sizes[0], K = v->sizes[1], C = v->sizes[2], W = ix->sizes[1];
  const int32_t *idx = ix->t.data;
  bool scatter = op->code == TOSA_OP_SCATTER;
  if (scatter && y->t.data != v->t.data) memmove(y->t.data, v->t.data, y->t.nbytes);
  const uint8_t *src = scatter ? tosa_in(g, op, 2)->t.data : v->t.data;
  for (int64_t n = 0; n < N; n++)
    for (int64_t w = 0; w < W; w++) {
      int32_t k = idx[n * W + w];
      if (k < 0 || k >= K) {
        return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "index %d is outside [0, %lld)", k,
                            (long long)K);
      }
      size_t row = (size_t)C * es;
      if (scatter) {
        memcpy((uint8_t *)y->t.data + (size_t)(n * K + k) * row, src + (size_t)(n * W + w) * row,
               row);
      } else {
        memcpy((uint8_t *)y->t.data + (size_t)(n * W + w) * row, src + (size_t)(n * K + k) * row,
               row);
      }
    }
  return PTEC_STATUS_OK;
}

ptec_status tosa_setup_gather(tosa_graph *g, tosa_op *op) {
  bool scatter = op->code == TOSA_OP_SCATTER;
  ptec_status s = arity(g, op, scatter ? 3 : 2, 1);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *v = tosa_in(g, op, 0), *ix = tosa_in(g, op, 1), *y = tosa_out(g, op, 0);
  s = same_type(g, op, v, y);
  if (s != PTEC_STATUS_OK) return s;
  bool ok = v->t.rank == 3 && ix->t.rank == 2 && y->t.rank == 3 && ix->type == TOSA_DTYPE_INT32 &&
            ix->sizes[0] == v->sizes[0];
  if (ok && scatter) {
    const tosa_tensor *in = tosa_in(g, op, 2);
    ok = tosa_same_shape(v, y) && in->type == v->type && in->t.rank == 3 &&
         in->sizes[0] == v->sizes[0] && in->sizes[1] == ix->sizes[1] && in->sizes[2] == v->sizes[2];
  } else if (ok) {
    ok = y->sizes[0] == v->sizes[0] && y->sizes[1] == ix->sizes[1] && y->sizes[2] == v->sizes[2];
  }
  if (!ok) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "shapes must be values [N, K, C], "
                        "indices INT32 [N, W] and [N, W, C]");
  }
  op->run = run_gather_scatter;
  return PTEC_STATUS_OK;
}

ptec_status tosa_setup_layout(tosa_graph *g, tosa_op *op) {
  switch (op->code) {
    case TOSA_OP_CONCAT: return setup_concat(g, op);
    case TOSA_OP_PAD: return setup_pad(g, op);
    case TOSA_OP_RESHAPE: return setup_reshape(g, op);
    case TOSA_OP_REVERSE: return setup_reverse(g, op);
    case TOSA_OP_SLICE: return setup_slice(g, op);
    case TOSA_OP_TILE: return setup_tile(g, op);
    default: return setup_transpose(g, op);
  }
}
