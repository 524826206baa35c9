/* The pointwise ops of unary_ops.def, expanded: one row function and one
 * kernel per line of the table. */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/portable/elementwise.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

#define F32_ROW(name, expr)                                                              \
  static void name##_f32(float *o, const float *in, int64_t n, const void *params) {     \
    (void)params;                                                                        \
    for (int64_t i = 0; i < n; i++) {                                                    \
      float x = in[i];                                                                   \
      o[i] = (expr);                                                                     \
    }                                                                                    \
  }
#define I64_ROW(name, expr)                                                              \
  static void name##_i64(int64_t *o, const int64_t *in, int64_t n, const void *params) { \
    (void)params;                                                                        \
    for (int64_t i = 0; i < n; i++) {                                                    \
      int64_t x = in[i];                                                                 \
      o[i] = (expr);                                                                     \
    }                                                                                    \
  }

/* name.out(Tensor self, *, Tensor(a!) out) */
#define PTEC_UNARY_FLOAT(name, fexpr)                                                    \
  F32_ROW(name, fexpr)                                                                   \
  ptec_status ptec_kernel_##name##_out(ptec_kernel_context *ctx) {                       \
    return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), name##_f32, \
                      NULL, NULL);                                                       \
  }
#define PTEC_UNARY_KEEP(name, fexpr, iexpr)                                              \
  F32_ROW(name, fexpr)                                                                   \
  I64_ROW(name, iexpr)                                                                   \
  ptec_status ptec_kernel_##name##_out(ptec_kernel_context *ctx) {                       \
    return ptec_unary(ctx, ptec_arg_tensor(ctx, 0), ptec_arg_tensor(ctx, 1), name##_f32, \
                      name##_i64, NULL);                                                 \
  }
#define PTEC_UNARY_PREDICATE(name, fexpr, iexpr)                                         \
  static bool name##_test_f32(float x) { return (fexpr); }                               \
  static bool name##_test_i64(int64_t x) { (void)x; return (iexpr); }                  \
  ptec_status ptec_kernel_##name##_out(ptec_kernel_context *ctx) {                       \
    return predicate(ctx, name##_test_f32, name##_test_i64);                             \
  }

/* A bool (or any) out from any input: floats tested as float32, integers
 * and bools as int64. */
static ptec_status predicate(ptec_kernel_context *ctx, bool (*f)(float), bool (*g)(int64_t)) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype) && ptec_dtype_is_supported(out->dtype),
             PTEC_STATUS_NOT_SUPPORTED, "dtypes %s -> %s not supported",
             ptec_dtype_name(in->dtype), ptec_dtype_name(out->dtype));
  const ptec_tensor *inputs[1] = {in};
  ptec_iter it;
  PTEC_TRY(ptec_iter_broadcast(ctx, &it, out, inputs, 1));
  bool is_float = ptec_dtype_is_float(in->dtype);
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++) {
      int64_t i = it.offset[1] + j * it.step[1];
      bool r = is_float ? f(ptec_load_f32(in->data, in->dtype, i))
                        : g(ptec_load_i64(in->data, in->dtype, i));
      ptec_store_i64(out->data, out->dtype, it.offset[0] + j * it.step[0], r);
    }
  return PTEC_STATUS_OK;
}

#include "kernels/portable/unary_ops.def"
