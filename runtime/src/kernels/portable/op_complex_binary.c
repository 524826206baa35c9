/* The complex branch of add, sub and mul (complex.h). */
#include "kernels/portable/complex.h"

/* Element i of a complex tensor as (re, im) in double (exact for every part type). */
static void load_c(const void *p, int dtype, int64_t i, double v[2]) {
  for (int part = 0; part < 2; part++) {
    if (dtype == PTEC_DTYPE_COMPLEX128) v[part] = ((const double *)p)[2 * i + part];
    else if (dtype == PTEC_DTYPE_COMPLEX64) v[part] = ((const float *)p)[2 * i + part];
    else v[part] = ptec_f16_to_f32(((const uint16_t *)p)[2 * i + part]);
  }
}

static void store_c(void *p, int dtype, int64_t i, const double v[2]) {
  for (int part = 0; part < 2; part++) {
    if (dtype == PTEC_DTYPE_COMPLEX128) ((double *)p)[2 * i + part] = v[part];
    else if (dtype == PTEC_DTYPE_COMPLEX64) ((float *)p)[2 * i + part] = (float)v[part];
    else ((uint16_t *)p)[2 * i + part] = ptec_f32_to_f16((float)v[part]);
  }
}

/* c10::complex's operator/ (numpy's scaled division: no overflow in c^2 + d^2), in
 * float and in double. */
#define COMPLEX_DIV(T)                                                                   \
  static void complex_div_##T(T a, T b, T c, T d, T r[2]) {                              \
    T abs_c = c < 0 ? -c : c, abs_d = d < 0 ? -d : d;                                    \
    if (abs_c >= abs_d) {                                                                \
      if (abs_c == 0 && abs_d == 0) { /* complex inf or nan, as PyTorch */               \
        r[0] = a / abs_c;                                                                \
        r[1] = b / abs_d;                                                                \
      } else {                                                                           \
        T rat = d / c, scl = (T)1 / (c + d * rat);                                       \
        r[0] = (a + b * rat) * scl;                                                      \
        r[1] = (b - a * rat) * scl;                                                      \
      }                                                                                  \
    } else {                                                                             \
      T rat = c / d, scl = (T)1 / (d + c * rat);                                         \
      r[0] = (a * rat + b) * scl;                                                        \
      r[1] = (b * rat - a) * scl;                                                        \
    }                                                                                    \
  }
COMPLEX_DIV(float)
COMPLEX_DIV(double)

/* a op b in type T (float for complex64 and complex32, double for complex128): each
 * product and sum rounded to T, as c10::complex<T> computes. RND: complex32's alpha * b
 * is a c10::complex<Half> (rounded to half) before the add, as in PyTorch; its products
 * in mul are not (PyTorch's complex<Half> multiply works in complex<float>). */
#define COMPLEX_OP(T, RND, op, x, y, alpha, r)                                            \
  do {                                                                               \
    T xr = (T)(x)[0], xi = (T)(x)[1], yr = (T)(y)[0], yi = (T)(y)[1];                \
    if ((op) == PTEC_BINARY_DIV) {                                                   \
      complex_div_##T(xr, xi, yr, yi, r);                                            \
    } else if ((op) == PTEC_BINARY_MUL) {                                            \
      T rr = xr * yr, ii = xi * yi, ri = xr * yi, ir = xi * yr;                      \
      (r)[0] = (T)(rr - ii);                                                         \
      (r)[1] = (T)(ri + ir);                                                         \
    } else {                                                                         \
      T al = (T)(alpha), br = RND(al * yr), bi = RND(al * yi);                       \
      (r)[0] = (op) == PTEC_BINARY_ADD ? (T)(xr + br) : (T)(xr - br);                \
      (r)[1] = (op) == PTEC_BINARY_ADD ? (T)(xi + bi) : (T)(xi - bi);                \
    }                                                                                \
  } while (0)

#define KEEP(v) (v)
#define TO_HALF(v) ptec_f16_to_f32(ptec_f32_to_f16(v))

