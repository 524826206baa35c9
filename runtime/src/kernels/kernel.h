/*
 * The kernel ABI: how the executor calls an operator's implementation.
 *
 * A kernel call in a program lists its arguments as value indices, in the
 * operator's schema order, defaults included, out arguments included, and
 * then one more slot for the return value (the same value as `out` for
 * single-output ops; a TensorList of the outs for multi-output ops). This is
 * ExecuTorch's convention, so files move both ways.
 *
 * Each operator in ops.def has a signature string with one character per
 * argument slot. Method init checks every call's arguments against it, so a
 * kernel can trust the tag of each argument; it must still check shapes,
 * dtypes and values, and report failures through ptec_kernel_fail.
 *
 *   T  tensor                 t  tensor or None
 *   i  int                    I  int or None
 *   d  double (int accepted)  D  double, int or None
 *   s  scalar (int, double or bool)   S  scalar or None
 *   b  bool
 *   L  int list               l  int list or None
 *   F  double list            f  double list or None
 *   B  bool list
 *   X  tensor list            Y  optional-tensor list
 *   z  string                 Z  string or None
 *   O  out tensor (written)   W  out tensor list (written)
 *   V  a view's output: the kernel binds its data to an input's
 *
 * Out arguments ('O', 'W') and the return slot are checked at init not to
 * be constants of the program (which may sit in read-only flash).
 */
#ifndef PTEC_KERNELS_KERNEL_H
#define PTEC_KERNELS_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/value.h"
#include "ptec/ptec.h"

typedef struct ptec_kernel_context {
  ptec_value *values;       /* the method's value table */
  const int32_t *args;      /* value index of each argument slot (verified) */
  uint32_t num_args;
  const char *op_name;      /* "aten::add.out", for messages */
  void *scratch;            /* temporary memory for this call only */
  size_t scratch_size;
  char *message;            /* where ptec_kernel_fail writes */
  size_t message_capacity;
  const struct ptec_parallel_for *parallel; /* NULL: one thread (ptec/platform.h) */
  uint32_t cpu_features;    /* PTEC_CPU_* bits (ptec_method_set_cpu_features) */
} ptec_kernel_context;

typedef ptec_status (*ptec_kernel_fn)(ptec_kernel_context *ctx);

/*
 * An op may also have a prepare function (ops.def: PTEC_OP_PREPARED). It is
 * called once at method init with the same context, after every value is
 * decoded and constants are bound, to check what does not change between
 * runs: quantization parameters (scale > 0, zero points and shifts in
 * range), static shapes. A file with bad parameters is then rejected at
 * load, not at its first run. Planned tensors' contents are not yet
 * meaningful in prepare; only their shapes and dtypes are.
 */

/* Argument accessors. Tags were checked at init against the signature. */
static inline ptec_value *ptec_arg(const ptec_kernel_context *ctx, uint32_t i) {
  return &ctx->values[ctx->args[i]];
}
static inline ptec_tensor *ptec_arg_tensor(const ptec_kernel_context *ctx, uint32_t i) {
  return ptec_arg(ctx, i)->u.tensor;
}
/* NULL when the argument is None. */
static inline ptec_tensor *ptec_arg_opt_tensor(const ptec_kernel_context *ctx, uint32_t i) {
  ptec_value *v = ptec_arg(ctx, i);
  return v->tag == PTEC_VALUE_TENSOR ? v->u.tensor : NULL;
}
static inline bool ptec_arg_is_none(const ptec_kernel_context *ctx, uint32_t i) {
  return ptec_arg(ctx, i)->tag == PTEC_VALUE_NONE;
}
static inline int64_t ptec_arg_int(const ptec_kernel_context *ctx, uint32_t i) {
  return ptec_arg(ctx, i)->u.i;
}
static inline bool ptec_arg_bool(const ptec_kernel_context *ctx, uint32_t i) {
  return ptec_arg(ctx, i)->u.b;
}
/* A double, int or bool argument as a double ('d', 's'). */
double ptec_arg_double(const ptec_kernel_context *ctx, uint32_t i);
/* True when a scalar argument ('s') holds an integer or bool, not a double. */
bool ptec_arg_scalar_is_integral(const ptec_kernel_context *ctx, uint32_t i);
/* An int list argument: its elements and count. */
static inline const int64_t *ptec_arg_int_list(const ptec_kernel_context *ctx, uint32_t i,
                                               uint32_t *count) {
  ptec_value *v = ptec_arg(ctx, i);
  *count = v->count;
  return v->u.int_list;
}
/* A double list argument ('F', 'f'): its elements (in the program, read
 * with memcpy: they may be unaligned) and count; NULL for None. */
static inline const double *ptec_arg_double_list(const ptec_kernel_context *ctx, uint32_t i,
                                                 uint32_t *count) {
  ptec_value *v = ptec_arg(ctx, i);
  *count = v->tag == PTEC_VALUE_DOUBLE_LIST ? v->count : 0;
  return v->tag == PTEC_VALUE_DOUBLE_LIST ? v->u.double_list : NULL;
}
/* Element j of a tensor list argument; NULL for a None in an optional list. */
ptec_tensor *ptec_arg_tensor_list_item(const ptec_kernel_context *ctx, uint32_t i,
                                       uint32_t j);
/* String argument compared with a C string ("none", "tanh"). */
bool ptec_arg_string_equals(const ptec_kernel_context *ctx, uint32_t i, const char *s);

/*
 * Records a failure and returns `status`. The message is prefixed with the
 * operator's name. Format: %d %u %ld %lld %zu %s %c %%.
 */
ptec_status ptec_kernel_fail(ptec_kernel_context *ctx, ptec_status status,
                             const char *fmt, ...);

/* ------------------------------------------------------ tensor helpers */

/* Element strides (not bytes) of `t` in logical dimension order, derived
 * from its dim_order. */
void ptec_tensor_strides(const ptec_tensor *t, int64_t strides[PTEC_MAX_RANK]);
/* True if dim_order is 0,1,...,rank-1. */
bool ptec_tensor_is_contiguous(const ptec_tensor *t);
/* True if both tensors have equal rank and sizes. */
bool ptec_tensor_same_shape(const ptec_tensor *a, const ptec_tensor *b);
/* True if both tensors have equal dim_order. */
bool ptec_tensor_same_dim_order(const ptec_tensor *a, const ptec_tensor *b);

#endif /* PTEC_KERNELS_KERNEL_H */
