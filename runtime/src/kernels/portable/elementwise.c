#include "kernels/portable/elementwise.h"

#include <math.h>
#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/x86/ops_f32_x86.h"

/* Elements converted per gather/scatter round trip in the slow paths. */
#define CHUNK 64

/* ------------------------------------------------------------------ unary */

ptec_status ptec_unary(ptec_kernel_context *ctx, const ptec_tensor *in, ptec_tensor *out,
                       ptec_unary_f32_fn f, ptec_unary_i64_fn g, const void *params) {
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "input dtype %s not supported", ptec_dtype_name(in->dtype));
  bool is_float = ptec_dtype_computes_in_f32(out->dtype);
  if (!is_float) {
    bool integral = ptec_dtype_is_integer(out->dtype) || out->dtype == PTEC_DTYPE_BOOL;
    PTEC_CHECK(ctx, g != NULL && integral, PTEC_STATUS_NOT_SUPPORTED, "out dtype %s not supported",
               ptec_dtype_name(out->dtype));
    PTEC_CHECK(ctx, !ptec_dtype_is_float(in->dtype), PTEC_STATUS_TYPE_MISMATCH,
               "%s input cannot produce a %s out", ptec_dtype_name(in->dtype),
               ptec_dtype_name(out->dtype));
  }
  int compute = is_float ? PTEC_DTYPE_FLOAT32 : PTEC_DTYPE_INT64;
  bool direct = in->dtype == compute && out->dtype == compute;

  int64_t strides[2][PTEC_MAX_RANK];
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(out, strides[0]);
  ptec_tensor_strides(in, strides[1]);
  ptec_tensor_sizes64(out, sizes);
  ptec_iter it;
  for (ptec_iter_init(&it, out->rank, sizes, out->dim_order, 2,
                      (const int64_t(*)[PTEC_MAX_RANK])strides, NULL);
       !it.done; ptec_iter_next(&it)) {
    if (direct && it.step[0] == 1 && it.step[1] == 1) {
      if (is_float)
        f((float *)out->data + it.offset[0], (const float *)in->data + it.offset[1], it.count,
          params);
      else
        g((int64_t *)out->data + it.offset[0], (const int64_t *)in->data + it.offset[1],
          it.count, params);
      continue;
    }
    for (int64_t j0 = 0; j0 < it.count; j0 += CHUNK) {
      int64_t m = it.count - j0 < CHUNK ? it.count - j0 : CHUNK;
      int64_t oi = it.offset[0] + j0 * it.step[0], ii = it.offset[1] + j0 * it.step[1];
      int64_t so = it.step[0], si = it.step[1];
      if (is_float) {
        float x[CHUNK], y[CHUNK];
        for (int64_t j = 0; j < m; j++) x[j] = ptec_load_f32(in->data, in->dtype, ii + j * si);
        f(y, x, m, params);
        for (int64_t j = 0; j < m; j++) ptec_store_f32(out->data, out->dtype, oi + j * so, y[j]);
      } else {
        int64_t x[CHUNK], y[CHUNK];
        for (int64_t j = 0; j < m; j++) x[j] = ptec_load_i64(in->data, in->dtype, ii + j * si);
        g(y, x, m, params);
        for (int64_t j = 0; j < m; j++) ptec_store_i64(out->data, out->dtype, oi + j * so, y[j]);
      }
    }
  }
  return PTEC_STATUS_OK;
}

/* ----------------------------------------------------------------- binary */

static bool is_comparison(ptec_binary_op op) { return op >= PTEC_BINARY_EQ; }

/* PyTorch's floor division of floats (c10 div_floor_floating), so results
 * agree exactly, including signed zeros and the rounding fix-up. */
static float div_floor_f32(float a, float b) {
  if (b == 0.0f) return a / b;
  float mod = fmodf(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f && (b < 0.0f) != (mod < 0.0f)) div -= 1.0f;
  if (div == 0.0f) return copysignf(0.0f, a / b);
  float floordiv = floorf(div);
  if (div - floordiv > 0.5f) floordiv += 1.0f;
  return floordiv;
}

/* PyTorch special-cases these exponents (pow_tensor_scalar_optimized) and
 * the results differ from powf in the last bit. */
static float pow_f32(float a, float b) {
  if (b == 2.0f) return a * a;
  if (b == 3.0f) return a * a * a;
  if (b == 0.5f) return sqrtf(a);
  if (b == -0.5f) return 1.0f / sqrtf(a);
  if (b == -1.0f) return 1.0f / a;
  if (b == -2.0f) return 1.0f / (a * a);
  return powf(a, b);
}

