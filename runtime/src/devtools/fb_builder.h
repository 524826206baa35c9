/*
 * A FlatBuffers builder that writes back to front into the caller's buffer,
 * as the FlatBuffers libraries do: children are written before the tables
 * that point at them, so every offset points forward. No allocation; a
 * buffer that is too small sets `overflow` and every later call does nothing.
 *
 * Positions ("refs") are distances from the end of the buffer, so they stay
 * valid while the buffer grows downwards. Alignment is also counted from the
 * end of the buffer, whose address is aligned to FB_MAX_ALIGN, and fb_finish
 * pads the whole file to a multiple of it, so every position is aligned
 * from the file's start and in memory too.
 */
#ifndef PTEC_DEVTOOLS_FB_BUILDER_H
#define PTEC_DEVTOOLS_FB_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FB_MAX_FIELDS 16
#define FB_MAX_ALIGN 8 /* the widest scalar: the builder writes none wider */

typedef uint32_t fb_ref; /* a position: bytes from the end of the buffer; 0 = none */

typedef struct fb_builder {
  uint8_t *buffer;
  size_t capacity;
  size_t used;      /* bytes written, at the end of the buffer */
  bool overflow;
  /* the table being built */
  size_t table_start;
  uint32_t field_at[FB_MAX_FIELDS]; /* position of each field, 0 if absent */
  int num_fields;
} fb_builder;

void fb_init(fb_builder *b, void *buffer, size_t capacity);

fb_ref fb_string(fb_builder *b, const char *text);
/* A vector of `count` offsets to tables (or strings), pushed last first:
 * fb_vector_start, fb_vector_push count times, fb_vector_end. */
void fb_vector_start(fb_builder *b, size_t count);
void fb_vector_push(fb_builder *b, fb_ref item);
fb_ref fb_vector_end(fb_builder *b, size_t count);

void fb_table_start(fb_builder *b, int num_fields);
void fb_field_u8(fb_builder *b, int field, uint8_t value);
void fb_field_i32(fb_builder *b, int field, int32_t value);
void fb_field_u32(fb_builder *b, int field, uint32_t value);
void fb_field_u64(fb_builder *b, int field, uint64_t value);
void fb_field_ref(fb_builder *b, int field, fb_ref ref);
fb_ref fb_table_end(fb_builder *b);

/* Writes the root offset, the 4-character file identifier and (if
 * `size_prefixed`) the length prefix; returns the finished buffer's first
 * byte (inside the caller's buffer, at its end) and its size, or NULL on
 * overflow. */
const uint8_t *fb_finish(fb_builder *b, fb_ref root, const char identifier[4],
                         bool size_prefixed, size_t *size);

#endif
