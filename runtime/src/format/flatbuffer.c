/* Verifying FlatBuffer access: see flatbuffer.h for the rules. */
#include "format/flatbuffer.h"

#include <string.h>

static ptec_status fail(fb_reader *r, ptec_status status, const char *reason, size_t where) {
  r->reason = reason;
  r->where = where;
  return status;
}

/* True if [pos, pos+len) lies inside the buffer (no overflow possible:
 * pos and len are checked separately against size). */
static bool in_bounds(const fb_reader *r, uint64_t pos, uint64_t len) {
  return pos <= r->size && len <= r->size - pos;
}

static uint16_t load_u16(const fb_reader *r, size_t pos) {
  uint16_t v;
  memcpy(&v, r->buf + pos, sizeof v);
  return v;
}

static uint32_t load_u32(const fb_reader *r, size_t pos) {
  uint32_t v;
  memcpy(&v, r->buf + pos, sizeof v);
  return v;
}

ptec_status fb_reader_init(fb_reader *r, const void *buf, size_t size) {
  r->buf = buf;
  r->size = size;
  r->reason = "";
  r->where = 0;
  if (buf == NULL) return fail(r, PTEC_STATUS_INVALID_ARGUMENT, "no data", 0);
  if (size < 8) return fail(r, PTEC_STATUS_TRUNCATED, "shorter than a FlatBuffer header", 0);
  if (size > UINT32_MAX) return fail(r, PTEC_STATUS_BAD_SIZE, "larger than 4 GiB", 0);
  return PTEC_STATUS_OK;
}

static ptec_status table_at(fb_reader *r, uint64_t pos, fb_table *t) {
  if (pos % 4 != 0) return fail(r, PTEC_STATUS_MALFORMED, "misaligned table", (size_t)pos);
  if (!in_bounds(r, pos, 4)) return fail(r, PTEC_STATUS_TRUNCATED, "table outside the data", (size_t)pos);
  int32_t soffset;
  memcpy(&soffset, r->buf + pos, sizeof soffset);
  int64_t vtable = (int64_t)pos - (int64_t)soffset;
  if (vtable < 0 || vtable % 2 != 0 || !in_bounds(r, (uint64_t)vtable, 4)) {
    return fail(r, PTEC_STATUS_MALFORMED, "vtable outside the data", (size_t)pos);
  }
  uint16_t vt_size = load_u16(r, (size_t)vtable);
  uint16_t tbl_size = load_u16(r, (size_t)vtable + 2);
  if (vt_size < 4 || vt_size % 2 != 0 || !in_bounds(r, (uint64_t)vtable, vt_size)) {
    return fail(r, PTEC_STATUS_MALFORMED, "bad vtable size", (size_t)vtable);
  }
  if (tbl_size < 4 || !in_bounds(r, pos, tbl_size)) {
    return fail(r, PTEC_STATUS_TRUNCATED, "table runs past the end of the data", (size_t)pos);
  }
  t->pos = (uint32_t)pos;
  t->vtable = (uint32_t)vtable;
  t->vtable_size = vt_size;
  t->table_size = tbl_size;
  return PTEC_STATUS_OK;
}

ptec_status fb_root(fb_reader *r, fb_table *root) {
  return table_at(r, load_u32(r, 0), root);
}

/* Offset of the field inside its table, 0 if absent. */
static uint16_t field_offset(const fb_reader *r, const fb_table *t, unsigned field) {
  size_t slot = 4 + 2 * (size_t)field;
  if (slot + 2 > t->vtable_size) return 0;
  return load_u16(r, t->vtable + slot);
}

bool fb_has(const fb_reader *r, const fb_table *t, unsigned field) {
  return field_offset(r, t, field) != 0;
}

/* Locates a scalar field of `n` bytes; *at = 0 if absent. */
static ptec_status scalar_at(fb_reader *r, const fb_table *t, unsigned field, size_t n,
                             size_t *at) {
  uint16_t off = field_offset(r, t, field);
  *at = 0;
  if (off == 0) return PTEC_STATUS_OK;
  if ((size_t)off + n > t->table_size) {
    return fail(r, PTEC_STATUS_MALFORMED, "field outside its table", t->pos);
  }
  *at = (size_t)t->pos + off;
  return PTEC_STATUS_OK;
}

#define FB_SCALAR_GETTER(name, type)                                                   \
  ptec_status name(fb_reader *r, const fb_table *t, unsigned field, type dflt, type *out) { \
    size_t at;                                                                         \
    ptec_status s = scalar_at(r, t, field, sizeof(type), &at);                         \
    if (s != PTEC_STATUS_OK) return s;                                                 \
    if (at == 0) {                                                                     \
      *out = dflt;                                                                     \
    } else {                                                                           \
      memcpy(out, r->buf + at, sizeof(type));                                          \
    }                                                                                  \
    return PTEC_STATUS_OK;                                                             \
  }