static float binary_f32(ptec_binary_op op, float a, float b, float alpha) {
  switch (op) {
    case PTEC_BINARY_ADD: return a + alpha * b;
    case PTEC_BINARY_SUB: return a - alpha * b;
    case PTEC_BINARY_MUL: return a * b;
    case PTEC_BINARY_DIV: return a / b;
    case PTEC_BINARY_DIV_TRUNC: return truncf(a / b);
    case PTEC_BINARY_DIV_FLOOR: return div_floor_f32(a, b);
    case PTEC_BINARY_MAXIMUM: return a != a ? a : b != b ? b : a > b ? a : b;
    case PTEC_BINARY_MINIMUM: return a != a ? a : b != b ? b : a < b ? a : b;
    case PTEC_BINARY_POW: return pow_f32(a, b);
    case PTEC_BINARY_FMOD: return fmodf(a, b);
    case PTEC_BINARY_ATAN2: return atan2f(a, b);
    case PTEC_BINARY_REMAINDER: { /* c10's remainder for floats */
      float mod = fmodf(a, b);
      if (mod != 0.0f && ((b < 0.0f) != (mod < 0.0f))) mod += b;
      return mod;
    }
    default: return 0.0f;
  }
}

/* Integer arithmetic wraps like PyTorch; unsigned math keeps C defined. */
static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

static int64_t pow_i64(int64_t base, int64_t exp) {
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exp >>= 1;
  }
  return result;
}

/* Returns false on integer division by zero or a negative power. */
static bool binary_i64(ptec_binary_op op, int64_t a, int64_t b, int64_t alpha, int64_t *r) {
  switch (op) {
    case PTEC_BINARY_ADD: *r = wrap_add(a, wrap_mul(alpha, b)); return true;
    case PTEC_BINARY_SUB: *r = wrap_add(a, wrap_mul(0 - (uint64_t)alpha, b)); return true;
    case PTEC_BINARY_MUL: *r = wrap_mul(a, b); return true;
    case PTEC_BINARY_DIV_TRUNC:
    case PTEC_BINARY_DIV_FLOOR: {
      if (b == 0) return false;
      if (b == -1) { /* INT64_MIN / -1 traps on x86 */
        *r = (int64_t)(0 - (uint64_t)a);
        return true;
      }
      int64_t q = a / b;
      if (op == PTEC_BINARY_DIV_FLOOR && a % b != 0 && ((a < 0) != (b < 0))) q--;
      *r = q;
      return true;
    }
    case PTEC_BINARY_MAXIMUM: *r = a > b ? a : b; return true;
    case PTEC_BINARY_MINIMUM: *r = a < b ? a : b; return true;
    case PTEC_BINARY_POW:
      if (b < 0) return false;
      *r = pow_i64(a, b);
      return true;
    case PTEC_BINARY_FMOD:
      if (b == 0) return false;
      *r = b == -1 ? 0 : a % b; /* INT64_MIN % -1 traps on x86 */
      return true;
    case PTEC_BINARY_BITWISE_AND: *r = a & b; return true;
    case PTEC_BINARY_BITWISE_OR: *r = a | b; return true;
    case PTEC_BINARY_BITWISE_XOR: *r = a ^ b; return true;
    /* As c10's lshift/rshift kernels: a shift by a negative amount or by the
     * width or more gives 0 (left) or the sign (right). Computed in int64,
     * the stored low bits equal the narrower type's results. */
    case PTEC_BINARY_SHIFT_LEFT:
      *r = b < 0 || b >= 64 ? 0 : (int64_t)((uint64_t)a << b);
      return true;
    case PTEC_BINARY_SHIFT_RIGHT:
      *r = b < 0 || b >= 64 ? (a < 0 ? -1 : 0) : (a < 0 ? ~(~a >> b) : a >> b);
      return true;
    case PTEC_BINARY_REMAINDER: {
      if (b == 0) return false;
      int64_t m = b == -1 ? 0 : a % b; /* INT64_MIN % -1 traps on x86 */
      *r = m != 0 && ((m < 0) != (b < 0)) ? m + b : m;
      return true;
    }
    default: *r = 0; return true;
  }
}

