/* Activations: relu, hardtanh, clamp, leaky_relu, gelu, silu, hardswish,
 * hardsigmoid. Formulas are PyTorch's CPU ones so results match to the ulp
 * where the libm allows; NaN propagates like in PyTorch. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/elementwise.h"
#include "kernels/x86/ops_f32_x86.h"
#include "kernels/ops_decl.h"

/* Bounds for clamp-like ops; a missing bound is +-inf (or INT64_MIN/MAX). */
typedef struct clamp_params {
  float lo, hi;
  int64_t ilo, ihi;
} clamp_params;

/* min(max(x, lo), hi), as PyTorch's clamp: hi wins when lo > hi. */
static void clamp_f32(float *o, const float *in, int64_t n, const void *params) {
  const clamp_params *p = params;
  if (PTEC_F_VARIANT_CLAMP_ROW(o, in, n, p->lo, p->hi)) return;
  for (int64_t i = 0; i < n; i++) {
    float v = in[i] < p->lo ? p->lo : in[i];
    o[i] = v > p->hi ? p->hi : v;
  }
}
static void clamp_i64(int64_t *o, const int64_t *in, int64_t n, const void *params) {
  const clamp_params *p = params;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = in[i] < p->ilo ? p->ilo : in[i];
    o[i] = v > p->ihi ? p->ihi : v;
  }
}

static void relu_f32(float *o, const float *in, int64_t n, const void *params) {
  if (PTEC_F_VARIANT_RELU_ROW(o, in, n)) return;
  for (int64_t i = 0; i < n; i++) o[i] = in[i] < 0.0f ? 0.0f : in[i];
}
static void relu_i64(int64_t *o, const int64_t *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) o[i] = in[i] < 0 ? 0 : in[i];
}

/* relu.out(Tensor self, *, Tensor(a!) out) */
ptec_status ptec_kernel_relu_out(ptec_kernel_context *ctx) {
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), relu_f32, relu_i64,
                    NULL);
}

/* Reads an optional scalar bound into p; false when it is None. */
static bool read_bound(const ptec_kernel_context *ctx, uint32_t arg, float *f, int64_t *i) {
  if (ptec_arg_is_none(ctx, arg)) return false;
  *f = (float)ptec_arg_double(ctx, arg);
  *i = ptec_arg_scalar_int(ctx, arg);
  return true;
}

static ptec_status clamp_common(ptec_kernel_context *ctx, uint32_t lo_arg, uint32_t hi_arg,
                                uint32_t out_arg) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, out_arg);
  clamp_params p = {-INFINITY, INFINITY, INT64_MIN, INT64_MAX};
  bool has_lo = read_bound(ctx, lo_arg, &p.lo, &p.ilo);
  bool has_hi = read_bound(ctx, hi_arg, &p.hi, &p.ihi);
  PTEC_CHECK(ctx, has_lo || has_hi, PTEC_STATUS_INVALID_ARGUMENT,
             "at least one of min and max must not be None");
  if (!ptec_dtype_computes_in_f32(out->dtype))
    PTEC_CHECK(ctx, (!has_lo || ptec_arg_scalar_is_integral(ctx, lo_arg)) &&
                        (!has_hi || ptec_arg_scalar_is_integral(ctx, hi_arg)),
               PTEC_STATUS_TYPE_MISMATCH, "float bounds cannot produce a %s out",
               ptec_dtype_name(out->dtype));
  return ptec_unary(ctx, in, out, clamp_f32, clamp_i64, &p);
}

/* clamp.out(Tensor self, Scalar? min=None, Scalar? max=None, *, Tensor(a!) out) */
ptec_status ptec_kernel_clamp_out(ptec_kernel_context *ctx) { return clamp_common(ctx, 1, 2, 3); }

/* hardtanh.out(Tensor self, Scalar min_val=-1, Scalar max_val=1, *, Tensor(a!) out) */
ptec_status ptec_kernel_hardtanh_out(ptec_kernel_context *ctx) {
  return clamp_common(ctx, 1, 2, 3);
}

static void leaky_relu_f32(float *o, const float *in, int64_t n, const void *params) {
  float slope = *(const float *)params;
  for (int64_t i = 0; i < n; i++) o[i] = in[i] > 0.0f ? in[i] : in[i] * slope;
}

/* leaky_relu.out(Tensor self, Scalar negative_slope=0.01, *, Tensor(a!) out) */
ptec_status ptec_kernel_leaky_relu_out(ptec_kernel_context *ctx) {
  float slope = (float)ptec_arg_double(ctx, 1);
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 2), leaky_relu_f32, NULL,
                    &slope);
}

static void gelu_erf_f32(float *o, const float *in, int64_t n, const void *params) {
  const float k_alpha = 0.70710678118654752f; /* 1/sqrt(2) */
  if (PTEC_F_VARIANT_GELU_ROW(o, in, n, false)) return;
  for (int64_t i = 0; i < n; i++) o[i] = in[i] * 0.5f * (1.0f + erff(in[i] * k_alpha));
}
static void gelu_tanh_f32(float *o, const float *in, int64_t n, const void *params) {
  const float k_beta = 0.79788456080286536f, k_kappa = 0.044715f; /* sqrt(2/pi) */
  if (PTEC_F_VARIANT_GELU_ROW(o, in, n, true)) return;
  for (int64_t i = 0; i < n; i++) {
    float x = in[i], inner = k_beta * (x + k_kappa * (x * x * x));
    o[i] = 0.5f * x * (1.0f + tanhf(inner));
  }
}

/* gelu.out(Tensor self, *, str approximate="none", Tensor(a!) out) */
ptec_status ptec_kernel_gelu_out(ptec_kernel_context *ctx) {
  ptec_unary_f32_fn f;
  if (ptec_arg_string_equals(ctx, 1, "none")) f = gelu_erf_f32;
  else if (ptec_arg_string_equals(ctx, 1, "tanh")) f = gelu_tanh_f32;
  else return ptec_kernel_fail(ctx, PTEC_STATUS_NOT_SUPPORTED, "unknown approximate mode");
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 2), f, NULL, NULL);
}

static void silu_f32(float *o, const float *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) o[i] = in[i] / (1.0f + expf(-in[i]));
}
static void hardswish_f32(float *o, const float *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) {
    float x = in[i], r = x + 3.0f;
    r = r < 0.0f ? 0.0f : r;
    r = r > 6.0f ? 6.0f : r;
    o[i] = x * r / 6.0f;
  }
}
static void hardsigmoid_f32(float *o, const float *in, int64_t n, const void *params) {
  for (int64_t i = 0; i < n; i++) {
    float r = in[i] + 3.0f;
    r = r < 0.0f ? 0.0f : r;
    r = r > 6.0f ? 6.0f : r;
    o[i] = r / 6.0f;
  }
}

/* silu.out / hardswish.out / hardsigmoid.out(Tensor self, *, Tensor(a!) out) */
ptec_status ptec_kernel_silu_out(ptec_kernel_context *ctx) {
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), silu_f32, NULL, NULL);
}
ptec_status ptec_kernel_hardswish_out(ptec_kernel_context *ctx) {
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), hardswish_f32, NULL,
                    NULL);
}
ptec_status ptec_kernel_hardsigmoid_out(ptec_kernel_context *ctx) {
  return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), hardsigmoid_f32, NULL,
                    NULL);
}
