/*
 * A verifying FlatBuffer reader.
 *
 * Every access checks bounds, alignment and offsets against the buffer
 * before reading, in every build. Nothing is trusted from the bytes: a
 * malformed buffer yields a status and a reason, never an out-of-bounds
 * read. Reads go through memcpy, so a misaligned field is not undefined
 * behaviour; pointers handed out to the rest of the runtime (vectors of
 * int32, double) are additionally checked for natural alignment.
 *
 * Field numbers are vtable slots as in the schema, in declaration order; a
 * union field takes two slots (its type, then its value).
 *
 * Two sets of accessors share the checks. The runtime core uses the sticky
 * ones (fb_get, fb_tab, fb_vec, fb_at, fb_str): the first failure is kept
 * in `r->status` (with its reason and offset), later calls do nothing and
 * return zero, so a caller reads a whole table and checks once. The others
 * return a status per call (fb_u32, fb_vector_field, ...; the TOSA reader).
 */
#ifndef PTEC_FORMAT_FLATBUFFER_H
#define PTEC_FORMAT_FLATBUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ptec/ptec.h"

typedef struct fb_reader {
  const uint8_t *buf;
  size_t size;          /* at most UINT32_MAX: FlatBuffer offsets are 32-bit */
  const char *reason;   /* why the last check failed */
  size_t where;         /* offset it failed at */
  ptec_status status;   /* sticky accessors: the first failure, PTEC_STATUS_OK if none */
} fb_reader;

typedef struct fb_table {
  uint32_t pos;         /* table start */
  uint32_t vtable;
  uint16_t vtable_size;
  uint16_t table_size;
} fb_table;

typedef struct fb_vector {
  uint32_t data;        /* offset of element 0 */
  uint32_t len;         /* number of elements */
} fb_vector;



/* ---- sticky accessors: no-ops returning 0/false once r->status is set */

/* A scalar field of `n` bytes (1, 2, 4 or 8), zero-extended; 0 if absent.
 * Signed fields: cast the result ((int32_t)fb_get(r, t, f, 4)). */
uint64_t fb_get(fb_reader *r, const fb_table *t, unsigned field, size_t n);
/* The table at `pos` (the root: fb_table_at(r, root offset)). */
bool fb_table_at(fb_reader *r, uint32_t pos, fb_table *out);
/* A sub-table; false if absent (or on failure). */
bool fb_tab(fb_reader *r, const fb_table *t, unsigned field, fb_table *out);
/* A vector of `elem_size`-byte elements, aligned to `elem_size`; false and
 * empty if absent (or on failure). */
bool fb_vec(fb_reader *r, const fb_table *t, unsigned field, size_t elem_size, fb_vector *out);
/* Element i of a vector of tables (i is checked against the length). */
bool fb_at(fb_reader *r, const fb_vector *v, uint32_t i, fb_table *out);
/* A string (a NUL terminator is verified to follow); NULL if absent. */
const char *fb_str(fb_reader *r, const fb_table *t, unsigned field, uint32_t *len);

/* ---- per-call accessors: each returns its own status. Inline, so that a
 * build links them only where they are used (the TOSA reader). */

static inline void fb_restart_(fb_reader *r) { r->status = PTEC_STATUS_OK; }

/* Binds a reader to `size` bytes (rejects sizes a FlatBuffer cannot have). */
static inline ptec_status fb_reader_init(fb_reader *r, const void *buf, size_t size) {
  r->buf = buf;
  r->size = size;
  r->reason = "";
  r->where = 0;
  r->status = PTEC_STATUS_OK;
  if (buf == NULL) {
    r->status = PTEC_STATUS_INVALID_ARGUMENT;
    r->reason = "no data";
  } else if (size < 8) {
    r->status = PTEC_STATUS_TRUNCATED;
    r->reason = "shorter than a FlatBuffer header";
  } else if (size > UINT32_MAX) {
    r->status = PTEC_STATUS_BAD_SIZE;
    r->reason = "larger than 4 GiB";
  }
  return r->status;
}