static bool compare_f32(ptec_binary_op op, float a, float b) {
  switch (op) {
    case PTEC_BINARY_LOGICAL_AND: return a != 0.0f && b != 0.0f; /* NaN is true */
    case PTEC_BINARY_LOGICAL_OR: return a != 0.0f || b != 0.0f;
    case PTEC_BINARY_LOGICAL_XOR: return (a != 0.0f) != (b != 0.0f);
    case PTEC_BINARY_EQ: return a == b;
    case PTEC_BINARY_NE: return a != b;
    case PTEC_BINARY_LT: return a < b;
    case PTEC_BINARY_LE: return a <= b;
    case PTEC_BINARY_GT: return a > b;
    default: return a >= b;
  }
}

static bool compare_i64(ptec_binary_op op, int64_t a, int64_t b) {
  switch (op) {
    case PTEC_BINARY_LOGICAL_AND: return a != 0 && b != 0;
    case PTEC_BINARY_LOGICAL_OR: return a != 0 || b != 0;
    case PTEC_BINARY_LOGICAL_XOR: return (a != 0) != (b != 0);
    case PTEC_BINARY_EQ: return a == b;
    case PTEC_BINARY_NE: return a != b;
    case PTEC_BINARY_LT: return a < b;
    case PTEC_BINARY_LE: return a <= b;
    case PTEC_BINARY_GT: return a > b;
    default: return a >= b;
  }
}

/* The common float32 case, on the tensors' memory directly. */
static void binary_row_f32(ptec_binary_op op, float *o, int64_t so, const float *a, int64_t sa,
                           const float *b, int64_t sb, int64_t n, float alpha) {
  if (PTEC_F_VARIANT_BINARY_ROW((int)op, o, so, a, sa, b, sb, n, alpha)) return;
  switch (op) {
    case PTEC_BINARY_ADD:
      if (alpha == 1.0f) {
        for (int64_t j = 0; j < n; j++) o[j * so] = a[j * sa] + b[j * sb];
        return;
      }
      break;
    case PTEC_BINARY_MUL:
      for (int64_t j = 0; j < n; j++) o[j * so] = a[j * sa] * b[j * sb];
      return;
    case PTEC_BINARY_DIV:
      for (int64_t j = 0; j < n; j++) o[j * so] = a[j * sa] / b[j * sb];
      return;
    default: break;
  }
  for (int64_t j = 0; j < n; j++) o[j * so] = binary_f32(op, a[j * sa], b[j * sb], alpha);
}

