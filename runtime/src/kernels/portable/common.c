#include "kernels/portable/common.h"
#include "kernels/portable/resize.h"
#include "kernels/portable/half.h"

#include <math.h>
#include <string.h>

/* A float's bits and back, without aliasing. */
static uint32_t bits_of(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  return x;
}
static float float_of(uint32_t x) {
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}

float ptec_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1fu) {
    bits = sign | 0x7f800000u | (man << 13); /* inf, NaN */
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else { /* subnormal half: an exact float, man * 2^-24 */
    bits = sign | bits_of((float)man * (1.0f / 16777216.0f));
  }
  return float_of(bits);
}

uint16_t ptec_f32_to_f16(float f) {
  uint32_t x = bits_of(f);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu)); /* NaN */
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504: inf */
  if (ax < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
    /* |f| * 2^24 rounded to nearest even: the subnormal's mantissa. */
    float m = nearbyintf(float_of(ax) * 16777216.0f);
    return (uint16_t)(sign | (uint16_t)m);
  }
  uint32_t rounded = ax + 0xfffu + ((ax >> 13) & 1u); /* to nearest even at bit 13 */
  return (uint16_t)(sign | (uint16_t)((rounded - 0x38000000u) >> 13));
}

float ptec_bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t ptec_f32_to_bf16(float f) {
  uint32_t x = bits_of(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
  return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

float ptec_load_f32(const void *data, int dtype, int64_t i) {
  switch (dtype) {
    case PTEC_DTYPE_FLOAT32: return ((const float *)data)[i];
    case PTEC_DTYPE_FLOAT16: return ptec_f16_to_f32(((const uint16_t *)data)[i]);
    case PTEC_DTYPE_BFLOAT16: return ptec_bf16_to_f32(((const uint16_t *)data)[i]);
    case PTEC_DTYPE_FLOAT64: return (float)((const double *)data)[i];
    case PTEC_DTYPE_INT64: return (float)((const int64_t *)data)[i];
    case PTEC_DTYPE_INT32: return (float)((const int32_t *)data)[i];
    case PTEC_DTYPE_INT16: return (float)((const int16_t *)data)[i];
    case PTEC_DTYPE_INT8: return (float)((const int8_t *)data)[i];
    case PTEC_DTYPE_UINT8: return (float)((const uint8_t *)data)[i];
    case PTEC_DTYPE_BOOL: return ((const uint8_t *)data)[i] ? 1.0f : 0.0f;
    default: return 0.0f;
  }
}

/* Floating point to int64 without undefined behaviour: truncates, maps NaN
 * to 0 and saturates (2^63 is exact in float and double). */
static int64_t f64_to_i64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}

int64_t ptec_load_i64(const void *data, int dtype, int64_t i) {
  switch (dtype) {
    case PTEC_DTYPE_INT64: return ((const int64_t *)data)[i];
    case PTEC_DTYPE_INT32: return ((const int32_t *)data)[i];
    case PTEC_DTYPE_INT16: return ((const int16_t *)data)[i];
    case PTEC_DTYPE_INT8: return ((const int8_t *)data)[i];
    case PTEC_DTYPE_UINT8: return ((const uint8_t *)data)[i];
    case PTEC_DTYPE_BOOL: return ((const uint8_t *)data)[i] != 0;
    case PTEC_DTYPE_FLOAT32: return f64_to_i64(((const float *)data)[i]);
    case PTEC_DTYPE_FLOAT64: return f64_to_i64(((const double *)data)[i]);
    case PTEC_DTYPE_FLOAT16:
    case PTEC_DTYPE_BFLOAT16: return f64_to_i64(ptec_load_f32(data, dtype, i));
    default: return 0;
  }
}

void ptec_store_f32(void *data, int dtype, int64_t i, float v) {
  switch (dtype) {
    case PTEC_DTYPE_FLOAT32: ((float *)data)[i] = v; break;
    case PTEC_DTYPE_FLOAT64: ((double *)data)[i] = v; break;
    case PTEC_DTYPE_FLOAT16: ((uint16_t *)data)[i] = ptec_f32_to_f16(v); break;
    case PTEC_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = ptec_f32_to_bf16(v); break;
    case PTEC_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0.0f; break;
    default: ptec_store_i64(data, dtype, i, f64_to_i64(v)); break;
  }
}

void ptec_store_i64(void *data, int dtype, int64_t i, int64_t v) {
  /* Narrowing wraps like PyTorch; done on unsigned types to stay defined. */
  switch (dtype) {
    case PTEC_DTYPE_INT64: ((int64_t *)data)[i] = v; break;
    case PTEC_DTYPE_INT32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case PTEC_DTYPE_INT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case PTEC_DTYPE_INT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case PTEC_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case PTEC_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    case PTEC_DTYPE_FLOAT32: ((float *)data)[i] = (float)v; break;
    case PTEC_DTYPE_FLOAT64: ((double *)data)[i] = (double)v; break;
    case PTEC_DTYPE_FLOAT16:
    case PTEC_DTYPE_BFLOAT16: ptec_store_f32(data, dtype, i, (float)v); break;
    default: break;
  }
}

void ptec_convert_element(void *dst, int dst_dtype, int64_t di, const void *src, int src_dtype,
                          int64_t si) {
  if (src_dtype == PTEC_DTYPE_FLOAT64) { /* not through float: keep range and precision */
    double v = ((const double *)src)[si];
    if (dst_dtype == PTEC_DTYPE_FLOAT64) ((double *)dst)[di] = v;
    else if (dst_dtype == PTEC_DTYPE_FLOAT32 || ptec_dtype_is_half(dst_dtype))  /* as c10: via float */
      ptec_store_f32(dst, dst_dtype, di, (float)v);
    else if (dst_dtype == PTEC_DTYPE_BOOL) ((uint8_t *)dst)[di] = v != 0.0;
    else ptec_store_i64(dst, dst_dtype, di, f64_to_i64(v));
  } else if (src_dtype == PTEC_DTYPE_FLOAT32 || ptec_dtype_is_half(src_dtype)) {
    ptec_store_f32(dst, dst_dtype, di, ptec_load_f32(src, src_dtype, si));
  } else if (dst_dtype == PTEC_DTYPE_FLOAT64) {
    ((double *)dst)[di] = (double)ptec_load_i64(src, src_dtype, si);
  } else {
    ptec_store_i64(dst, dst_dtype, di, ptec_load_i64(src, src_dtype, si));
  }
}

static void fill_f32(ptec_tensor *t, float v) {
  for (size_t i = 0; i < t->numel; i++) ptec_store_f32(t->data, t->dtype, (int64_t)i, v);
}

static void fill_i64(ptec_tensor *t, int64_t v) {
  for (size_t i = 0; i < t->numel; i++) ptec_store_i64(t->data, t->dtype, (int64_t)i, v);
}

void ptec_fill_scalar(const ptec_kernel_context *ctx, uint32_t arg, ptec_tensor *t) {
  if (ptec_arg_scalar_is_integral(ctx, arg))
    fill_i64(t, ptec_arg_scalar_int(ctx, arg));
  else if (t->dtype == PTEC_DTYPE_FLOAT64) {
    double v = ptec_arg_double(ctx, arg);
    for (size_t i = 0; i < t->numel; i++) ((double *)t->data)[i] = v;
  } else if (ptec_dtype_is_integer(t->dtype)) {
    fill_i64(t, f64_to_i64(ptec_arg_double(ctx, arg)));
  } else if (t->dtype == PTEC_DTYPE_BOOL) {
    fill_i64(t, ptec_arg_double(ctx, arg) != 0.0);
  } else {
    fill_f32(t, (float)ptec_arg_double(ctx, arg));
  }
}

int64_t ptec_arg_scalar_int(const ptec_kernel_context *ctx, uint32_t i) {
  const ptec_value *v = ptec_arg(ctx, i);
  if (v->tag == PTEC_VALUE_INT) return v->u.i;
  if (v->tag == PTEC_VALUE_BOOL) return v->u.b;
  if (v->tag == PTEC_VALUE_DOUBLE) return f64_to_i64(v->u.d);
  return 0;
}

const char *ptec_shape_str(const int32_t *sizes, uint32_t rank, char *buf, size_t cap) {
  size_t n = 0;
  if (cap == 0) return buf;
#define PUT(c) do { if (n + 1 < cap) buf[n++] = (c); } while (0)
  PUT('[');
  for (uint32_t k = 0; k < rank; k++) {
    if (k) { PUT(','); PUT(' '); }
    char digits[12];
    int nd = 0;
    int64_t v = sizes[k];
    if (v < 0) { PUT('-'); v = -v; }
    do { digits[nd++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (nd) PUT(digits[--nd]);
  }
  PUT(']');
#undef PUT
  buf[n] = '\0';
  return buf;
}

ptec_status ptec_check_dtype(ptec_kernel_context *ctx, const ptec_tensor *t, int dtype,
                             const char *name) {
  PTEC_CHECK(ctx, t->dtype == dtype, PTEC_STATUS_TYPE_MISMATCH, "%s has dtype %s, expected %s",
             name, ptec_dtype_name(t->dtype), ptec_dtype_name(dtype));
  return PTEC_STATUS_OK;
}

ptec_status ptec_check_same_dtype(ptec_kernel_context *ctx, const ptec_tensor *a,
                                  const ptec_tensor *b, const char *name_a, const char *name_b) {
  PTEC_CHECK(ctx, a->dtype == b->dtype, PTEC_STATUS_TYPE_MISMATCH,
             "%s has dtype %s but %s has %s", name_a, ptec_dtype_name(a->dtype), name_b,
             ptec_dtype_name(b->dtype));
  return PTEC_STATUS_OK;
}

/* A DYNAMIC_BOUND out ("out..." by name; the frame's tensors are writable)
 * takes the shape asked for, within its bound, instead of being checked
 * (resize.h): so every kernel checking its out this way follows a dynamic
 * input. */
static bool resizes(const ptec_tensor *t, const char *name) {
  return t->dynamic_sizes != NULL && strncmp(name, "out", 3) == 0;
}

ptec_status ptec_check_shape(ptec_kernel_context *ctx, const ptec_tensor *t,
                             const int64_t *sizes, uint32_t rank, const char *name) {
  if (resizes(t, name)) return ptec_tensor_resize(ctx, (ptec_tensor *)t, sizes, rank, name);
  bool ok = t->rank == rank;
  for (uint32_t k = 0; ok && k < rank; k++) ok = t->sizes[k] == sizes[k];
  if (!ok) {
    int32_t want[PTEC_MAX_RANK];
    char a[48], b[48];
    uint32_t n = rank < PTEC_MAX_RANK ? rank : PTEC_MAX_RANK;
    for (uint32_t k = 0; k < n; k++) want[k] = (int32_t)sizes[k];
    return ptec_kernel_fail(ctx, PTEC_STATUS_SHAPE_MISMATCH, "%s has shape %s, expected %s", name,
                            ptec_shape_str(t->sizes, t->rank, a, sizeof a),
                            ptec_shape_str(want, n, b, sizeof b));
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_check_same_shape(ptec_kernel_context *ctx, const ptec_tensor *a,
                                  const ptec_tensor *b, const char *name_a, const char *name_b) {
  if (resizes(b, name_b)) {
    int64_t sizes[PTEC_MAX_RANK];
    ptec_tensor_sizes64(a, sizes);
    return ptec_tensor_resize(ctx, (ptec_tensor *)b, sizes, a->rank, name_b);
  }
  if (!ptec_tensor_same_shape(a, b)) {
    char sa[48], sb[48];
    return ptec_kernel_fail(ctx, PTEC_STATUS_SHAPE_MISMATCH, "%s has shape %s but %s has %s",
                            name_a, ptec_shape_str(a->sizes, a->rank, sa, sizeof sa), name_b,
                            ptec_shape_str(b->sizes, b->rank, sb, sizeof sb));
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_check_float_io(ptec_kernel_context *ctx, const ptec_tensor *in,
                                const ptec_tensor *out) {
  PTEC_CHECK(ctx, ptec_dtype_computes_in_f32(out->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "out dtype %s not supported (float32, float16 or bfloat16)",
             ptec_dtype_name(out->dtype));
  if (in) PTEC_TRY(ptec_check_dtype(ctx, in, out->dtype, "input"));
  return PTEC_STATUS_OK;
}

ptec_status ptec_check_f32(ptec_kernel_context *ctx, const ptec_tensor *in,
                           const ptec_tensor *out) {
  PTEC_CHECK(ctx, out->dtype == PTEC_DTYPE_FLOAT32, PTEC_STATUS_NOT_SUPPORTED,
             "out dtype %s not supported (float32 only)", ptec_dtype_name(out->dtype));
  if (in) PTEC_TRY(ptec_check_dtype(ctx, in, PTEC_DTYPE_FLOAT32, "input"));
  return PTEC_STATUS_OK;
}

ptec_status ptec_normalize_dim(ptec_kernel_context *ctx, int64_t dim, uint32_t rank,
                               uint32_t *out) {
  /* A 0-d tensor accepts dim 0 and -1, like PyTorch. */
  int64_t r = rank == 0 ? 1 : (int64_t)rank;
  PTEC_CHECK(ctx, dim >= -r && dim < r, PTEC_STATUS_OUT_OF_RANGE,
             "dim %lld out of range for rank %u", (long long)dim, (unsigned)rank);
  *out = (uint32_t)(dim < 0 ? dim + r : dim);
  return PTEC_STATUS_OK;
}

void ptec_tensor_sizes64(const ptec_tensor *t, int64_t sizes[PTEC_MAX_RANK]) {
  for (uint32_t k = 0; k < t->rank; k++) sizes[k] = t->sizes[k];
}

bool ptec_tensor_is_row_major(const ptec_tensor *t) {
  int64_t strides[PTEC_MAX_RANK];
  ptec_tensor_strides(t, strides);
  int64_t expect = 1;
  for (int k = (int)t->rank - 1; k >= 0; k--) {
    if (t->sizes[k] == 1) continue;
    if (strides[k] != expect) return false;
    expect *= t->sizes[k];
  }
  return true;
}
