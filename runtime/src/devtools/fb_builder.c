#include "fb_builder.h"

#include <string.h>

void fb_init(fb_builder *b, void *buffer, size_t capacity) {
  memset(b, 0, sizeof *b);
  /* The buffer is built from its end, so its end must be aligned as the
   * file's largest member: a reader may check alignment in memory. */
  uintptr_t start = (uintptr_t)buffer, end = start + capacity;
  end &= ~(uintptr_t)(FB_MAX_ALIGN - 1);
  b->buffer = buffer;
  b->capacity = end > start ? (size_t)(end - start) : 0;
}

/* Reserves `n` more bytes at the front of what is written; NULL on overflow. */
static uint8_t *grow(fb_builder *b, size_t n) {
  if (b->overflow || n > b->capacity - b->used) {
    b->overflow = true;
    return NULL;
  }
  b->used += n;
  return b->buffer + (b->capacity - b->used);
}

/* Pads so that, after `additional` more bytes, the position is a multiple
 * of `align` (a power of two). */
static void prep(fb_builder *b, size_t align, size_t additional) {
  size_t pad = (~(b->used + additional) + 1) & (align - 1);
  uint8_t *p = grow(b, pad);
  if (p != NULL) memset(p, 0, pad);
}

static void put_le(uint8_t *p, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)(value >> (8 * i));
}

static fb_ref push(fb_builder *b, uint64_t value, size_t bytes) {
  prep(b, bytes, 0);
  uint8_t *p = grow(b, bytes);
  if (p == NULL) return 0;
  put_le(p, value, bytes);
  return (fb_ref)b->used;
}

/* An offset to `ref`, written at the front: relative to its own place. */
static fb_ref push_offset(fb_builder *b, fb_ref ref) {
  prep(b, 4, 0);
  return push(b, (uint32_t)(b->used + 4 - ref), 4);
}

fb_ref fb_string(fb_builder *b, const char *text) {
  size_t n = strlen(text);
  prep(b, 4, n + 1);
  uint8_t *p = grow(b, n + 1);
  if (p == NULL) return 0;
  memcpy(p, text, n);
  p[n] = 0;
  return push(b, (uint32_t)n, 4);
}

void fb_vector_start(fb_builder *b, size_t count) { prep(b, 4, 4 * count); }
void fb_vector_push(fb_builder *b, fb_ref item) { push_offset(b, item); }
fb_ref fb_vector_end(fb_builder *b, size_t count) { return push(b, (uint32_t)count, 4); }

void fb_table_start(fb_builder *b, int num_fields) {
  b->table_start = b->used;
  b->num_fields = num_fields;
  memset(b->field_at, 0, sizeof b->field_at);
}

static void field(fb_builder *b, int f, fb_ref at) {
  if (f >= 0 && f < b->num_fields) b->field_at[f] = at;
}

void fb_field_u8(fb_builder *b, int f, uint8_t v) { field(b, f, push(b, v, 1)); }
void fb_field_i32(fb_builder *b, int f, int32_t v) { field(b, f, push(b, (uint32_t)v, 4)); }
void fb_field_u32(fb_builder *b, int f, uint32_t v) { field(b, f, push(b, v, 4)); }
void fb_field_u64(fb_builder *b, int f, uint64_t v) { field(b, f, push(b, v, 8)); }
void fb_field_ref(fb_builder *b, int f, fb_ref ref) {
  if (ref != 0) field(b, f, push_offset(b, ref));
}

fb_ref fb_table_end(fb_builder *b) {
  /* The table starts with its vtable's signed offset; the vtable is written
   * just in front of it: [vtable bytes][object bytes][field offsets...]. */
  fb_ref table = push(b, 0, 4);
  if (table == 0) return 0;
  int last = b->num_fields;
  while (last > 0 && b->field_at[last - 1] == 0) last--;
  for (int f = last; f-- > 0;) {
    uint32_t at = b->field_at[f];
    push(b, at ? table - at : 0, 2);
  }
  push(b, table - b->table_start, 2);
  fb_ref vtable = push(b, (uint32_t)(4 + 2 * last), 2);
  if (vtable == 0) return 0;
  /* vtable = table - soffset, addresses growing towards the end */
  put_le(b->buffer + (b->capacity - table), (uint32_t)(int32_t)(vtable - table), 4);
  return table;
}

const uint8_t *fb_finish(fb_builder *b, fb_ref root, const char identifier[4],
                         bool size_prefixed, size_t *size) {
  prep(b, FB_MAX_ALIGN, 4 + 4 + (size_prefixed ? 4 : 0));
  uint8_t *id = grow(b, 4);
  if (id != NULL) memcpy(id, identifier, 4);
  push_offset(b, root);
  if (size_prefixed) push(b, (uint32_t)b->used, 4);
  if (b->overflow) return NULL;
  *size = b->used;
  return b->buffer + (b->capacity - b->used);
}
