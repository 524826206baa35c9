/*
 * Helpers shared by the portable kernels: argument checks that fail with a
 * message, dtype classes, element loads and stores with conversion, and dim
 * normalisation.
 *
 * Compute classes follow PyTorch: a kernel computes in float32 when its
 * result is floating point and in int64 when it is an integer or bool, and
 * converts each element on load and store.
 */
#ifndef PTEC_KERNELS_PORTABLE_COMMON_H
#define PTEC_KERNELS_PORTABLE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

/* Returns a failure from the enclosing kernel when `cond` is false. */
#define PTEC_CHECK(ctx, cond, status, ...) \
  do {                                     \
    if (!(cond)) return ptec_kernel_fail((ctx), (status), __VA_ARGS__); \
  } while (0)

/* Returns from the enclosing function when `expr` is not OK. */
#define PTEC_TRY(expr)                                \
  do {                                                \
    ptec_status ptec_try_status_ = (expr);            \
    if (ptec_try_status_ != PTEC_STATUS_OK) return ptec_try_status_; \
  } while (0)

/* --------------------------------------------------------------- dtypes */

static inline bool ptec_dtype_is_integer(int dtype) {
  return dtype == PTEC_DTYPE_UINT8 || dtype == PTEC_DTYPE_INT8 || dtype == PTEC_DTYPE_INT16 ||
         dtype == PTEC_DTYPE_INT32 || dtype == PTEC_DTYPE_INT64;
}
/* float16 and bfloat16: stored in 16 bits, computed in float32 and rounded
 * to nearest even on store, as PyTorch's CPU kernels do. */
static inline bool ptec_dtype_is_half(int dtype) {
  return dtype == PTEC_DTYPE_FLOAT16 || dtype == PTEC_DTYPE_BFLOAT16;
}
static inline bool ptec_dtype_is_float(int dtype) {
  return dtype == PTEC_DTYPE_FLOAT32 || dtype == PTEC_DTYPE_FLOAT64 || ptec_dtype_is_half(dtype);
}
/* A floating out computed in float32 (float32 and the half types). */
static inline bool ptec_dtype_computes_in_f32(int dtype) {
  return dtype == PTEC_DTYPE_FLOAT32 || ptec_dtype_is_half(dtype);
}
/* The dtypes load and store understand. */
static inline bool ptec_dtype_is_supported(int dtype) {
  return ptec_dtype_is_integer(dtype) || ptec_dtype_is_float(dtype) ||
         dtype == PTEC_DTYPE_BOOL;
}

/* IEEE half and bfloat16 bits to and from float32; to them rounds to
 * nearest even and keeps NaN a NaN (c10::Half / c10::BFloat16). */
float ptec_f16_to_f32(uint16_t h);
uint16_t ptec_f32_to_f16(float f);
float ptec_bf16_to_f32(uint16_t h);
uint16_t ptec_f32_to_bf16(float f);

/* Element i of `data` (of `dtype`) converted as C converts. */
float ptec_load_f32(const void *data, int dtype, int64_t i);
int64_t ptec_load_i64(const void *data, int dtype, int64_t i);
/* Stores with PyTorch's conversions: to bool is `!= 0`; float to integer
 * truncates, saturates and maps NaN to 0 (so no undefined behaviour). */
void ptec_store_f32(void *data, int dtype, int64_t i, float v);
void ptec_store_i64(void *data, int dtype, int64_t i, int64_t v);
/* Copies element si of src to element di of dst, converting the dtype. */
void ptec_convert_element(void *dst, int dst_dtype, int64_t di, const void *src, int src_dtype,
                          int64_t si);

/* Fills `t` with scalar argument `arg`, converted to t's dtype like PyTorch. */
void ptec_fill_scalar(const ptec_kernel_context *ctx, uint32_t arg, ptec_tensor *t);

/* A scalar argument ('s') as an int64 (doubles truncate toward zero). */
int64_t ptec_arg_scalar_int(const ptec_kernel_context *ctx, uint32_t i);

/* ---------------------------------------------------------------- checks */

/* Writes "[2, 3, 4]" into buf (truncated to cap) and returns buf. */
const char *ptec_shape_str(const int32_t *sizes, uint32_t rank, char *buf, size_t cap);

/* Fails with TYPE_MISMATCH unless t's dtype is `dtype`. */
ptec_status ptec_check_dtype(ptec_kernel_context *ctx, const ptec_tensor *t, int dtype,
                             const char *name);
/* Fails with TYPE_MISMATCH unless both tensors have the same dtype. */
ptec_status ptec_check_same_dtype(ptec_kernel_context *ctx, const ptec_tensor *a,
                                  const ptec_tensor *b, const char *name_a, const char *name_b);
/* Fails with SHAPE_MISMATCH unless t has exactly `sizes`. */
ptec_status ptec_check_shape(ptec_kernel_context *ctx, const ptec_tensor *t,
                             const int64_t *sizes, uint32_t rank, const char *name);
/* Fails with SHAPE_MISMATCH unless both tensors have the same shape. */
ptec_status ptec_check_same_shape(ptec_kernel_context *ctx, const ptec_tensor *a,
                                  const ptec_tensor *b, const char *name_a, const char *name_b);
/* Fails with NOT_SUPPORTED unless the out tensor's dtype is float32, and
 * TYPE_MISMATCH unless `in` (if any) is float32. */
ptec_status ptec_check_f32(ptec_kernel_context *ctx, const ptec_tensor *in,
                           const ptec_tensor *out);

/* Normalises a possibly negative dim into [0, rank); OUT_OF_RANGE if not. */
ptec_status ptec_normalize_dim(ptec_kernel_context *ctx, int64_t dim, uint32_t rank,
                               uint32_t *out);

/* t's sizes as int64. */
void ptec_tensor_sizes64(const ptec_tensor *t, int64_t sizes[PTEC_MAX_RANK]);

/* True when the memory order of t's elements is their logical row-major
 * order (ignoring dims of size 1): a reshape can then reuse the bytes. */
bool ptec_tensor_is_row_major(const ptec_tensor *t);

#endif /* PTEC_KERNELS_PORTABLE_COMMON_H */
