/* Verifying FlatBuffer access: see flatbuffer.h for the rules. */
#include "format/flatbuffer.h"

#include <string.h>

/* Records the first failure; every sticky accessor returns early once set. */
static bool fail(fb_reader *r, ptec_status status, const char *reason, size_t where) {
  r->status = status;
  r->reason = reason;
  r->where = where;
  return false;
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

static bool table_at(fb_reader *r, uint64_t pos, fb_table *t) {
  if (pos % 4 != 0) return fail(r, PTEC_STATUS_MALFORMED, "misaligned table", (size_t)pos);
  if (!in_bounds(r, pos, 4)) return fail(r, PTEC_STATUS_TRUNCATED, "table outside the data", (size_t)pos);
  int32_t soffset;
  memcpy(&soffset, r->buf + pos, sizeof soffset);
  int64_t vtable = (int64_t)pos - (int64_t)soffset;
  uint16_t vt_size = 0, tbl_size = 0;
  if (vtable >= 0 && vtable % 2 == 0 && in_bounds(r, (uint64_t)vtable, 4)) {
    vt_size = load_u16(r, (size_t)vtable);
    tbl_size = load_u16(r, (size_t)vtable + 2);
  }
  if (vt_size < 4 || vt_size % 2 != 0 || !in_bounds(r, (uint64_t)vtable, vt_size)) {
    return fail(r, PTEC_STATUS_MALFORMED, "bad vtable", (size_t)pos);
  }
  /* The table size in the vtable is not trusted beyond this: writers that
   * share one vtable between tables of different sizes (Python flatbuffers
   * 25.2.10 keys its vtable cache on field offsets only) record another
   * table's size. Each field is checked against the data instead, as
   * FlatBuffers' own verifier does. */
  if (tbl_size < 4) return fail(r, PTEC_STATUS_MALFORMED, "bad table size", (size_t)pos);
  t->pos = (uint32_t)pos;
  t->vtable = (uint32_t)vtable;
  t->vtable_size = vt_size;
  t->table_size = tbl_size;
  return true;
}

/* Offset of the field inside its table, 0 if absent. */
static uint16_t field_offset(const fb_reader *r, const fb_table *t, unsigned field) {
  size_t slot = 4 + 2 * (size_t)field;
  if (slot + 2 > t->vtable_size) return 0;
  return load_u16(r, t->vtable + slot);
}

/* Position of a field of `n` bytes in the buffer; 0 if absent or failed
 * (a present field is never at 0: the root offset is there). */
static size_t field_at(fb_reader *r, const fb_table *t, unsigned field, size_t n) {
  if (r->status != PTEC_STATUS_OK) return 0;
  uint16_t off = field_offset(r, t, field);
  if (off == 0) return 0;
  /* Past the table's vtable offset and inside the data (not the vtable's
   * recorded table size: see table_at). */
  if (off < 4 || !in_bounds(r, (uint64_t)t->pos + off, n)) {
    fail(r, PTEC_STATUS_MALFORMED, "field outside its table", t->pos);
    return 0;
  }
  return (size_t)t->pos + off;
}

uint64_t fb_get(fb_reader *r, const fb_table *t, unsigned field, size_t n) {
  uint64_t v = 0; /* little-endian, as every read of the format */
  size_t at = field_at(r, t, field, n);
  if (at != 0) memcpy(&v, r->buf + at, n);
  return v;
}

/* Follows an offset field to its target; 0 if absent or failed. */
static uint64_t follow(fb_reader *r, const fb_table *t, unsigned field) {
  size_t at = field_at(r, t, field, 4);
  if (at == 0) return 0;
  uint64_t dest = (uint64_t)at + load_u32(r, at);
  if (dest >= r->size) {
    fail(r, PTEC_STATUS_TRUNCATED, "offset past the end of the data", at);
    return 0;
  }
  return dest;
}

bool fb_table_at(fb_reader *r, uint32_t pos, fb_table *out) {
  return r->status == PTEC_STATUS_OK && table_at(r, pos, out);
}

bool fb_tab(fb_reader *r, const fb_table *t, unsigned field, fb_table *out) {
  uint64_t dest = follow(r, t, field);
  return dest != 0 && table_at(r, dest, out);
}

bool fb_vec(fb_reader *r, const fb_table *t, unsigned field, size_t elem_size, fb_vector *out) {
  uint64_t pos = follow(r, t, field);
  out->data = 0;
  out->len = 0;
  if (pos == 0) return false;
  uint32_t len = 0;
  if (in_bounds(r, pos, 4)) memcpy(&len, r->buf + pos, sizeof len);
  uint64_t data = pos + 4;
  if (!in_bounds(r, data, (uint64_t)len * elem_size)) {
    return fail(r, PTEC_STATUS_TRUNCATED, "vector runs past the end of the data", (size_t)pos);
  }
  if (pos % 4 != 0 || ((uintptr_t)(r->buf + data)) % elem_size != 0) {
    return fail(r, PTEC_STATUS_MALFORMED, "misaligned vector", (size_t)pos);
  }
  out->data = (uint32_t)data;
  out->len = len;
  return true;
}

bool fb_at(fb_reader *r, const fb_vector *v, uint32_t i, fb_table *out) {
  if (r->status != PTEC_STATUS_OK) return false;
  if (i >= v->len) return fail(r, PTEC_STATUS_INDEX_OUT_OF_RANGE, "vector index", v->data);
  size_t at = (size_t)v->data + 4 * (size_t)i;
  uint64_t dest = (uint64_t)at + load_u32(r, at);
  if (dest >= r->size) return fail(r, PTEC_STATUS_TRUNCATED, "offset past the end of the data", at);
  return table_at(r, dest, out);
}

const char *fb_str(fb_reader *r, const fb_table *t, unsigned field, uint32_t *len) {
  fb_vector v;
  bool here = fb_vec(r, t, field, 1, &v);
  *len = v.len;
  if (!here) return NULL;
  if (!in_bounds(r, (uint64_t)v.data + v.len, 1) || r->buf[v.data + v.len] != '\0') {
    fail(r, PTEC_STATUS_MALFORMED, "string without terminator", v.data);
    *len = 0;
    return NULL;
  }
  return (const char *)(r->buf + v.data);
}
