/*
 * Runtime values: what instructions read and write.
 *
 * A method's values stay described in the program: an instruction's
 * arguments are decoded (and verified) from the program's EValue table into
 * a small frame in method memory when it runs, so method memory does not
 * grow with the number of values. Tags use the numbers of the program's
 * `KernelTypes` union so that decoding is a direct mapping.
 */
#ifndef PTEC_CORE_VALUE_H
#define PTEC_CORE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptec/ptec.h"

typedef enum ptec_value_tag {
  PTEC_VALUE_NONE = 1, /* the schema's Null */
  PTEC_VALUE_INT = 2,
  PTEC_VALUE_BOOL = 3,
  PTEC_VALUE_DOUBLE = 4,
  PTEC_VALUE_TENSOR = 5,
  PTEC_VALUE_STRING = 6,
  PTEC_VALUE_INT_LIST = 7,
  PTEC_VALUE_DOUBLE_LIST = 8,
  PTEC_VALUE_BOOL_LIST = 9,
  PTEC_VALUE_TENSOR_LIST = 10,
  PTEC_VALUE_OPTIONAL_TENSOR_LIST = 11
} ptec_value_tag;

typedef struct ptec_tensor {
  void *data;                 /* NULL until bound (unplanned inputs, views) */
  const int32_t *sizes;       /* `rank` entries, points into the program */
  const uint8_t *dim_order;   /* `rank` entries, outer to inner */
  size_t numel;
  size_t nbytes;              /* numel * element size */
  uint8_t dtype;              /* ptec_dtype */
  uint8_t rank;
  bool is_constant;           /* data lives in the (read-only) program */
  bool is_dynamic;            /* DYNAMIC_BOUND: sizes may shrink at run time */
  /* A dynamic tensor's current sizes, writable (method memory; NULL before
   * init): kernels resize it through ptec_tensor_resize, within `capacity`,
   * the bytes of its upper-bound sizes (= nbytes for a static tensor). */
  int32_t *dynamic_sizes;
  size_t capacity;
} ptec_tensor;

typedef struct ptec_value {
  uint32_t tag;   /* ptec_value_tag */
  uint32_t count; /* elements of a list, bytes of a string */
  union {
    int64_t i;
    double d;
    bool b;
    ptec_tensor *tensor;
    const char *str;            /* not NUL-terminated: use count */
    const int64_t *int_list;    /* resolved values, in method memory */
    const double *double_list;  /* in the program */
    const uint8_t *bool_list;   /* in the program, one byte each */
    const int32_t *tensor_list; /* value indices (verified); -1 = None for optional lists */
  } u;
} ptec_value;

#endif /* PTEC_CORE_VALUE_H */
