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
 */
#ifndef PTEC_FORMAT_FLATBUFFER_H
#define PTEC_FORMAT_FLATBUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptec/ptec.h"

typedef struct fb_reader {
  const uint8_t *buf;
  size_t size;          /* at most UINT32_MAX: FlatBuffer offsets are 32-bit */
  const char *reason;   /* why the last check failed */
  size_t where;         /* offset it failed at */
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

/* Binds a reader to `size` bytes (rejects sizes a FlatBuffer cannot have). */
ptec_status fb_reader_init(fb_reader *r, const void *buf, size_t size);

/* The root table, whose offset is the first word of the buffer. */
ptec_status fb_root(fb_reader *r, fb_table *root);

/* Is the field present in the table's vtable? */
bool fb_has(const fb_reader *r, const fb_table *t, unsigned field);

/* Scalars: the default if absent, else the checked value. */
ptec_status fb_u8(fb_reader *r, const fb_table *t, unsigned field, uint8_t dflt, uint8_t *out);
ptec_status fb_i32(fb_reader *r, const fb_table *t, unsigned field, int32_t dflt, int32_t *out);
ptec_status fb_u32(fb_reader *r, const fb_table *t, unsigned field, uint32_t dflt, uint32_t *out);
ptec_status fb_i64(fb_reader *r, const fb_table *t, unsigned field, int64_t dflt, int64_t *out);
ptec_status fb_u64(fb_reader *r, const fb_table *t, unsigned field, uint64_t dflt, uint64_t *out);
ptec_status fb_f64(fb_reader *r, const fb_table *t, unsigned field, double dflt, double *out);

/* Sub-table: `*present` false (and OK) if the field is absent. */
ptec_status fb_table_field(fb_reader *r, const fb_table *t, unsigned field, fb_table *out,
                           bool *present);
/* Vector of `elem_size`-byte elements; absent = empty. Elements must be
 * aligned to `elem_size` (1, 2, 4 or 8). */
ptec_status fb_vector_field(fb_reader *r, const fb_table *t, unsigned field, size_t elem_size,
                            fb_vector *out, bool *present);
/* Element i of a vector of tables. */
ptec_status fb_vector_table(fb_reader *r, const fb_vector *v, uint32_t i, fb_table *out);
/* String: pointer and length (a NUL terminator is verified to follow). */
ptec_status fb_string_field(fb_reader *r, const fb_table *t, unsigned field, const char **str,
                            uint32_t *len, bool *present);

/* Element readers for verified vectors (index must be < len). */
int32_t fb_vector_i32(const fb_reader *r, const fb_vector *v, uint32_t i);
int64_t fb_vector_i64(const fb_reader *r, const fb_vector *v, uint32_t i);
uint64_t fb_vector_u64(const fb_reader *r, const fb_vector *v, uint32_t i);
uint8_t fb_vector_u8(const fb_reader *r, const fb_vector *v, uint32_t i);
static inline const void *fb_vector_ptr(const fb_reader *r, const fb_vector *v) {
  return r->buf + v->data;
}

#endif