ptec_status ptec_binary(ptec_kernel_context *ctx, ptec_binary_op op, const ptec_tensor *a,
                        const ptec_tensor *b, ptec_tensor *out, double alpha) {
  const ptec_tensor *inputs[2] = {a, b};
  for (int k = 0; k < 2; k++)
    PTEC_CHECK(ctx, ptec_dtype_is_supported(inputs[k]->dtype), PTEC_STATUS_NOT_SUPPORTED,
               "input dtype %s not supported", ptec_dtype_name(inputs[k]->dtype));
  bool any_float = ptec_dtype_is_float(a->dtype) || ptec_dtype_is_float(b->dtype);
  bool cmp = is_comparison(op);
  bool is_float;
  if (cmp) {
    PTEC_CHECK(ctx, ptec_dtype_is_supported(out->dtype) && out->dtype != PTEC_DTYPE_FLOAT64,
               PTEC_STATUS_NOT_SUPPORTED, "out dtype %s not supported",
               ptec_dtype_name(out->dtype));
    is_float = any_float;
  } else {
    PTEC_CHECK(ctx, ptec_dtype_is_supported(out->dtype) && out->dtype != PTEC_DTYPE_FLOAT64,
               PTEC_STATUS_NOT_SUPPORTED, "out dtype %s not supported",
               ptec_dtype_name(out->dtype));
    is_float = ptec_dtype_computes_in_f32(out->dtype);
    PTEC_CHECK(ctx, is_float || !any_float, PTEC_STATUS_TYPE_MISMATCH,
               "float inputs cannot produce a %s out", ptec_dtype_name(out->dtype));
    PTEC_CHECK(ctx, out->dtype != PTEC_DTYPE_BOOL ||
                        (a->dtype == PTEC_DTYPE_BOOL && b->dtype == PTEC_DTYPE_BOOL),
               PTEC_STATUS_TYPE_MISMATCH, "a bool out needs bool inputs");
    PTEC_CHECK(ctx, is_float || (op != PTEC_BINARY_DIV && op != PTEC_BINARY_ATAN2),
               PTEC_STATUS_TYPE_MISMATCH, "this op needs a float out, not %s",
               ptec_dtype_name(out->dtype));
    bool bitwise = op >= PTEC_BINARY_BITWISE_AND && op <= PTEC_BINARY_SHIFT_RIGHT;
    PTEC_CHECK(ctx, !bitwise || !any_float, PTEC_STATUS_TYPE_MISMATCH,
               "bitwise ops and shifts take integer or bool tensors, not %s and %s",
               ptec_dtype_name(a->dtype), ptec_dtype_name(b->dtype));
    PTEC_CHECK(ctx, out->dtype != PTEC_DTYPE_BOOL || op != PTEC_BINARY_SUB,
               PTEC_STATUS_TYPE_MISMATCH, "subtraction of bools is not supported");
  }

  ptec_iter it;
  PTEC_TRY(ptec_iter_broadcast(ctx, &it, out, inputs, 2));
  float alpha_f = (float)alpha;
  /* alpha is a program value: the integer path takes it only inside int64 (an Int alpha of
   * INT64_MAX arrives as the double 2^63, one past the range). */
  bool alpha_fits = alpha >= -9223372036854775808.0 && alpha < 9223372036854775808.0;
  PTEC_CHECK(ctx, is_float || alpha_fits, PTEC_STATUS_OUT_OF_RANGE,
             "alpha is outside the int64 range");
  int64_t alpha_i = alpha_fits ? (int64_t)alpha : 0;
  bool direct = !cmp && is_float && a->dtype == PTEC_DTYPE_FLOAT32 &&
                b->dtype == PTEC_DTYPE_FLOAT32;
  for (; !it.done; ptec_iter_next(&it)) {
    if (direct) {
      binary_row_f32(op, (float *)out->data + it.offset[0], it.step[0],
                     (const float *)a->data + it.offset[1], it.step[1],
                     (const float *)b->data + it.offset[2], it.step[2], it.count, alpha_f);
      continue;
    }
    if (cmp && a->dtype == PTEC_DTYPE_FLOAT32 && b->dtype == PTEC_DTYPE_FLOAT32 &&
        out->dtype == PTEC_DTYPE_BOOL && it.step[0] == 1 &&
        PTEC_F_VARIANT_COMPARE_ROW((int)op, (uint8_t *)out->data + it.offset[0],
                                   (const float *)a->data + it.offset[1], it.step[1],
                                   (const float *)b->data + it.offset[2], it.step[2], it.count))
      continue;
    for (int64_t j = 0; j < it.count; j++) {
      int64_t oi = it.offset[0] + j * it.step[0];
      int64_t ai = it.offset[1] + j * it.step[1], bi = it.offset[2] + j * it.step[2];
      if (is_float) {
        float x = ptec_load_f32(a->data, a->dtype, ai), y = ptec_load_f32(b->data, b->dtype, bi);
        if (cmp) ptec_store_i64(out->data, out->dtype, oi, compare_f32(op, x, y));
        else ptec_store_f32(out->data, out->dtype, oi, binary_f32(op, x, y, alpha_f));
      } else {
        int64_t x = ptec_load_i64(a->data, a->dtype, ai), y = ptec_load_i64(b->data, b->dtype, bi);
        int64_t r;
        if (cmp) {
          r = compare_i64(op, x, y);
        } else if (!binary_i64(op, x, y, alpha_i, &r)) {
          if (op == PTEC_BINARY_POW)
            return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE,
                                    "integers to negative integer powers are not allowed");
          return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE, "integer division by zero");
        }
        ptec_store_i64(out->data, out->dtype, oi, r);
      }
    }
  }
  return PTEC_STATUS_OK;
}

void ptec_scalar_tensor_init(ptec_scalar_tensor *s, const ptec_kernel_context *ctx,
                             uint32_t arg) {
  memset(s, 0, sizeof *s);
  const ptec_value *v = ptec_arg(ctx, arg);
  if (v->tag == PTEC_VALUE_BOOL) {
    s->t.dtype = PTEC_DTYPE_BOOL;
    s->v.b = v->u.b;
  } else if (v->tag == PTEC_VALUE_INT) {
    s->t.dtype = PTEC_DTYPE_INT64;
    s->v.i = v->u.i;
  } else {
    s->t.dtype = PTEC_DTYPE_FLOAT32;
    s->v.f = (float)ptec_arg_double(ctx, arg);
  }
  s->t.data = &s->v;
  s->t.rank = 0;
  s->t.numel = 1;
  s->t.nbytes = ptec_dtype_size(s->t.dtype);
}
