/*
 * Elementwise operators: binary (ADD, SUB, MUL, INTDIV, shifts, bitwise and
 * logical ops, MAXIMUM, MINIMUM, POW, comparisons), unary (ABS, NEGATE,
 * CLZ, BITWISE_NOT, LOGICAL_NOT, CAST, IDENTITY and the FP math functions),
 * CLAMP and SELECT, with TOSA's broadcasting (equal ranks, size-1 dims).
 *
 * These run here rather than on the portable kernels: those follow
 * PyTorch's type promotion and int64 arithmetic, TOSA fixes the operand and
 * result types per op (e.g. int8 x int8 -> int32 MUL with a rounding shift,
 * truncating CAST, NaN modes). One loop walks every operand with
 * ptec_iter, the runtime's strided iterator; the per-element arithmetic is
 * a switch on the op. A REQUIRE the data violates at run time (division by
 * zero, a shift out of range) fails the execute with OUT_OF_RANGE instead
 * of producing an unpredictable value.
 */
#include <math.h>
#include <string.h>

#include "backends/tosa/tosa.h"
#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"

enum { P_SHIFT = 0, P_ROUND = 1, P_NAN = 2, P_IZP = 3, P_OZP = 4 };
/* CLAMP's bounds live in p[5..8] (int32 or float bits). */
enum { P_LO = 5, P_HI = 6 };

static bool is_int(uint32_t t) {
  return t == TOSA_DTYPE_INT8 || t == TOSA_DTYPE_INT16 || t == TOSA_DTYPE_INT32;
}

static int64_t load_i(const tosa_tensor *t, int64_t i) {
  switch (t->type) {
    case TOSA_DTYPE_BOOL: return ((const uint8_t *)t->t.data)[i] != 0;
    case TOSA_DTYPE_INT8: return ((const int8_t *)t->t.data)[i];
    case TOSA_DTYPE_INT16: return ((const int16_t *)t->t.data)[i];
    default: return ((const int32_t *)t->t.data)[i];
  }
}

/* Stores the low bits (TOSA truncates where it does not saturate). */
static void store_i(const tosa_tensor *t, int64_t i, int64_t v) {
  switch (t->type) {
    case TOSA_DTYPE_BOOL: ((uint8_t *)t->t.data)[i] = v != 0; break;
    case TOSA_DTYPE_INT8: ((int8_t *)t->t.data)[i] = (int8_t)(uint8_t)((uint64_t)v & 0xff); break;
    case TOSA_DTYPE_INT16:
      ((int16_t *)t->t.data)[i] = (int16_t)(uint16_t)((uint64_t)v & 0xffff);
      break;
    default: ((int32_t *)t->t.data)[i] = (int32_t)(uint32_t)((uint64_t)v & 0xffffffffu); break;
  }
}

static int bits_of(uint32_t t) {
  return t == TOSA_DTYPE_INT8 ? 8 : t == TOSA_DTYPE_INT16 ? 16 : 32;
}

static int64_t type_min(uint32_t t) { return -((int64_t)1 << (bits_of(t) - 1)); }
static int64_t type_max(uint32_t t) { return ((int64_t)1 << (bits_of(t) - 1)) - 1; }

static int64_t asr(int64_t v, int64_t s) { return v >= 0 ? v >> s : -((-(v + 1)) >> s) - 1; }

/* ------------------------------------------------------------- arithmetic */

