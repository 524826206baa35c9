/*
 * EValues: every tag, index, size and offset is checked before it is used,
 * each time a value is read from the program (once for every value at
 * init, then for an instruction's arguments when it runs). Kernels can rely
 * on tensor metadata being self-consistent: sizes non-negative, dim_order a
 * permutation, nbytes = numel * element size without overflow, and data
 * inside the caller's planned buffer or the program's constant data.
 */
#include <string.h>

#include "executor/internal.h"

#define FAIL(...) ptec_program_fail(m->program, __VA_ARGS__)

static ptec_status value_fail(ptec_method *m, const fb_reader *r, uint32_t i, const char *what) {
  return FAIL(r->status, "value %u: %s: %s (byte %zu)", i, what, r->reason, r->where);
}

ptec_status ptec_value_at(ptec_method *m, fb_reader *r, uint32_t i, uint8_t *tag,
                          fb_table *payload) {
  fb_table ev;
  fb_vector values = {m->values, m->num_values};
  *tag = 0;
  if (i >= m->num_values) {
    return FAIL(PTEC_STATUS_INDEX_OUT_OF_RANGE, "value %d out of range (%u values)", (int32_t)i,
                m->num_values);
  }
  fb_at(r, &values, i, &ev);
  *tag = (uint8_t)fb_get(r, &ev, EVALUE_VAL_TYPE, 1);
  bool present = fb_tab(r, &ev, EVALUE_VAL, payload);
  if (r->status != PTEC_STATUS_OK) return value_fail(m, r, i, "EValue");
  if (*tag == 0 || *tag > PTE_KERNEL_TYPES_MAX) {
    return FAIL(PTEC_STATUS_BAD_ENUM, "value %u: unknown value type tag %u", i, *tag);
  }
  if (!present) {
    return FAIL(PTEC_STATUS_MALFORMED, "value %u: value type %u has no payload", i, *tag);
  }
  return PTEC_STATUS_OK;
}

/* State entries are sorted by value: a lookup is a binary search, where a
 * scan made loading a program with many calls quadratic (every argument read
 * looks its value up). */
ptec_value_state *ptec_value_state_of(const ptec_method *m, uint32_t i) {
  ptec_value_state *s = m->states;
  for (uint32_t n = m->num_states; n > 0;) {
    uint32_t half = n / 2;
    if (s[half].value == i) return &s[half];
    if (s[half].value < i) s += half + 1, n -= half + 1;
    else n = half;
  }
  return NULL;
}

void ptec_value_state_note(ptec_method *m, method_layout *l, uint32_t i) {
  l->states++; /* counted with repeats: sizes method memory */
  if (m->states == NULL || ptec_value_state_of(m, i) != NULL) return;
  /* Inserted in order (an insertion sort's step). Notes come mostly in
   * increasing value order (inputs, then outputs of later instructions), so
   * this moves little. */
  uint32_t k = m->num_states++;
  for (; k > 0 && m->states[k - 1].value > i; k--) m->states[k] = m->states[k - 1];
  ptec_value_state *e = &m->states[k];
  e->value = e->alias = i;
  e->data = NULL; /* `moved` is the call cache's (call_cache.c sets it) */
}

uint32_t ptec_value_resolve(const ptec_method *m, uint32_t i) {
  const ptec_value_state *e = ptec_value_state_of(m, i);
  return e == NULL ? i : e->alias;
}

/* Int lists hold value indices of Int values (boxed, as ExecuTorch writes
 * them), tensor lists value indices of tensors (-1 = None when optional). */
