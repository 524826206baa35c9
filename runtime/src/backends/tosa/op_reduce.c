/*
 * REDUCE_ALL/ANY/MAX/MIN/PRODUCT/SUM and ARGMAX along one axis. Tensors are
 * contiguous, so each is [outer, axis, inner] in memory. REDUCE_SUM on
 * INT32 must not overflow (a TOSA REQUIRE): an overflow fails the execute.
 */
#include <math.h>
#include <string.h>

#include "backends/tosa/tosa.h"

enum { P_AXIS = 0, P_NAN = 1 };

static void split(const tosa_tensor *x, int32_t axis, int64_t *outer, int64_t *len,
                  int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int32_t d = 0; d < axis; d++) *outer *= x->sizes[d];
  for (uint32_t d = (uint32_t)axis + 1; d < x->t.rank; d++) *inner *= x->sizes[d];
  *len = x->sizes[axis];
}

static int64_t load_i(const tosa_tensor *t, int64_t i) {
  switch (t->type) {
    case TOSA_DTYPE_BOOL: return ((const uint8_t *)t->t.data)[i] != 0;
    case TOSA_DTYPE_INT8: return ((const int8_t *)t->t.data)[i];
    case TOSA_DTYPE_INT16: return ((const int16_t *)t->t.data)[i];
    default: return ((const int32_t *)t->t.data)[i];
  }
}

static void store_i(const tosa_tensor *t, int64_t i, int64_t v) {
  switch (t->type) {
    case TOSA_DTYPE_BOOL: ((uint8_t *)t->t.data)[i] = v != 0; break;
    case TOSA_DTYPE_INT8: ((int8_t *)t->t.data)[i] = (int8_t)v; break;
    case TOSA_DTYPE_INT16: ((int16_t *)t->t.data)[i] = (int16_t)v; break;
    default: ((int32_t *)t->t.data)[i] = (int32_t)v; break;
  }
}

static ptec_status run_reduce(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  int64_t outer, len, inner;
  split(x, op->p[P_AXIS], &outer, &len, &inner);
  bool fp = x->type == TOSA_DTYPE_FP32, overflow = false;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * len * inner + i, yi = o * inner + i;
      if (fp) {
        const float *xs = x->t.data;
        float acc = op->code == TOSA_OP_REDUCE_SUM ? 0.0f
                    : op->code == TOSA_OP_REDUCE_PRODUCT ? 1.0f
                    : op->code == TOSA_OP_REDUCE_MAX ? -INFINITY : INFINITY;
        bool nan = false;
        for (int64_t k = 0; k < len; k++) {
          float v = xs[base + k * inner];
          if (op->code == TOSA_OP_REDUCE_SUM) acc += v;
          else if (op->code == TOSA_OP_REDUCE_PRODUCT) acc *= v;
          else if (v != v) nan = true;
          else if (op->code == TOSA_OP_REDUCE_MAX ? v > acc : v < acc) acc = v;
        }
        if (nan && op->p[P_NAN] != TOSA_NAN_IGNORE) acc = NAN;
        ((float *)y->t.data)[yi] = acc;
        continue;
      }
      int64_t acc = load_i(x, base);
      for (int64_t k = 1; k < len; k++) {
        int64_t v = load_i(x, base + k * inner);
        switch (op->code) {
          case TOSA_OP_REDUCE_SUM: acc += v; break;
          case TOSA_OP_REDUCE_MAX: acc = v > acc ? v : acc; break;
          case TOSA_OP_REDUCE_MIN: acc = v < acc ? v : acc; break;
          case TOSA_OP_REDUCE_ALL: acc = acc && v; break;
          default: acc = acc || v; break; /* REDUCE_ANY */
        }
        if (acc > INT32_MAX || acc < INT32_MIN) overflow = true;
      }
      store_i(y, yi, acc);
    }
  if (overflow) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "the INT32 sum overflows (a TOSA "
                        "REQUIRE)");
  }
  return PTEC_STATUS_OK;
}