/* Integer binary op; *bad set when a REQUIRE fails. */
static int64_t int_binary(const tosa_op *op, uint32_t type, int64_t a, int64_t b, bool *bad) {
  int w = bits_of(type);
  uint64_t mask = w == 32 ? 0xffffffffu : (((uint64_t)1 << w) - 1);
  switch (op->code) {
    case TOSA_OP_ADD: return a + b;
    case TOSA_OP_SUB: return a - b;
    case TOSA_OP_MUL:
      if (type == TOSA_DTYPE_INT32 && op->p[P_SHIFT] > 0) {
        int64_t round = (int64_t)1 << (op->p[P_SHIFT] - 1);
        /* |a * b| < 2^62: the rounding add cannot overflow. */
        int64_t r = asr(a * b + round, op->p[P_SHIFT]);
        if (r < INT32_MIN || r > INT32_MAX) *bad = true;
        return r;
      }
      return (int64_t)((uint64_t)a * (uint64_t)b); /* low 32 bits kept by the store */
    case TOSA_OP_INTDIV:
      if (b == 0 || (a == INT32_MIN && b == -1)) {
        *bad = true;
        return 0;
      }
      return a / b;
    case TOSA_OP_ARITHMETIC_RIGHT_SHIFT: {
      if (b < 0 || b > w - 1) {
        *bad = true;
        return 0;
      }
      int64_t r = asr(a, b);
      if (op->p[P_ROUND] && b > 0 && (asr(a, b - 1) & 1) != 0) r += 1;
      return r;
    }
    case TOSA_OP_LOGICAL_LEFT_SHIFT:
      if (b < 0 || b > 31) {
        *bad = true;
        return 0;
      }
      return (int64_t)(((uint64_t)a << b) & mask);
    case TOSA_OP_LOGICAL_RIGHT_SHIFT:
      if (b < 0 || b > 31) {
        *bad = true;
        return 0;
      }
      return (int64_t)(((uint64_t)a & mask) >> b);
    case TOSA_OP_BITWISE_AND: case TOSA_OP_LOGICAL_AND: return a & b;
    case TOSA_OP_BITWISE_OR: case TOSA_OP_LOGICAL_OR: return a | b;
    case TOSA_OP_BITWISE_XOR: case TOSA_OP_LOGICAL_XOR: return a ^ b;
    case TOSA_OP_MAXIMUM: return a > b ? a : b;
    case TOSA_OP_MINIMUM: return a < b ? a : b;
    case TOSA_OP_EQUAL: return a == b;
    case TOSA_OP_GREATER: return a > b;
    case TOSA_OP_GREATER_EQUAL: return a >= b;
    default: *bad = true; return 0;
  }
}

static float fp_binary(const tosa_op *op, float a, float b) {
  bool nan_a = a != a, nan_b = b != b;
  switch (op->code) {
    case TOSA_OP_ADD: return a + b;
    case TOSA_OP_SUB: return a - b;
    case TOSA_OP_MUL: return a * b;
    case TOSA_OP_POW: return powf(a, b);
    case TOSA_OP_MAXIMUM: case TOSA_OP_MINIMUM:
      if (nan_a || nan_b) {
        if (op->p[P_NAN] == TOSA_NAN_IGNORE) return nan_a ? b : a;
        return NAN;
      }
      return op->code == TOSA_OP_MAXIMUM ? (a > b ? a : b) : (a < b ? a : b);
    case TOSA_OP_EQUAL: return a == b;
    case TOSA_OP_GREATER: return a > b;
    case TOSA_OP_GREATER_EQUAL: return a >= b;
    default: return NAN;
  }
}

static int64_t clz32(int64_t v) {
  uint32_t x = (uint32_t)v;
  int64_t n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    n++;
  }
  return n;
}

/* Round half to even, saturating to [lo, hi] (float to int CAST). */
static int64_t float_to_int(float v, int64_t lo, int64_t hi) {
  if (v != v) return 0;
  double r = nearbyint((double)v); /* default rounding mode: to nearest even */
  if (r < (double)lo) return lo;
  if (r > (double)hi) return hi;
  return (int64_t)r;
}

static float fp_unary(const tosa_op *op, float x) {
  switch (op->code) {
    case TOSA_OP_ABS: return fabsf(x);
    case TOSA_OP_NEGATE: return -x;
    case TOSA_OP_CEIL: return ceilf(x);
    case TOSA_OP_FLOOR: return floorf(x);
    case TOSA_OP_COS: return cosf(x);
    case TOSA_OP_SIN: return sinf(x);
    case TOSA_OP_EXP: return expf(x);
    case TOSA_OP_LOG: return logf(x);
    case TOSA_OP_RECIPROCAL: return 1.0f / x;
    case TOSA_OP_RSQRT: return 1.0f / sqrtf(x);
    case TOSA_OP_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case TOSA_OP_TANH: return tanhf(x);
    case TOSA_OP_ERF: return erff(x);
    case TOSA_OP_IDENTITY: return x;
    case TOSA_OP_CLAMP: {
      float lo, hi;
      memcpy(&lo, &op->p[P_LO], 4);
      memcpy(&hi, &op->p[P_HI], 4);
      if (x != x) return op->p[P_NAN] == TOSA_NAN_IGNORE ? lo : x;
      return x < lo ? lo : x > hi ? hi : x;
    }
    default: return NAN;
  }
}

