/*
 * EValues: every tag, index, size and offset is checked before it is used.
 * After this, kernels can rely on tensor metadata being self-consistent:
 * sizes non-negative, dim_order a permutation, nbytes = numel * element
 * size without overflow, and data inside the caller's planned buffer or the
 * program's constant data.
 */
#include <string.h>

#include "executor/values.h"

static ptec_status value_fail(ptec_program *prog, ptec_status status, const fb_reader *r,
                              uint32_t index, const char *what) {
  return ptec_program_fail(prog, status, "value %u: %s: %s (byte %zu)", index, what, r->reason,
                           r->where);
}

/* The union tag and payload table of value `i`. */
static ptec_status value_at(ptec_program *prog, fb_reader *r, const fb_vector *values,
                            uint32_t i, uint8_t *tag, fb_table *payload) {
  fb_table ev;
  bool present;
  ptec_status s = fb_vector_table(r, values, i, &ev);
  if (s == PTEC_STATUS_OK) s = fb_u8(r, &ev, EVALUE_VAL_TYPE, 0, tag);
  if (s == PTEC_STATUS_OK) s = fb_table_field(r, &ev, EVALUE_VAL, payload, &present);
  if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "EValue");
  if (*tag == 0 || *tag > PTE_KERNEL_TYPES_MAX) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_ENUM, "value %u: unknown value type tag %u",
                             i, *tag);
  }
  if (!present) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED, "value %u: value type %u has no payload",
                             i, *tag);
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_values_count(ptec_program *prog, fb_reader *r, const fb_vector *values,
                              ptec_value_counts *counts) {
  memset(counts, 0, sizeof *counts);
  counts->values = values->len;
  for (uint32_t i = 0; i < values->len; i++) {
    uint8_t tag;
    fb_table payload;
    ptec_status s = value_at(prog, r, values, i, &tag, &payload);
    if (s != PTEC_STATUS_OK) return s;
    if (tag == PTEC_VALUE_TENSOR) counts->tensors++;
    if (tag == PTEC_VALUE_INT_LIST) {
      fb_vector items;
      s = fb_vector_field(r, &payload, LIST_ITEMS, 8, &items, NULL);
      if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "int list");
      if (ptec_add_overflows(counts->int_list_items, items.len, &counts->int_list_items)) {
        return ptec_program_fail(prog, PTEC_STATUS_BAD_SIZE, "value %u: int lists too long", i);
      }
    }
  }
  return PTEC_STATUS_OK;
}

/* An IntList holds value indices of Int values (boxed, as ExecuTorch does). */
static ptec_status decode_int_list(ptec_program *prog, fb_reader *r, const fb_vector *values,
                                   uint32_t i, const fb_table *payload, int64_t *items_out,
                                   ptec_value *v) {
  fb_vector items;
  ptec_status s = fb_vector_field(r, payload, LIST_ITEMS, 8, &items, NULL);
  if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "int list");
  for (uint32_t k = 0; k < items.len; k++) {
    int64_t ref = fb_vector_i64(r, &items, k);
    if (ref < 0 || ref >= (int64_t)values->len) {
      return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                               "value %u: int list item %u refers to value %lld of %u", i, k,
                               (long long)ref, values->len);
    }
    uint8_t tag;
    fb_table item;
    s = value_at(prog, r, values, (uint32_t)ref, &tag, &item);
    if (s != PTEC_STATUS_OK) return s;
    if (tag != PTEC_VALUE_INT) {
      return ptec_program_fail(prog, PTEC_STATUS_TYPE_MISMATCH,
                               "value %u: int list item %u refers to value %lld, which is not an int",
                               i, k, (long long)ref);
    }
    s = fb_i64(r, &item, SCALAR_VALUE, 0, &items_out[k]);
    if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, (uint32_t)ref, "int");
  }
  v->count = items.len;
  v->u.int_list = items_out;
  return PTEC_STATUS_OK;
}