/* The first maximum wins (strictly greater updates). */
static ptec_status run_argmax(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  int64_t outer, len, inner;
  split(x, op->p[P_AXIS], &outer, &len, &inner);
  bool fp = x->type == TOSA_DTYPE_FP32;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * len * inner + i, best = 0;
      if (fp) {
        const float *xs = x->t.data;
        float m = -INFINITY;
        bool have_nan = false;
        for (int64_t k = 0; k < len; k++) {
          float v = xs[base + k * inner];
          if (v != v) {
            if (op->p[P_NAN] != TOSA_NAN_IGNORE && !have_nan) {
              have_nan = true;
              best = k;
            }
          } else if (!have_nan && v > m) {
            m = v;
            best = k;
          }
        }
      } else {
        int64_t m = load_i(x, base);
        for (int64_t k = 1; k < len; k++) {
          int64_t v = load_i(x, base + k * inner);
          if (v > m) {
            m = v;
            best = k;
          }
        }
      }
      ((int32_t *)y->t.data)[o * inner + i] = (int32_t)best;
    }
  return PTEC_STATUS_OK;
}

ptec_status tosa_setup_reduce(tosa_graph *g, tosa_op *op) {
  if (op->num_in != 1 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 1 "
                        "and 1", op->num_in, op->num_out);
  }
  fb_table a;
  int32_t axis;
  uint32_t nan = TOSA_NAN_PROPAGATE;
  ptec_status s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = fb_i32(&g->r, &a, TOSA_AXIS, 0, &axis);
  bool has_nan = op->code == TOSA_OP_ARGMAX || op->code == TOSA_OP_REDUCE_MAX ||
                 op->code == TOSA_OP_REDUCE_MIN;
  if (s == PTEC_STATUS_OK && has_nan) s = fb_u32(&g->r, &a, TOSA_AXIS_NAN_MODE, 0, &nan);
  if (s == PTEC_STATUS_OK && has_nan) s = tosa_check_nan_mode(g, op, nan);
  if (s != PTEC_STATUS_OK) return s;
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  if (axis < 0 || (uint32_t)axis >= x->t.rank) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "axis %d is outside rank %u", axis,
                        (unsigned)x->t.rank);
  }
  uint32_t t = x->type;
  bool ok;
  switch (op->code) {
    case TOSA_OP_REDUCE_ALL: case TOSA_OP_REDUCE_ANY: ok = t == TOSA_DTYPE_BOOL; break;
    case TOSA_OP_REDUCE_MAX: case TOSA_OP_REDUCE_MIN:
      ok = t == TOSA_DTYPE_INT8 || t == TOSA_DTYPE_INT16 || t == TOSA_DTYPE_INT32 ||
           t == TOSA_DTYPE_FP32;
      break;
    case TOSA_OP_REDUCE_PRODUCT: ok = t == TOSA_DTYPE_FP32; break;
    case TOSA_OP_REDUCE_SUM: ok = t == TOSA_DTYPE_INT32 || t == TOSA_DTYPE_FP32; break;
    default: ok = (t == TOSA_DTYPE_INT8 || t == TOSA_DTYPE_INT16 || t == TOSA_DTYPE_FP32) &&
                  y->type == TOSA_DTYPE_INT32; break; /* ARGMAX */
  }
  if (op->code != TOSA_OP_ARGMAX) ok = ok && y->type == t;
  if (!ok) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "types %s -> %s are not supported",
                        tosa_dtype_name(t), tosa_dtype_name(y->type));
  }
  /* Output: the input's shape with size 1 on the axis (ARGMAX drops it). */
  bool argmax = op->code == TOSA_OP_ARGMAX;
  bool shape_ok = y->t.rank == x->t.rank - (argmax ? 1 : 0) && x->sizes[axis] > 0;
  for (uint32_t d = 0, e = 0; shape_ok && d < x->t.rank; d++) {
    if ((int32_t)d == axis) {
      if (!argmax) shape_ok = y->sizes[e++] == 1;
    } else {
      shape_ok = y->sizes[e++] == x->sizes[d];
    }
  }
  if (!shape_ok) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "output shape does not match the "
                        "reduction of a non-empty axis %d", axis);
  }
  op->p[P_AXIS] = axis;
  op->p[P_NAN] = (int32_t)nan;
  op->run = argmax ? run_argmax : run_reduce;
  return PTEC_STATUS_OK;
}