static ptec_status read_list(ptec_method *m, fb_reader *r, uint32_t i, uint32_t tag,
                             const fb_table *payload, ptec_value *v, int64_t *items) {
  bool ints = tag == PTEC_VALUE_INT_LIST;
  bool optional = tag == PTEC_VALUE_OPTIONAL_TENSOR_LIST;
  const char *kind = ints ? "an int" : "a tensor"; /* kind + (ints ? 3 : 2): the noun */
  fb_vector list;
  fb_vec(r, payload, LIST_ITEMS, ints ? 8 : 4, &list);
  if (r->status != PTEC_STATUS_OK) return value_fail(m, r, i, ints ? "int list" : "tensor list");
  for (uint32_t k = 0; k < list.len; k++) {
    int64_t ref = ints ? fb_vector_i64(r, &list, k) : fb_vector_i32(r, &list, k);
    if (optional && ref == -1) continue;
    if (ref < 0 || ref >= (int64_t)m->num_values) {
      return FAIL(PTEC_STATUS_INDEX_OUT_OF_RANGE,
                  "value %u: %s list item %u refers to value %lld of %u",
                  i, kind + (ints ? 3 : 2), k, (long long)ref, m->num_values);
    }
    uint8_t item_tag;
    fb_table item;
    ptec_status s = ptec_value_at(m, r, (uint32_t)ref, &item_tag, &item);
    if (s != PTEC_STATUS_OK) return s;
    if (item_tag != (ints ? PTEC_VALUE_INT : PTEC_VALUE_TENSOR) &&
        !(optional && item_tag == PTEC_VALUE_NONE)) {
      return FAIL(PTEC_STATUS_TYPE_MISMATCH,
                  "value %u: %s list item %u refers to value %lld, which is not %s", i,
                  kind + (ints ? 3 : 2), k, (long long)ref, kind);
    }
    if (ints) {
      uint64_t x = fb_get(r, &item, SCALAR_VALUE, 8);
      if (r->status != PTEC_STATUS_OK) return value_fail(m, r, (uint32_t)ref, "int");
      if (items != NULL) items[k] = (int64_t)x;
    }
  }
  v->count = list.len;
  v->u.tensor_list = (const int32_t *)(const void *)(r->buf + list.data);
  if (ints) v->u.int_list = items;
  return PTEC_STATUS_OK;
}

/* Constant data lives in the program: the constant segment, or the
 * deprecated inline constant_buffer. */
static ptec_status bind_constant(ptec_method *m, fb_reader *r, uint32_t i, uint32_t index,
                                 ptec_tensor *t) {
  ptec_program *prog = m->program;
  bool segment = prog->num_constants > 1;
  uint32_t count = segment ? prog->num_constants : prog->num_constant_buffers;
  if (index >= count) {
    return FAIL(PTEC_STATUS_INDEX_OUT_OF_RANGE, "value %u: constant %u out of range (%u constants)",
                i, index, count);
  }
  const uint8_t *base = prog->constant_base;
  size_t size = prog->constant_size;
  uint64_t offset = 0;
  if (segment) {
    fb_vector offsets = {prog->constant_offsets + 4, count};
    offset = fb_vector_u64(r, &offsets, index);
  } else {
    fb_vector buffers = {prog->constant_buffers + 4, count};
    fb_table buffer;
    fb_vector storage;
    fb_at(r, &buffers, index, &buffer);
    fb_vec(r, &buffer, BUFFER_STORAGE, 1, &storage);
    if (r->status != PTEC_STATUS_OK) return value_fail(m, r, i, "constant buffer");
    base = r->buf + storage.data;
    size = storage.len;
  }
  if (offset > size || t->nbytes > size - offset) {
    return FAIL(PTEC_STATUS_TRUNCATED,
                "value %u: constant %u (%zu bytes at offset %llu) runs past its data (%zu bytes)",
                i, index, t->nbytes, (unsigned long long)offset, size);
  }
  if ((uintptr_t)(base + offset) % ptec_dtype_size(t->dtype) != 0) {
    return FAIL(PTEC_STATUS_MALFORMED, "value %u: constant %u is misaligned for %s", i, index,
                ptec_dtype_name(t->dtype));
  }
  t->data = (void *)(uintptr_t)(base + offset); /* read-only: is_constant guards writes */
  t->is_constant = true;
  return PTEC_STATUS_OK;
}

/* Shape: sizes non-negative, rank bounded, dim_order a permutation, byte
 * count computed without overflow; then where the data is. */