/* ------------------------------------------------------------------ loops */

/* Iteration over the output with each input broadcast to it. */
static void iter_over(tosa_graph *g, const tosa_op *op, uint32_t num_in, ptec_iter *it) {
  const tosa_tensor *y = tosa_out(g, op, 0);
  int64_t sizes[PTEC_MAX_RANK], strides[PTEC_ITER_MAX_OPERANDS][PTEC_MAX_RANK];
  uint32_t rank = y->t.rank;
  for (uint32_t k = 0; k <= num_in; k++) {
    const tosa_tensor *t = k == 0 ? y : tosa_in(g, op, k - 1);
    int64_t stride = 1;
    for (uint32_t d = rank; d-- > 0;) {
      strides[k][d] = t->sizes[d] == 1 ? 0 : stride;
      stride *= t->sizes[d];
    }
  }
  for (uint32_t d = 0; d < rank; d++) sizes[d] = y->sizes[d];
  ptec_iter_init(it, rank, sizes, NULL, num_in + 1, (const int64_t(*)[PTEC_MAX_RANK])strides,
                 NULL);
}

static ptec_status run_binary(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *a = tosa_in(g, op, 0), *b = tosa_in(g, op, 1), *y = tosa_out(g, op, 0);
  ptec_iter it;
  iter_over(g, op, 2, &it);
  bool bad = false;
  bool fp = tosa_is_float(a->type);
  for (; !it.empty && !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      int64_t yi = it.offset[0] + j * it.step[0];
      int64_t ai = it.offset[1] + j * it.step[1], bi = it.offset[2] + j * it.step[2];
      if (fp) {
        float r = fp_binary(op, tosa_load_float(a, ai), tosa_load_float(b, bi));
        if (y->type == TOSA_DTYPE_BOOL) ((uint8_t *)y->t.data)[yi] = r != 0.0f;
        else tosa_store_float(y, yi, r); /* half types: float32 result rounded once */
      } else {
        store_i(y, yi, int_binary(op, a->type, load_i(a, ai), load_i(b, bi), &bad));
      }
    }
  if (bad) {
    return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "an element breaks a TOSA REQUIRE "
                        "(division by zero, shift out of range or result overflow)");
  }
  return PTEC_STATUS_OK;
}

static ptec_status run_unary(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  ptec_iter it;
  iter_over(g, op, 1, &it);
  for (; !it.empty && !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      int64_t yi = it.offset[0] + j * it.step[0], xi = it.offset[1] + j * it.step[1];
      if (op->code == TOSA_OP_CAST) {
        /* Floats: FP16 and BF16 widen to FP32 exactly; every float result is
         * rounded once to nearest even (overflow to infinity, as IEEE). An
         * integer source is made float32 first: exact for |v| <= 2^24, so one
         * rounding to a half type (PyTorch's conversion too). */
        if (tosa_is_float(x->type) && tosa_is_float(y->type)) {
          tosa_store_float(y, yi, tosa_load_float(x, xi));
        } else if (tosa_is_float(x->type)) {
          float v = tosa_load_float(x, xi);
          if (y->type == TOSA_DTYPE_BOOL) store_i(y, yi, v != 0.0f);
          else store_i(y, yi, float_to_int(v, type_min(y->type), type_max(y->type)));
        } else if (tosa_is_float(y->type)) {
          tosa_store_float(y, yi, (float)load_i(x, xi));
        } else {
          store_i(y, yi, load_i(x, xi)); /* widening sign-extends, narrowing truncates */
        }
        continue;
      }
      if (tosa_is_float(x->type)) {
        tosa_store_float(y, yi, fp_unary(op, tosa_load_float(x, xi)));
        continue;
      }
      int64_t v = load_i(x, xi), r;
      switch (op->code) {
        case TOSA_OP_ABS: r = v < 0 ? -v : v; break;
        case TOSA_OP_BITWISE_NOT: r = ~v; break;
        case TOSA_OP_LOGICAL_NOT: r = !v; break;
        case TOSA_OP_CLZ: r = clz32(v); break;
        case TOSA_OP_NEGATE: {
          r = -(v - op->p[P_IZP]) + op->p[P_OZP];
          int64_t lo = type_min(y->type), hi = type_max(y->type);
          r = r < lo ? lo : r > hi ? hi : r;
          break;
        }
        case TOSA_OP_CLAMP:
          r = v < op->p[P_LO] ? op->p[P_LO] : v > op->p[P_HI] ? op->p[P_HI] : v;
          break;
        default: r = v; break; /* IDENTITY */
      }
      store_i(y, yi, r);
    }
  return PTEC_STATUS_OK;
}