ptec_status ptec_complex_binary(ptec_kernel_context *ctx, ptec_binary_op op,
                                const ptec_tensor *a, const ptec_tensor *b, ptec_tensor *out,
                                double alpha) {
  PTEC_CHECK(ctx, op == PTEC_BINARY_ADD || op == PTEC_BINARY_SUB || op == PTEC_BINARY_MUL ||
                      op == PTEC_BINARY_DIV,
             PTEC_STATUS_NOT_SUPPORTED, "complex tensors: add, sub, mul and div only");
  /* ExecuTorch's div takes ComplexFloat and ComplexDouble, not ComplexHalf. */
  PTEC_CHECK(ctx, op != PTEC_BINARY_DIV || out->dtype != PTEC_DTYPE_COMPLEX32,
             PTEC_STATUS_NOT_SUPPORTED, "div of complex32 is not supported");
  PTEC_CHECK(ctx, ptec_dtype_is_complex(out->dtype) && a->dtype == out->dtype &&
                      b->dtype == out->dtype,
             PTEC_STATUS_TYPE_MISMATCH,
             "complex operands must all have one dtype (ExecuTorch's rule), got %s, %s, %s out",
             ptec_dtype_name(a->dtype), ptec_dtype_name(b->dtype), ptec_dtype_name(out->dtype));
  /* The broadcast shape: a and b right-aligned against out. */
  uint32_t r = out->rank;
  PTEC_CHECK(ctx, a->rank <= r && b->rank <= r, PTEC_STATUS_SHAPE_MISMATCH,
             "out rank %u is below an input's", (unsigned)r);
  int64_t os[PTEC_MAX_RANK], as_[PTEC_MAX_RANK], bs[PTEC_MAX_RANK];
  int64_t sa[PTEC_MAX_RANK] = {0}, sb[PTEC_MAX_RANK] = {0}, size[PTEC_MAX_RANK];
  ptec_tensor_strides(out, os);
  ptec_tensor_strides(a, as_);
  ptec_tensor_strides(b, bs);
  ptec_tensor_sizes64(out, size);
  for (uint32_t d = 0; d < r; d++) {
    int64_t widest = 1; /* the broadcast size of dim d, which out must have */
    const ptec_tensor *t[2] = {a, b};
    int64_t *st[2] = {sa, sb}, *src[2] = {as_, bs};
    for (int k = 0; k < 2; k++) {
      if (d + t[k]->rank < r) continue; /* a missing leading dim broadcasts */
      uint32_t td = d + t[k]->rank - r;
      int64_t n = t[k]->sizes[td];
      PTEC_CHECK(ctx, n == size[d] || n == 1, PTEC_STATUS_SHAPE_MISMATCH,
                 "input %d dim %u of size %lld does not broadcast to out's %lld", k,
                 (unsigned)td, (long long)n, (long long)size[d]);
      st[k][d] = n == 1 ? 0 : src[k][td];
      widest = n > widest ? n : widest;
    }
    PTEC_CHECK(ctx, size[d] == widest, PTEC_STATUS_SHAPE_MISMATCH,
               "out dim %u has size %lld, the broadcast shape %lld", (unsigned)d,
               (long long)size[d], (long long)widest);
  }
  int64_t idx[PTEC_MAX_RANK] = {0}, ia = 0, ib = 0, io = 0;
  for (size_t k = 0; k < out->numel; k++) {
    double x[2], y[2], z[2];
    load_c(a->data, a->dtype, ia, x);
    load_c(b->data, b->dtype, ib, y);
    if (out->dtype == PTEC_DTYPE_COMPLEX128) {
      COMPLEX_OP(double, KEEP, op, x, y, alpha, z);
    } else if (out->dtype == PTEC_DTYPE_COMPLEX64) {
      float zf[2];
      COMPLEX_OP(float, KEEP, op, x, y, alpha, zf);
      z[0] = zf[0];
      z[1] = zf[1];
    } else {
      float zf[2];
      COMPLEX_OP(float, TO_HALF, op, x, y, alpha, zf);
      z[0] = zf[0];
      z[1] = zf[1];
    }
    store_c(out->data, out->dtype, io, z);
    /* Next logical index; the offsets follow incrementally. */
    for (int d = (int)r - 1; d >= 0; d--) {
      ia += sa[d];
      ib += sb[d];
      io += os[d];
      if (++idx[d] < size[d]) break;
      ia -= sa[d] * size[d];
      ib -= sb[d] * size[d];
      io -= os[d] * size[d];
      idx[d] = 0;
    }
  }
  return PTEC_STATUS_OK;
}
