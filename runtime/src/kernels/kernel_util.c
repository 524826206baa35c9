/* Argument accessors and tensor helpers declared in kernel.h. */
#include <string.h>

#include "kernels/kernel.h"

double ptec_arg_double(const ptec_kernel_context *ctx, uint32_t i) {
  const ptec_value *v = ptec_arg(ctx, i);
  switch (v->tag) {
    case PTEC_VALUE_DOUBLE: return v->u.d;
    case PTEC_VALUE_INT: return (double)v->u.i;
    case PTEC_VALUE_BOOL: return v->u.b ? 1.0 : 0.0;
    default: return 0.0; /* init checked the tag; unreachable */
  }
}

bool ptec_arg_scalar_is_integral(const ptec_kernel_context *ctx, uint32_t i) {
  uint32_t tag = ptec_arg(ctx, i)->tag;
  return tag == PTEC_VALUE_INT || tag == PTEC_VALUE_BOOL;
}

ptec_tensor *ptec_arg_tensor_list_item(const ptec_kernel_context *ctx, uint32_t i,
                                       uint32_t j) {
  const ptec_value *list = ptec_arg(ctx, i);
  if (j >= list->count) return NULL;
  int32_t index = list->u.tensor_list[j];
  if (index < 0) return NULL;
  const ptec_value *item = &ctx->values[index];
  return item->tag == PTEC_VALUE_TENSOR ? item->u.tensor : NULL;
}

bool ptec_arg_string_equals(const ptec_kernel_context *ctx, uint32_t i, const char *s) {
  const ptec_value *v = ptec_arg(ctx, i);
  if (v->tag != PTEC_VALUE_STRING) return false;
  size_t n = strlen(s);
  return v->count == n && memcmp(v->u.str, s, n) == 0;
}

void ptec_tensor_strides(const ptec_tensor *t, int64_t strides[PTEC_MAX_RANK]) {
  int64_t stride = 1;
  for (int k = (int)t->rank - 1; k >= 0; k--) {
    uint8_t d = t->dim_order[k];
    strides[d] = stride;
    stride *= t->sizes[d];
  }
}

bool ptec_tensor_is_contiguous(const ptec_tensor *t) {
  for (uint32_t k = 0; k < t->rank; k++)
    if (t->dim_order[k] != k) return false;
  return true;
}

bool ptec_tensor_same_shape(const ptec_tensor *a, const ptec_tensor *b) {
  if (a->rank != b->rank) return false;
  for (uint32_t k = 0; k < a->rank; k++)
    if (a->sizes[k] != b->sizes[k]) return false;
  return true;
}

bool ptec_tensor_same_dim_order(const ptec_tensor *a, const ptec_tensor *b) {
  if (a->rank != b->rank) return false;
  for (uint32_t k = 0; k < a->rank; k++)
    if (a->dim_order[k] != b->dim_order[k]) return false;
  return true;
}
