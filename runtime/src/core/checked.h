/*
 * Checked arithmetic for sizes, strides and offsets computed from values a
 * program supplies. Each helper stores the result and returns true when it
 * is representable, false on overflow (then *out is unspecified). The one
 * place such arithmetic is checked: kernels, readers and the executor use
 * these rather than their own tests.
 *
 * GCC and clang (every compiler ptec builds with) give the overflow
 * builtins; they compile to the multiply or add and one flag test.
 */
#ifndef PTEC_CORE_CHECKED_H
#define PTEC_CORE_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__GNUC__) && !defined(__clang__)
#error "core/checked.h needs __builtin_mul_overflow (GCC or clang)"
#endif

/* a * b and a + b in size_t. */
static inline bool ptec_mul_size(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool ptec_add_size(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* a * b, a + b and a - b in int64_t. */
static inline bool ptec_mul_i64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool ptec_add_i64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}
static inline bool ptec_sub_i64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_sub_overflow(a, b, out);
}

#endif