/* Tensor lists hold value indices of tensors (or -1 = None when optional). */
static ptec_status decode_tensor_list(ptec_program *prog, fb_reader *r, const fb_vector *values,
                                      uint32_t i, const fb_table *payload, bool optional,
                                      ptec_value *v) {
  fb_vector items;
  ptec_status s = fb_vector_field(r, payload, LIST_ITEMS, 4, &items, NULL);
  if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "tensor list");
  for (uint32_t k = 0; k < items.len; k++) {
    int32_t ref = fb_vector_i32(r, &items, k);
    if (optional && ref == -1) continue;
    if (ref < 0 || (uint32_t)ref >= values->len) {
      return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                               "value %u: tensor list item %u refers to value %d of %u", i, k,
                               ref, values->len);
    }
    uint8_t tag;
    fb_table item;
    s = value_at(prog, r, values, (uint32_t)ref, &tag, &item);
    if (s != PTEC_STATUS_OK) return s;
    if (tag != PTEC_VALUE_TENSOR && !(optional && tag == PTEC_VALUE_NONE)) {
      return ptec_program_fail(prog, PTEC_STATUS_TYPE_MISMATCH,
                               "value %u: tensor list item %u refers to value %d, which is not a tensor",
                               i, k, ref);
    }
  }
  v->count = items.len;
  v->u.tensor_list = fb_vector_ptr(r, &items);
  return PTEC_STATUS_OK;
}

/* Shape: sizes non-negative, rank bounded, dim_order a permutation, byte
 * count computed without overflow. */
static ptec_status decode_shape(ptec_program *prog, fb_reader *r, uint32_t i,
                                const fb_table *payload, ptec_tensor *t) {
  uint8_t dtype;
  int32_t storage_offset;
  uint8_t dynamism;
  fb_vector sizes, dim_order;
  ptec_status s = fb_u8(r, payload, TENSOR_SCALAR_TYPE, 0, &dtype);
  if (s == PTEC_STATUS_OK) s = fb_i32(r, payload, TENSOR_STORAGE_OFFSET, 0, &storage_offset);
  if (s == PTEC_STATUS_OK) s = fb_u8(r, payload, TENSOR_SHAPE_DYNAMISM, 0, &dynamism);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, payload, TENSOR_SIZES, 4, &sizes, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, payload, TENSOR_DIM_ORDER, 1, &dim_order, NULL);
  if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "tensor");
  size_t elem = ptec_dtype_size(dtype);
  if (elem == 0) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_ENUM, "value %u: tensor dtype %u is unknown",
                             i, dtype);
  }
  if (storage_offset != 0) {
    return ptec_program_fail(prog, PTEC_STATUS_NOT_SUPPORTED,
                             "value %u: tensor storage_offset %d is not supported", i,
                             storage_offset);
  }
  if (dynamism > SHAPE_DYNAMIC_UNBOUND) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_ENUM,
                             "value %u: tensor shape_dynamism %u is unknown", i, dynamism);
  }
  if (dynamism == SHAPE_DYNAMIC_UNBOUND) {
    return ptec_program_fail(prog, PTEC_STATUS_NOT_SUPPORTED,
                             "value %u: tensors of unbounded dynamic shape are not supported", i);
  }
  if (sizes.len > PTEC_MAX_RANK) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_SIZE, "value %u: rank %u exceeds %d", i,
                             sizes.len, PTEC_MAX_RANK);
  }
  if (dim_order.len != sizes.len) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED,
                             "value %u: dim_order has %u entries for rank %u", i, dim_order.len,
                             sizes.len);
  }
  uint32_t seen = 0;
  size_t numel = 1;
  for (uint32_t d = 0; d < sizes.len; d++) {
    uint8_t dim = fb_vector_u8(r, &dim_order, d);
    if (dim >= sizes.len || (seen & (1u << dim)) != 0) {
      return ptec_program_fail(prog, PTEC_STATUS_MALFORMED,
                               "value %u: dim_order is not a permutation of 0..%u", i,
                               sizes.len - 1);
    }
    seen |= 1u << dim;
    int32_t n = fb_vector_i32(r, &sizes, d);
    if (n < 0) {
      return ptec_program_fail(prog, PTEC_STATUS_BAD_SIZE, "value %u: size[%u] = %d is negative",
                               i, d, n);
    }
    if (ptec_mul_overflows(numel, (size_t)n, &numel)) {
      return ptec_program_fail(prog, PTEC_STATUS_BAD_SIZE, "value %u: element count overflows", i);
    }
  }
  if (ptec_mul_overflows(numel, elem, &t->nbytes)) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_SIZE, "value %u: byte size overflows", i);
  }
  t->numel = numel;
  t->dtype = dtype;
  t->rank = (uint8_t)sizes.len;
  t->sizes = fb_vector_ptr(r, &sizes);
  t->dim_order = fb_vector_ptr(r, &dim_order);
  return PTEC_STATUS_OK;
}

/* Constant data lives in the program: the constant segment, or the
 * deprecated inline constant_buffer. */