static ptec_status run_select(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *c = tosa_in(g, op, 0), *a = tosa_in(g, op, 1), *b = tosa_in(g, op, 2);
  const tosa_tensor *y = tosa_out(g, op, 0);
  size_t es = ptec_dtype_size(y->t.dtype);
  ptec_iter it;
  iter_over(g, op, 3, &it);
  for (; !it.empty && !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      bool take_a = ((const uint8_t *)c->t.data)[it.offset[1] + j * it.step[1]] != 0;
      int64_t src = take_a ? it.offset[2] + j * it.step[2] : it.offset[3] + j * it.step[3];
      memcpy((uint8_t *)y->t.data + (size_t)(it.offset[0] + j * it.step[0]) * es,
             (const uint8_t *)(take_a ? a : b)->t.data + (size_t)src * es, es);
    }
  return PTEC_STATUS_OK;
}

/* --------------------------------------------------------------- checks */

static ptec_status check_broadcast(tosa_graph *g, const tosa_op *op, uint32_t num_in) {
  const tosa_tensor *y = tosa_out(g, op, 0);
  for (uint32_t k = 0; k < num_in; k++) {
    const tosa_tensor *x = tosa_in(g, op, k);
    if (x->t.rank != y->t.rank) {
      return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input %u has rank %u, output %u "
                          "(TOSA broadcasts only between equal ranks)", k, (unsigned)x->t.rank,
                          (unsigned)y->t.rank);
    }
  }
  for (uint32_t d = 0; d < y->t.rank; d++) {
    int32_t want = 1;
    for (uint32_t k = 0; k < num_in; k++) {
      int32_t n = tosa_in(g, op, k)->sizes[d];
      if (n != 1 && want != 1 && n != want) want = -1;
      else if (n != 1 && want != -1) want = n;
    }
    if (want != y->sizes[d]) {
      return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "dim %u: inputs do not broadcast to "
                          "the output's size %d", d, y->sizes[d]);
    }
  }
  return PTEC_STATUS_OK;
}

static ptec_status types(tosa_graph *g, const tosa_op *op, bool ok) {
  if (ok) return PTEC_STATUS_OK;
  return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "types %s -> %s are not supported",
                      tosa_dtype_name(tosa_in(g, op, 0)->type),
                      tosa_dtype_name(tosa_out(g, op, 0)->type));
}