/* The root table, whose offset is the first word of the buffer. */
static inline ptec_status fb_root(fb_reader *r, fb_table *root) {
  uint32_t pos;
  fb_restart_(r);
  memcpy(&pos, r->buf, sizeof pos);
  fb_table_at(r, pos, root);
  return r->status;
}

/* Is the field present in the table's vtable? */
static inline bool fb_has(const fb_reader *r, const fb_table *t, unsigned field) {
  size_t slot = 4 + 2 * (size_t)field;
  uint16_t off;
  if (slot + 2 > t->vtable_size) return false;
  memcpy(&off, r->buf + t->vtable + slot, sizeof off);
  return off != 0;
}

/* Scalars: the default if absent, else the checked value. */
#define FB_SCALAR_GETTER(name, type)                                                     \
  static inline ptec_status name(fb_reader *r, const fb_table *t, unsigned field, type dflt, \
                                 type *out) {                                            \
    fb_restart_(r);                                                                      \
    uint64_t v = fb_get(r, t, field, sizeof(type));                                      \
    if (fb_has(r, t, field)) memcpy(out, &v, sizeof(type)); /* little-endian */          \
    else *out = dflt;                                                                    \
    return r->status;                                                                    \
  }
FB_SCALAR_GETTER(fb_u8, uint8_t)
FB_SCALAR_GETTER(fb_i32, int32_t)
FB_SCALAR_GETTER(fb_u32, uint32_t)
FB_SCALAR_GETTER(fb_i64, int64_t)
FB_SCALAR_GETTER(fb_u64, uint64_t)
FB_SCALAR_GETTER(fb_f64, double)
#undef FB_SCALAR_GETTER

/* Sub-table: `*present` false (and OK) if the field is absent. */
static inline ptec_status fb_table_field(fb_reader *r, const fb_table *t, unsigned field,
                                         fb_table *out, bool *present) {
  fb_restart_(r);
  *present = fb_tab(r, t, field, out);
  return r->status;
}

/* Vector of `elem_size`-byte elements; absent = empty. Elements must be
 * aligned to `elem_size` (1, 2, 4 or 8). */
static inline ptec_status fb_vector_field(fb_reader *r, const fb_table *t, unsigned field,
                                          size_t elem_size, fb_vector *out, bool *present) {
  fb_restart_(r);
  bool here = fb_vec(r, t, field, elem_size, out);
  if (present) *present = here;
  return r->status;
}

/* Element i of a vector of tables. */
static inline ptec_status fb_vector_table(fb_reader *r, const fb_vector *v, uint32_t i,
                                          fb_table *out) {
  fb_restart_(r);
  fb_at(r, v, i, out);
  return r->status;
}

/* String: pointer and length (a NUL terminator is verified to follow). */
static inline ptec_status fb_string_field(fb_reader *r, const fb_table *t, unsigned field,
                                          const char **str, uint32_t *len, bool *present) {
  fb_restart_(r);
  const char *s = fb_str(r, t, field, len);
  *str = s == NULL ? "" : s;
  if (present) *present = s != NULL;
  return r->status;
}

/* Element readers for verified vectors (index must be < len). */
static inline int32_t fb_vector_i32(const fb_reader *r, const fb_vector *v, uint32_t i) {
  int32_t x;
  memcpy(&x, r->buf + v->data + 4 * (size_t)i, sizeof x);
  return x;
}
static inline int64_t fb_vector_i64(const fb_reader *r, const fb_vector *v, uint32_t i) {
  int64_t x;
  memcpy(&x, r->buf + v->data + 8 * (size_t)i, sizeof x);
  return x;
}
static inline uint64_t fb_vector_u64(const fb_reader *r, const fb_vector *v, uint32_t i) {
  uint64_t x;
  memcpy(&x, r->buf + v->data + 8 * (size_t)i, sizeof x);
  return x;
}
static inline uint8_t fb_vector_u8(const fb_reader *r, const fb_vector *v, uint32_t i) {
  return r->buf[v->data + i];
}
static inline const void *fb_vector_ptr(const fb_reader *r, const fb_vector *v) {
  return r->buf + v->data;
}

#endif