static ptec_status bind_constant(ptec_program *prog, fb_reader *r, uint32_t i, uint32_t index,
                                 ptec_tensor *t) {
  const uint8_t *data;
  size_t available;
  if (prog->num_constants > 1) {
    if (index >= prog->num_constants) {
      return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                               "value %u: constant %u out of range (%u constants)", i, index,
                               prog->num_constants);
    }
    fb_vector offsets = {prog->constant_offsets + 4, prog->num_constants};
    uint64_t offset = fb_vector_u64(r, &offsets, index);
    if (offset > prog->constant_size) {
      return ptec_program_fail(prog, PTEC_STATUS_TRUNCATED,
                               "value %u: constant %u starts past the constant segment", i, index);
    }
    data = prog->constant_base + offset;
    available = prog->constant_size - (size_t)offset;
  } else if (prog->num_constant_buffers > 0) {
    if (index >= prog->num_constant_buffers) {
      return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                               "value %u: constant buffer %u out of range (%u buffers)", i, index,
                               prog->num_constant_buffers);
    }
    fb_vector buffers = {prog->constant_buffers + 4, prog->num_constant_buffers};
    fb_table buffer;
    fb_vector storage;
    ptec_status s = fb_vector_table(r, &buffers, index, &buffer);
    if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &buffer, BUFFER_STORAGE, 1, &storage, NULL);
    if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "constant buffer");
    data = fb_vector_ptr(r, &storage);
    available = storage.len;
  } else {
    return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                             "value %u: constant %u but the program has no constant data", i,
                             index);
  }
  if (t->nbytes > available) {
    return ptec_program_fail(prog, PTEC_STATUS_TRUNCATED,
                             "value %u: constant %u needs %zu bytes, %zu remain", i, index,
                             t->nbytes, available);
  }
  if ((uintptr_t)data % ptec_dtype_size(t->dtype) != 0) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED,
                             "value %u: constant %u is misaligned for %s", i, index,
                             ptec_dtype_name(t->dtype));
  }
  t->data = (void *)(uintptr_t)data; /* read-only: is_constant guards writes */
  t->is_constant = true;
  return PTEC_STATUS_OK;
}

static ptec_status bind_planned(ptec_program *prog, fb_reader *r, uint32_t i,
                                const fb_table *alloc, const ptec_value_storage *st,
                                ptec_tensor *t) {
  uint32_t memory_id, low, high;
  ptec_status s = fb_u32(r, alloc, ALLOCATION_MEMORY_ID, 0, &memory_id);
  if (s == PTEC_STATUS_OK) s = fb_u32(r, alloc, ALLOCATION_OFFSET_LOW, 0, &low);
  if (s == PTEC_STATUS_OK) s = fb_u32(r, alloc, ALLOCATION_OFFSET_HIGH, 0, &high);
  if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "allocation_info");
  /* memory_id is 1-based: planned buffer 0 of the file is reserved. */
  if (memory_id == 0 || memory_id > st->num_planned) {
    return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                             "value %u: memory_id %u out of range (%u planned buffers)", i,
                             memory_id, st->num_planned);
  }
  uint64_t offset = ((uint64_t)high << 32) | low;
  uint64_t size = (uint64_t)st->planned_sizes[memory_id - 1];
  if (offset > size || t->nbytes > size - offset) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_MEMORY_PLAN,
                             "value %u: %zu bytes at offset %llu lie outside planned buffer %u "
                             "(%llu bytes)",
                             i, t->nbytes, (unsigned long long)offset, memory_id,
                             (unsigned long long)size);
  }
  uint8_t *base = st->planned == NULL ? NULL : st->planned[memory_id - 1];
  t->data = base == NULL ? NULL : base + offset;
  size_t elem = ptec_dtype_size(t->dtype);
  /* offset <= size, a size_t: the 32-bit remainder is exact (and needs no
   * 64-bit division from libgcc on 32-bit targets). */
  if ((size_t)offset % elem != 0) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_MEMORY_PLAN,
                             "value %u: offset %llu is misaligned for %s", i,
                             (unsigned long long)offset, ptec_dtype_name(t->dtype));
  }
  return PTEC_STATUS_OK;
}