static ptec_status setup_binary(tosa_graph *g, tosa_op *op) {
  uint32_t num_in = op->code == TOSA_OP_MUL ? 3 : 2;
  if (op->num_in != num_in || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected %u "
                        "and 1", op->num_in, op->num_out, num_in);
  }
  const tosa_tensor *a = tosa_in(g, op, 0), *b = tosa_in(g, op, 1), *y = tosa_out(g, op, 0);
  uint32_t c = op->code, t = a->type;
  bool cmp = c == TOSA_OP_EQUAL || c == TOSA_OP_GREATER || c == TOSA_OP_GREATER_EQUAL;
  bool logical = c == TOSA_OP_LOGICAL_AND || c == TOSA_OP_LOGICAL_OR || c == TOSA_OP_LOGICAL_XOR;
  bool fp_ok = c == TOSA_OP_ADD || c == TOSA_OP_SUB || c == TOSA_OP_MUL || c == TOSA_OP_POW ||
               c == TOSA_OP_MAXIMUM || c == TOSA_OP_MINIMUM || cmp;
  bool all_int = c == TOSA_OP_ARITHMETIC_RIGHT_SHIFT || c == TOSA_OP_BITWISE_AND ||
                 c == TOSA_OP_BITWISE_OR || c == TOSA_OP_BITWISE_XOR ||
                 c == TOSA_OP_LOGICAL_LEFT_SHIFT || c == TOSA_OP_LOGICAL_RIGHT_SHIFT;
  uint32_t out = cmp ? TOSA_DTYPE_BOOL : (c == TOSA_OP_MUL && is_int(t)) ? TOSA_DTYPE_INT32 : t;
  bool ok = b->type == t && y->type == out &&
            ((tosa_is_float(t) && fp_ok) || (logical && t == TOSA_DTYPE_BOOL) ||
             (all_int && is_int(t)) || (c == TOSA_OP_MUL && is_int(t)) ||
             (t == TOSA_DTYPE_INT32 && !logical && c != TOSA_OP_POW));
  ptec_status s = types(g, op, ok);
  if (s == PTEC_STATUS_OK) s = check_broadcast(g, op, 2);
  if (s != PTEC_STATUS_OK) return s;
  fb_table a_attr;
  if (c == TOSA_OP_MUL) {
    int64_t shift;
    s = tosa_const_scalar(g, op, 2, TOSA_DTYPE_INT8, "shift", &shift);
    if (s != PTEC_STATUS_OK) return s;
    if (shift < 0 || shift > 63 || (t != TOSA_DTYPE_INT32 && shift != 0)) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "shift %lld must be 0 (or in [0, 63] "
                          "for INT32)", (long long)shift);
    }
    op->p[P_SHIFT] = (int32_t)shift;
  } else if (c == TOSA_OP_ARITHMETIC_RIGHT_SHIFT) {
    uint8_t round;
    s = tosa_attr(g, op, &a_attr);
    if (s == PTEC_STATUS_OK) s = fb_u8(&g->r, &a_attr, TOSA_ARSHIFT_ROUND, 0, &round);
    if (s != PTEC_STATUS_OK) return s;
    op->p[P_ROUND] = round != 0;
  } else if (c == TOSA_OP_MAXIMUM || c == TOSA_OP_MINIMUM) {
    uint32_t nan;
    s = tosa_attr(g, op, &a_attr);
    if (s == PTEC_STATUS_OK) s = fb_u32(&g->r, &a_attr, TOSA_MINMAX_NAN_MODE, 0, &nan);
    if (s == PTEC_STATUS_OK) s = tosa_check_nan_mode(g, op, nan);
    if (s != PTEC_STATUS_OK) return s;
    op->p[P_NAN] = (int32_t)nan;
  }
  op->run = run_binary;
  return PTEC_STATUS_OK;
}