static ptec_status read_tensor(ptec_method *m, fb_reader *r, uint32_t i, const fb_table *payload,
                               ptec_tensor *t, const void **initial) {
  fb_vector sizes, dim_order;
  fb_table alloc = {0}, extra = {0}; /* absent: every field reads as 0 */
  memset(t, 0, sizeof *t);
  static const uint8_t scalars[4][2] = {{TENSOR_SCALAR_TYPE, 1}, {TENSOR_STORAGE_OFFSET, 4},
                                         {TENSOR_SHAPE_DYNAMISM, 1}, {TENSOR_DATA_BUFFER_IDX, 4}};
  uint32_t field[4];
  for (unsigned k = 0; k < 4; k++) {
    field[k] = (uint32_t)fb_get(r, payload, scalars[k][0], scalars[k][1]);
  }
  uint8_t dtype = (uint8_t)field[0];
  int32_t storage_offset = (int32_t)field[1];
  uint8_t dynamism = (uint8_t)field[2];
  uint32_t buffer_index = field[3];
  fb_vec(r, payload, TENSOR_SIZES, 4, &sizes);
  fb_vec(r, payload, TENSOR_DIM_ORDER, 1, &dim_order);
  bool has_alloc = fb_tab(r, payload, TENSOR_ALLOCATION_INFO, &alloc);
  fb_tab(r, payload, TENSOR_EXTRA_TENSOR_INFO, &extra);
  uint8_t location = (uint8_t)fb_get(r, &extra, EXTRA_LOCATION, 1);
  uint64_t place[3]; /* memory_id, offset low and high words */
  for (unsigned f = ALLOCATION_MEMORY_ID; f <= ALLOCATION_OFFSET_HIGH; f++) {
    place[f] = fb_get(r, &alloc, f, 4);
  }
  uint32_t memory_id = (uint32_t)place[ALLOCATION_MEMORY_ID];
  uint64_t offset = place[ALLOCATION_OFFSET_LOW] | place[ALLOCATION_OFFSET_HIGH] << 32;
  if (r->status != PTEC_STATUS_OK) return value_fail(m, r, i, "tensor");
  size_t elem = ptec_dtype_size(dtype);
  if (elem == 0 || dynamism > SHAPE_DYNAMIC_UNBOUND) {
    return FAIL(PTEC_STATUS_BAD_ENUM, "value %u: tensor dtype %u or shape_dynamism %u is unknown",
                i, dtype, dynamism);
  }
  const char *unsupported =
      storage_offset != 0 ? "a storage_offset"
      : dynamism == SHAPE_DYNAMIC_UNBOUND ? "an unbounded dynamic shape"
      : location != TENSOR_DATA_LOCATION_SEGMENT ? "external data (.ptd files)"
                                                 : NULL;
  if (unsupported != NULL) {
    return FAIL(PTEC_STATUS_NOT_SUPPORTED, "value %u: tensors with %s are not supported", i,
                unsupported);
  }
  if (sizes.len > PTEC_MAX_RANK) {
    return FAIL(PTEC_STATUS_BAD_SIZE, "value %u: rank %u exceeds %d", i, sizes.len, PTEC_MAX_RANK);
  }
  uint32_t seen = 0;
  size_t numel = 1;
  for (uint32_t d = 0; d < sizes.len || d < dim_order.len; d++) {
    uint8_t dim = 0;
    if (dim_order.len != sizes.len || (dim = fb_vector_u8(r, &dim_order, d)) >= sizes.len ||
        (seen & (1u << dim)) != 0) {
      return FAIL(PTEC_STATUS_MALFORMED,
                  "value %u: dim_order (%u entries) is not a permutation of 0..%u", i,
                  dim_order.len, sizes.len - 1);
    }
    seen |= 1u << dim;
    int32_t n = fb_vector_i32(r, &sizes, d);
    if (n < 0 || !ptec_mul_size(numel, (size_t)n, &numel) ||
        !ptec_mul_size(numel, elem, &t->nbytes)) {
      return FAIL(PTEC_STATUS_BAD_SIZE, "value %u: size[%u] = %d is negative or overflows", i, d,
                  n);
    }
  }
  t->nbytes = t->capacity = numel * elem;
  t->numel = numel;
  t->dtype = dtype;
  t->rank = (uint8_t)sizes.len;
  t->sizes = (const int32_t *)(const void *)(r->buf + sizes.data);
  t->dim_order = r->buf + dim_order.data;
  t->is_dynamic = dynamism == SHAPE_DYNAMIC_BOUND;
  if (has_alloc) {
    /* memory_id is 1-based: planned buffer 0 of the file is reserved. */
    if (memory_id == 0 || memory_id > m->num_planned) {
      return FAIL(PTEC_STATUS_INDEX_OUT_OF_RANGE,
                  "value %u: memory_id %u out of range (%u planned buffers)", i, memory_id,
                  m->num_planned);
    }
    uint64_t size = (uint64_t)m->planned_sizes[memory_id - 1];
    /* Once offset <= size, a size_t, the 32-bit remainder is exact (and needs
     * no 64-bit division from libgcc on 32-bit targets). */
    if (offset > size || t->nbytes > size - offset || (size_t)offset % elem != 0) {
      return FAIL(PTEC_STATUS_BAD_MEMORY_PLAN,
                  "value %u: %zu bytes at offset %llu: outside planned buffer %u (%llu bytes) or "
                  "misaligned for %s",
                  i, t->nbytes, (unsigned long long)offset, memory_id, (unsigned long long)size,
                  ptec_dtype_name(dtype));
    }
    uint8_t *base = m->planned == NULL ? NULL : m->planned[memory_id - 1];
    t->data = base == NULL ? NULL : base + offset;
    /* Planned with initial data: a mutable buffer's starting value (state.c
     * copies it in), checked like any constant. */
    if (buffer_index > 0) {
      ptec_tensor start = *t;
      ptec_status s = bind_constant(m, r, i, buffer_index, &start);
      if (s != PTEC_STATUS_OK) return s;
      if (initial != NULL) *initial = start.data;
    }
  } else if (buffer_index > 0) {
    ptec_status s = bind_constant(m, r, i, buffer_index, t);
    if (s != PTEC_STATUS_OK) return s;
  }
  /* Unplanned inputs and views are bound at run time. */
  const ptec_value_state *e = ptec_value_state_of(m, i);
  if (e != NULL && e->data != NULL) t->data = e->data;
  /* A dynamic tensor reads with its current sizes: the program's sizes are
   * its upper bound, checked above against its memory. */
  ptec_dynamic_shape *shape = t->is_dynamic ? ptec_dynamic_shape_of(m, i) : NULL;
  if (shape != NULL) {
    t->dynamic_sizes = shape->sizes;
    t->sizes = shape->sizes;
    t->numel = 1;
    for (uint32_t d = 0; d < t->rank; d++) t->numel *= (size_t)shape->sizes[d];
    t->nbytes = t->numel * elem; /* no larger than capacity: ptec_tensor_resize checks */
  }
  return PTEC_STATUS_OK;
}