FB_SCALAR_GETTER(fb_u8, uint8_t)
FB_SCALAR_GETTER(fb_i32, int32_t)
FB_SCALAR_GETTER(fb_u32, uint32_t)
FB_SCALAR_GETTER(fb_i64, int64_t)
FB_SCALAR_GETTER(fb_u64, uint64_t)
FB_SCALAR_GETTER(fb_f64, double)

/* Follows an offset field to its target; *target = 0 if absent. */
static ptec_status follow(fb_reader *r, const fb_table *t, unsigned field, uint64_t *target) {
  size_t at;
  ptec_status s = scalar_at(r, t, field, 4, &at);
  *target = 0;
  if (s != PTEC_STATUS_OK || at == 0) return s;
  uint64_t dest = (uint64_t)at + load_u32(r, at);
  if (dest >= r->size) return fail(r, PTEC_STATUS_TRUNCATED, "offset past the end of the data", at);
  *target = dest;
  return PTEC_STATUS_OK;
}

ptec_status fb_table_field(fb_reader *r, const fb_table *t, unsigned field, fb_table *out,
                           bool *present) {
  uint64_t dest;
  ptec_status s = follow(r, t, field, &dest);
  *present = false;
  if (s != PTEC_STATUS_OK || dest == 0) return s;
  s = table_at(r, dest, out);
  if (s == PTEC_STATUS_OK) *present = true;
  return s;
}

static ptec_status vector_at(fb_reader *r, uint64_t pos, size_t elem_size, fb_vector *out) {
  if (pos % 4 != 0) return fail(r, PTEC_STATUS_MALFORMED, "misaligned vector", (size_t)pos);
  if (!in_bounds(r, pos, 4)) return fail(r, PTEC_STATUS_TRUNCATED, "vector outside the data", (size_t)pos);
  uint32_t len = load_u32(r, (size_t)pos);
  uint64_t data = pos + 4;
  if (!in_bounds(r, data, (uint64_t)len * elem_size)) {
    return fail(r, PTEC_STATUS_TRUNCATED, "vector runs past the end of the data", (size_t)pos);
  }
  if (elem_size > 1 && ((uintptr_t)(r->buf + data)) % elem_size != 0) {
    return fail(r, PTEC_STATUS_MALFORMED, "misaligned vector elements", (size_t)pos);
  }
  out->data = (uint32_t)data;
  out->len = len;
  return PTEC_STATUS_OK;
}

ptec_status fb_vector_field(fb_reader *r, const fb_table *t, unsigned field, size_t elem_size,
                            fb_vector *out, bool *present) {
  uint64_t dest;
  ptec_status s = follow(r, t, field, &dest);
  out->data = 0;
  out->len = 0;
  if (present) *present = false;
  if (s != PTEC_STATUS_OK || dest == 0) return s;
  s = vector_at(r, dest, elem_size, out);
  if (s == PTEC_STATUS_OK && present) *present = true;
  return s;
}

ptec_status fb_vector_table(fb_reader *r, const fb_vector *v, uint32_t i, fb_table *out) {
  if (i >= v->len) return fail(r, PTEC_STATUS_INDEX_OUT_OF_RANGE, "vector index", v->data);
  size_t at = (size_t)v->data + 4 * (size_t)i;
  uint64_t dest = (uint64_t)at + load_u32(r, at);
  if (dest >= r->size) return fail(r, PTEC_STATUS_TRUNCATED, "offset past the end of the data", at);
  return table_at(r, dest, out);
}

ptec_status fb_string_field(fb_reader *r, const fb_table *t, unsigned field, const char **str,
                            uint32_t *len, bool *present) {
  fb_vector v;
  bool here;
  ptec_status s = fb_vector_field(r, t, field, 1, &v, &here);
  *str = "";
  *len = 0;
  if (present) *present = here;
  if (s != PTEC_STATUS_OK || !here) return s;
  if (!in_bounds(r, (uint64_t)v.data + v.len, 1) || r->buf[v.data + v.len] != '\0') {
    return fail(r, PTEC_STATUS_MALFORMED, "string without terminator", v.data);
  }
  *str = (const char *)(r->buf + v.data);
  *len = v.len;
  return PTEC_STATUS_OK;
}

int32_t fb_vector_i32(const fb_reader *r, const fb_vector *v, uint32_t i) {
  int32_t x;
  memcpy(&x, r->buf + v->data + 4 * (size_t)i, sizeof x);
  return x;
}

int64_t fb_vector_i64(const fb_reader *r, const fb_vector *v, uint32_t i) {
  int64_t x;
  memcpy(&x, r->buf + v->data + 8 * (size_t)i, sizeof x);
  return x;
}

uint64_t fb_vector_u64(const fb_reader *r, const fb_vector *v, uint32_t i) {
  uint64_t x;
  memcpy(&x, r->buf + v->data + 8 * (size_t)i, sizeof x);
  return x;
}

uint8_t fb_vector_u8(const fb_reader *r, const fb_vector *v, uint32_t i) {
  return r->buf[v->data + i];
}