static ptec_status setup_clamp(tosa_graph *g, tosa_op *op) {
  const tosa_tensor *x = tosa_in(g, op, 0);
  fb_table a;
  fb_vector lo, hi;
  uint32_t nan;
  ptec_status s = tosa_attr(g, op, &a);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(&g->r, &a, TOSA_CLAMP_MIN_VAL, 1, &lo, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(&g->r, &a, TOSA_CLAMP_MAX_VAL, 1, &hi, NULL);
  if (s == PTEC_STATUS_OK) s = fb_u32(&g->r, &a, TOSA_CLAMP_NAN_MODE, 0, &nan);
  if (s != PTEC_STATUS_OK) return tosa_op_fail(g, op, s, "attribute: %s", g->r.reason);
  s = tosa_check_nan_mode(g, op, nan);
  if (s != PTEC_STATUS_OK) return s;
  size_t es = x->type == TOSA_DTYPE_FP32 ? 4 : tosa_is_float(x->type) ? 2
                                                                       : (size_t)bits_of(x->type) / 8;
  if (lo.len != es || hi.len != es) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "min_val and max_val must hold one %s "
                        "(%zu bytes), got %u and %u", tosa_dtype_name(x->type), es, lo.len, hi.len);
  }
  const uint8_t *lp = fb_vector_ptr(&g->r, &lo), *hp = fb_vector_ptr(&g->r, &hi);
  if (tosa_is_float(x->type)) {
    float l, h;
    if (es == 4) {
      memcpy(&l, lp, 4);
      memcpy(&h, hp, 4);
    } else { /* FP16 / BF16 bounds, little-endian */
      uint16_t lb = (uint16_t)(lp[0] | lp[1] << 8), hb = (uint16_t)(hp[0] | hp[1] << 8);
      bool bf = x->type == TOSA_DTYPE_BF16;
      l = bf ? ptec_bf16_to_f32(lb) : ptec_f16_to_f32(lb);
      h = bf ? ptec_bf16_to_f32(hb) : ptec_f16_to_f32(hb);
    }
    if (l != l || h != h || h < l) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "min_val > max_val or NaN bounds");
    }
    memcpy(&op->p[P_LO], &l, 4);
    memcpy(&op->p[P_HI], &h, 4);
  } else {
    int64_t l = 0, h = 0;
    if (es == 1) {
      l = (int8_t)lp[0];
      h = (int8_t)hp[0];
    } else {
      int16_t l16, h16;
      memcpy(&l16, lp, 2);
      memcpy(&h16, hp, 2);
      l = l16;
      h = h16;
    }
    if (h < l) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "min_val %lld > max_val %lld",
                          (long long)l, (long long)h);
    }
    op->p[P_LO] = (int32_t)l;
    op->p[P_HI] = (int32_t)h;
  }
  op->p[P_NAN] = (int32_t)nan;
  return PTEC_STATUS_OK;
}

static bool is_fp_only_unary(uint32_t c) {
  return c == TOSA_OP_CEIL || c == TOSA_OP_FLOOR || c == TOSA_OP_COS || c == TOSA_OP_SIN ||
         c == TOSA_OP_EXP || c == TOSA_OP_LOG || c == TOSA_OP_RECIPROCAL || c == TOSA_OP_RSQRT ||
         c == TOSA_OP_SIGMOID || c == TOSA_OP_TANH || c == TOSA_OP_ERF;
}

/* TOSA 1.0's CAST matrix: bool/int8/int16/int32 among themselves (PRO-INT);
 * int <-> FP16/FP32 and FP16 <-> FP32 (PRO-FP); BF16 <-> int and BF16 <->
 * FP32 (EXT-BF16). Not FP16 <-> BF16 (go through FP32), nor bool <-> float. */
static bool cast_allowed(uint32_t from, uint32_t to) {
  bool fi = tosa_is_float(from), ti = tosa_is_float(to);
  if (from == to) return false;
  if (!fi && !ti) {
    return (is_int(from) || from == TOSA_DTYPE_BOOL) && (is_int(to) || to == TOSA_DTYPE_BOOL);
  }
  if (fi && ti) return from == TOSA_DTYPE_FP32 || to == TOSA_DTYPE_FP32;
  return is_int(fi ? to : from);
}