static ptec_status decode_tensor(ptec_program *prog, fb_reader *r, uint32_t i,
                                 const fb_table *payload, const ptec_value_storage *st,
                                 ptec_tensor *t) {
  memset(t, 0, sizeof *t);
  ptec_status s = decode_shape(prog, r, i, payload, t);
  if (s != PTEC_STATUS_OK) return s;
  uint32_t buffer_index;
  fb_table alloc, extra;
  bool has_alloc, has_extra;
  s = fb_u32(r, payload, TENSOR_DATA_BUFFER_IDX, 0, &buffer_index);
  if (s == PTEC_STATUS_OK) s = fb_table_field(r, payload, TENSOR_ALLOCATION_INFO, &alloc, &has_alloc);
  if (s == PTEC_STATUS_OK) s = fb_table_field(r, payload, TENSOR_EXTRA_TENSOR_INFO, &extra, &has_extra);
  if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "tensor");
  if (has_extra) {
    uint8_t location;
    s = fb_u8(r, &extra, EXTRA_LOCATION, TENSOR_DATA_LOCATION_SEGMENT, &location);
    if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "extra_tensor_info");
    if (location != TENSOR_DATA_LOCATION_SEGMENT) {
      return ptec_program_fail(prog, PTEC_STATUS_NOT_SUPPORTED,
                               "value %u: external tensor data (.ptd files) is not supported", i);
    }
  }
  if (has_alloc && buffer_index > 0) {
    return ptec_program_fail(prog, PTEC_STATUS_NOT_SUPPORTED,
                             "value %u: planned tensors with initial data (mutable buffers) are "
                             "not supported",
                             i);
  }
  if (has_alloc) return bind_planned(prog, r, i, &alloc, st, t);
  if (buffer_index > 0) return bind_constant(prog, r, i, buffer_index, t);
  return PTEC_STATUS_OK; /* bound later: unplanned input or a view's output */
}

ptec_status ptec_values_decode(ptec_program *prog, fb_reader *r, const fb_vector *values,
                               const ptec_value_storage *st) {
  uint32_t next_tensor = 0;
  size_t next_item = 0;
  for (uint32_t i = 0; i < values->len; i++) {
    uint8_t tag;
    fb_table payload;
    ptec_status s = value_at(prog, r, values, i, &tag, &payload);
    if (s != PTEC_STATUS_OK) return s;
    ptec_value *v = &st->values[i];
    memset(v, 0, sizeof *v);
    v->tag = tag;
    switch (tag) {
      case PTEC_VALUE_NONE:
        break;
      case PTEC_VALUE_INT:
        s = fb_i64(r, &payload, SCALAR_VALUE, 0, &v->u.i);
        break;
      case PTEC_VALUE_BOOL: {
        uint8_t b;
        s = fb_u8(r, &payload, SCALAR_VALUE, 0, &b);
        v->u.b = b != 0;
        break;
      }
      case PTEC_VALUE_DOUBLE:
        s = fb_f64(r, &payload, SCALAR_VALUE, 0.0, &v->u.d);
        break;
      case PTEC_VALUE_STRING:
        s = fb_string_field(r, &payload, SCALAR_VALUE, &v->u.str, &v->count, NULL);
        break;
      case PTEC_VALUE_TENSOR:
        v->u.tensor = &st->tensors[next_tensor++];
        s = decode_tensor(prog, r, i, &payload, st, v->u.tensor);
        if (s != PTEC_STATUS_OK) return s;
        break;
      case PTEC_VALUE_INT_LIST:
        s = decode_int_list(prog, r, values, i, &payload, &st->int_items[next_item], v);
        if (s != PTEC_STATUS_OK) return s;
        next_item += v->count;
        break;
      case PTEC_VALUE_DOUBLE_LIST: {
        fb_vector items;
        s = fb_vector_field(r, &payload, LIST_ITEMS, 8, &items, NULL);
        v->count = items.len;
        v->u.double_list = fb_vector_ptr(r, &items);
        break;
      }
      case PTEC_VALUE_BOOL_LIST: {
        fb_vector items;
        s = fb_vector_field(r, &payload, LIST_ITEMS, 1, &items, NULL);
        v->count = items.len;
        v->u.bool_list = fb_vector_ptr(r, &items);
        break;
      }
      case PTEC_VALUE_TENSOR_LIST:
      case PTEC_VALUE_OPTIONAL_TENSOR_LIST:
        s = decode_tensor_list(prog, r, values, i, &payload,
                               tag == PTEC_VALUE_OPTIONAL_TENSOR_LIST, v);
        if (s != PTEC_STATUS_OK) return s;
        break;
      default:
        return ptec_program_fail(prog, PTEC_STATUS_INTERNAL, "value %u: unhandled tag %u", i, tag);
    }
    if (s != PTEC_STATUS_OK) return value_fail(prog, s, r, i, "value payload");
  }
  return PTEC_STATUS_OK;
}
