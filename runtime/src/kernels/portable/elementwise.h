/*
 * Elementwise engines: the broadcasting, dtype conversion and layout
 * handling of unary and binary ops, written once.
 *
 * A unary op supplies row functions that compute on dense rows of float32
 * (and, if it accepts integers, int64). The engine hands them the tensors'
 * memory directly when layouts and dtypes allow, and otherwise gathers
 * converted chunks into a local buffer and scatters the results back.
 */
#ifndef PTEC_KERNELS_PORTABLE_ELEMENTWISE_H
#define PTEC_KERNELS_PORTABLE_ELEMENTWISE_H

#include <stdint.h>

#include "kernels/kernel.h"

typedef void (*ptec_unary_f32_fn)(float *out, const float *in, int64_t n, const void *params);
typedef void (*ptec_unary_i64_fn)(int64_t *out, const int64_t *in, int64_t n,
                                  const void *params);

/*
 * out = f(in) elementwise; in and out must have the same shape, any dim
 * orders. A float32 out computes with `f` (integer or bool inputs are
 * converted first, as PyTorch does for exp(int)); an integer or bool out
 * computes with `g` and fails with NOT_SUPPORTED if g is NULL.
 */
ptec_status ptec_unary(ptec_kernel_context *ctx, const ptec_tensor *in, ptec_tensor *out,
                       ptec_unary_f32_fn f, ptec_unary_i64_fn g, const void *params);

typedef enum ptec_binary_op {
  PTEC_BINARY_ADD, /* a + alpha * b */
  PTEC_BINARY_SUB, /* a - alpha * b */
  PTEC_BINARY_MUL,
  PTEC_BINARY_DIV, /* true division: float out only */
  PTEC_BINARY_DIV_TRUNC,
  PTEC_BINARY_DIV_FLOOR,
  PTEC_BINARY_MAXIMUM, /* NaN-propagating */
  PTEC_BINARY_MINIMUM,
  PTEC_BINARY_POW,
  PTEC_BINARY_REMAINDER, /* Python's %: the sign of the divisor */
  PTEC_BINARY_FMOD,      /* C's fmod: the sign of the dividend */
  PTEC_BINARY_ATAN2,     /* float out only */
  PTEC_BINARY_BITWISE_AND, /* bitwise ops and shifts: integer or bool inputs only */
  PTEC_BINARY_BITWISE_OR,
  PTEC_BINARY_BITWISE_XOR,
  PTEC_BINARY_SHIFT_LEFT,  /* PyTorch's rules for shifts past the width */
  PTEC_BINARY_SHIFT_RIGHT,
  PTEC_BINARY_EQ, /* comparisons and logic: computed in the inputs' common class */
  PTEC_BINARY_NE,
  PTEC_BINARY_LT,
  PTEC_BINARY_LE,
  PTEC_BINARY_GT,
  PTEC_BINARY_GE,
  PTEC_BINARY_LOGICAL_AND,
  PTEC_BINARY_LOGICAL_OR,
  PTEC_BINARY_LOGICAL_XOR
} ptec_binary_op;

/*
 * out = a op b with broadcasting. Arithmetic computes in out's class (float32
 * or int64; a bool out is computed as int64 then tested != 0); comparisons
 * compute in float32 if either input is floating point, else in int64.
 * `alpha` scales b for ADD and SUB.
 */
ptec_status ptec_binary(ptec_kernel_context *ctx, ptec_binary_op op, const ptec_tensor *a,
                        const ptec_tensor *b, ptec_tensor *out, double alpha);

/* A scalar argument wrapped as a 0-d tensor, so scalar overloads reuse the
 * tensor paths: a double becomes float32, an int int64, a bool bool. */
typedef struct ptec_scalar_tensor {
  ptec_tensor t;
  union {
    float f;
    int64_t i;
    uint8_t b;
  } v;
} ptec_scalar_tensor;

void ptec_scalar_tensor_init(ptec_scalar_tensor *s, const ptec_kernel_context *ctx, uint32_t arg);

#endif /* PTEC_KERNELS_PORTABLE_ELEMENTWISE_H */