ptec_dynamic_shape *ptec_dynamic_shape_of(const ptec_method *m, uint32_t i) {
  for (uint32_t k = 0; k < m->num_shapes; k++) {
    if (m->shapes[k].value == i) return &m->shapes[k];
  }
  return NULL;
}

void ptec_dynamic_shape_note(ptec_method *m, method_layout *l, uint32_t i,
                             const ptec_tensor *t) {
  l->shapes++;
  if (m->shapes != NULL) {
    ptec_dynamic_shape *e = &m->shapes[m->num_shapes++];
    memset(e, 0, sizeof *e);
    e->value = i;
    memcpy(e->sizes, t->sizes, t->rank * sizeof t->sizes[0]); /* starts at the bound */
  }
}

ptec_status ptec_value_read(ptec_method *m, fb_reader *r, uint32_t i, ptec_value *v,
                            ptec_tensor *t, int64_t *items) {
  uint8_t tag;
  fb_table payload;
  ptec_status s = ptec_value_at(m, r, i, &tag, &payload);
  if (s != PTEC_STATUS_OK) return s;
  memset(v, 0, sizeof *v);
  v->tag = tag;
  switch (tag) {
    case PTEC_VALUE_INT:
    case PTEC_VALUE_DOUBLE: {
      uint64_t bits = fb_get(r, &payload, SCALAR_VALUE, 8);
      memcpy(&v->u, &bits, sizeof bits);
      break;
    }
    case PTEC_VALUE_BOOL:
      v->u.b = fb_get(r, &payload, SCALAR_VALUE, 1) != 0;
      break;
    case PTEC_VALUE_STRING:
      v->u.str = fb_str(r, &payload, SCALAR_VALUE, &v->count);
      if (v->u.str == NULL) v->u.str = "";
      break;
    case PTEC_VALUE_TENSOR:
      v->u.tensor = t;
      return read_tensor(m, r, i, &payload, t, NULL);
    case PTEC_VALUE_DOUBLE_LIST:
    case PTEC_VALUE_BOOL_LIST: {
      fb_vector list;
      fb_vec(r, &payload, LIST_ITEMS, tag == PTEC_VALUE_DOUBLE_LIST ? 8 : 1, &list);
      v->count = list.len;
      v->u.bool_list = r->buf + list.data;
      break;
    }
    case PTEC_VALUE_INT_LIST:
    case PTEC_VALUE_TENSOR_LIST:
    case PTEC_VALUE_OPTIONAL_TENSOR_LIST:
      return read_list(m, r, i, tag, &payload, v, items);
    default: /* None */
      break;
  }
  if (r->status != PTEC_STATUS_OK) return value_fail(m, r, i, "value payload");
  return PTEC_STATUS_OK;
}

ptec_status ptec_value_initial_data(ptec_method *m, fb_reader *r, uint32_t i, ptec_tensor *t,
                                    const void **initial) {
  uint8_t tag;
  fb_table payload;
  *initial = NULL;
  ptec_status s = ptec_value_at(m, r, i, &tag, &payload);
  if (s != PTEC_STATUS_OK || tag != PTEC_VALUE_TENSOR) return s;
  return read_tensor(m, r, i, &payload, t, initial);
}