static ptec_status setup_unary(tosa_graph *g, tosa_op *op) {
  uint32_t c = op->code;
  uint32_t num_in = c == TOSA_OP_NEGATE ? 3 : 1;
  if (op->num_in != num_in || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected %u "
                        "and 1", op->num_in, op->num_out, num_in);
  }
  const tosa_tensor *x = tosa_in(g, op, 0), *y = tosa_out(g, op, 0);
  uint32_t t = x->type;
  if (!tosa_same_shape(x, y)) {
    return tosa_op_fail(g, op, PTEC_STATUS_SHAPE_MISMATCH, "input and output shapes differ");
  }
  bool ok;
  ptec_status s = PTEC_STATUS_OK;
  switch (c) {
    case TOSA_OP_CAST: ok = cast_allowed(t, y->type); break;
    case TOSA_OP_IDENTITY:
      ok = y->type == t && (is_int(t) || t == TOSA_DTYPE_BOOL || t == TOSA_DTYPE_FP32);
      break;
    case TOSA_OP_ABS: ok = y->type == t && (t == TOSA_DTYPE_INT32 || tosa_is_float(t)); break;
    case TOSA_OP_CLZ: ok = y->type == t && t == TOSA_DTYPE_INT32; break;
    case TOSA_OP_BITWISE_NOT: ok = y->type == t && is_int(t); break;
    case TOSA_OP_LOGICAL_NOT: ok = y->type == t && t == TOSA_DTYPE_BOOL; break;
    case TOSA_OP_CLAMP:
      ok = y->type == t && (t == TOSA_DTYPE_INT8 || t == TOSA_DTYPE_INT16 || tosa_is_float(t));
      if (ok) s = setup_clamp(g, op);
      break;
    case TOSA_OP_NEGATE: {
      ok = y->type == t && (is_int(t) || tosa_is_float(t));
      if (!ok || tosa_is_float(t)) break;
      int64_t izp, ozp;
      s = tosa_const_scalar(g, op, 1, t, "input1_zp", &izp);
      if (s == PTEC_STATUS_OK) s = tosa_const_scalar(g, op, 2, t, "output_zp", &ozp);
      if (s == PTEC_STATUS_OK && t != TOSA_DTYPE_INT8 && (izp != 0 || ozp != 0)) {
        return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "zero points must be 0 except INT8");
      }
      op->p[P_IZP] = (int32_t)izp;
      op->p[P_OZP] = (int32_t)ozp;
      break;
    }
    default: ok = y->type == t && tosa_is_float(t) && is_fp_only_unary(c); break;
  }
  if (s == PTEC_STATUS_OK) s = types(g, op, ok);
  if (s != PTEC_STATUS_OK) return s;
  op->run = run_unary;
  return PTEC_STATUS_OK;
}

static ptec_status setup_select(tosa_graph *g, tosa_op *op) {
  if (op->num_in != 3 || op->num_out != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "has %u inputs and %u outputs, expected 3 "
                        "and 1", op->num_in, op->num_out);
  }
  const tosa_tensor *c = tosa_in(g, op, 0), *a = tosa_in(g, op, 1), *b = tosa_in(g, op, 2);
  const tosa_tensor *y = tosa_out(g, op, 0);
  bool ok = c->type == TOSA_DTYPE_BOOL && a->type == b->type && a->type == y->type &&
            (is_int(a->type) || a->type == TOSA_DTYPE_BOOL || a->type == TOSA_DTYPE_FP32 ||
             a->type == TOSA_DTYPE_FP16 || a->type == TOSA_DTYPE_BF16);
  ptec_status s = types(g, op, ok);
  if (s == PTEC_STATUS_OK) s = check_broadcast(g, op, 3);
  if (s != PTEC_STATUS_OK) return s;
  op->run = run_select;
  return PTEC_STATUS_OK;
}

ptec_status tosa_setup_elementwise(tosa_graph *g, tosa_op *op) {
  switch (op->code) {
    case TOSA_OP_SELECT: return setup_select(g, op);
    case TOSA_OP_ADD: case TOSA_OP_SUB: case TOSA_OP_MUL: case TOSA_OP_INTDIV:
    case TOSA_OP_ARITHMETIC_RIGHT_SHIFT: case TOSA_OP_BITWISE_AND: case TOSA_OP_BITWISE_OR:
    case TOSA_OP_BITWISE_XOR: case TOSA_OP_LOGICAL_AND: case TOSA_OP_LOGICAL_OR:
    case TOSA_OP_LOGICAL_XOR: case TOSA_OP_LOGICAL_LEFT_SHIFT: case TOSA_OP_LOGICAL_RIGHT_SHIFT:
    case TOSA_OP_MAXIMUM: case TOSA_OP_MINIMUM: case TOSA_OP_POW: case TOSA_OP_EQUAL:
    case TOSA_OP_GREATER: case TOSA_OP_GREATER_EQUAL:
      return setup_binary(g, op);
    default:
      return setup_unary(g, op);
  }
}
