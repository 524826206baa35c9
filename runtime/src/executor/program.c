/*
 * Loading a program: headers, identifier, top-level tables and segments are
 * verified here; methods are verified when they are queried or initialised.
 */
#include <stdarg.h>
#include <string.h>

#include "core/message.h"
#include "executor/internal.h"

ptec_status ptec_program_fail(ptec_program *prog, ptec_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ptec_vformat(prog->message, sizeof prog->message, fmt, ap);
  va_end(ap);
  return status;
}

static ptec_status fb_fail(ptec_program *prog, ptec_status status, const fb_reader *r,
                           const char *what) {
  return ptec_program_fail(prog, status, "%s: %s (byte %zu)", what, r->reason, r->where);
}

void ptec_program_reader(const ptec_program *prog, fb_reader *r) {
  r->buf = prog->data;
  r->size = prog->program_size;
  r->reason = "";
  r->where = 0;
}

static uint32_t load_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static uint64_t load_u64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The optional "eh00" header at byte 8: program size and segment placement. */
static ptec_status parse_extended_header(ptec_program *prog) {
  const uint8_t *d = prog->data;
  prog->program_size = prog->size;
  prog->segment_base = 0;
  if (prog->size < PTE_HEADER_OFFSET + 8 ||
      memcmp(d + PTE_HEADER_OFFSET, PTE_HEADER_MAGIC, 4) != 0) {
    return PTEC_STATUS_OK; /* no header: the whole file is the program */
  }
  uint32_t length = load_u32(d + PTE_HEADER_OFFSET + 4);
  if (length < PTE_HEADER_MIN_LENGTH) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_HEADER,
                             "extended header length %u is below the minimum %d", length,
                             PTE_HEADER_MIN_LENGTH);
  }
  if (prog->size < (size_t)PTE_HEADER_OFFSET + length) {
    return ptec_program_fail(prog, PTEC_STATUS_TRUNCATED,
                             "file of %zu bytes ends inside its %u-byte extended header",
                             prog->size, length);
  }
  uint64_t program_size = load_u64(d + PTE_HEADER_OFFSET + 8);
  uint64_t segment_base = load_u64(d + PTE_HEADER_OFFSET + 16);
  uint64_t segment_data_size =
      length >= PTE_HEADER_LENGTH_WITH_DATA_SIZE ? load_u64(d + PTE_HEADER_OFFSET + 24) : 0;
  if (program_size < (uint64_t)PTE_HEADER_OFFSET + length) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_HEADER,
                             "program_size %llu is smaller than the headers",
                             (unsigned long long)program_size);
  }
  if (program_size > prog->size) {
    return ptec_program_fail(prog, PTEC_STATUS_TRUNCATED,
                             "program_size %llu exceeds the file size %zu",
                             (unsigned long long)program_size, prog->size);
  }
  if (segment_base != 0) {
    if (segment_base < program_size) {
      return ptec_program_fail(prog, PTEC_STATUS_BAD_HEADER,
                               "segment_base_offset %llu lies inside the program (%llu bytes)",
                               (unsigned long long)segment_base,
                               (unsigned long long)program_size);
    }
    if (segment_base > prog->size || segment_data_size > prog->size - segment_base) {
      return ptec_program_fail(prog, PTEC_STATUS_TRUNCATED,
                               "segments end at %llu + %llu, past the file size %zu",
                               (unsigned long long)segment_base,
                               (unsigned long long)segment_data_size, prog->size);
    }
  }
  prog->program_size = (size_t)program_size;
  prog->segment_base = (size_t)segment_base;
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_segment(ptec_program *prog, fb_reader *r, uint32_t index,
                                 const uint8_t **data, size_t *size) {
  fb_table root, seg;
  fb_vector segments;
  ptec_status s = fb_root(r, &root);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &root, PROGRAM_SEGMENTS, 4, &segments, NULL);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "segments");
  if (index >= segments.len) {
    return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                             "segment index %u out of range (%u segments)", index, segments.len);
  }
  uint64_t offset, bytes;
  s = fb_vector_table(r, &segments, index, &seg);
  if (s == PTEC_STATUS_OK) s = fb_u64(r, &seg, SEGMENT_OFFSET, 0, &offset);
  if (s == PTEC_STATUS_OK) s = fb_u64(r, &seg, SEGMENT_SIZE, 0, &bytes);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "segment");
  if (prog->segment_base == 0) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_HEADER,
                             "segment %u is used but the file has no segment base", index);
  }
  size_t room = prog->size - prog->segment_base;
  if (offset > room || bytes > room - offset) {
    return ptec_program_fail(prog, PTEC_STATUS_TRUNCATED,
                             "segment %u (offset %llu, %llu bytes) runs past the end of the file",
                             index, (unsigned long long)offset, (unsigned long long)bytes);
  }
  *data = prog->data + prog->segment_base + offset;
  *size = (size_t)bytes;
  return PTEC_STATUS_OK;
}

/* The constant segment, or the deprecated inline constant_buffer. */
static ptec_status bind_constants(ptec_program *prog, fb_reader *r, const fb_table *root) {
  fb_table sub;
  bool present;
  ptec_status s = fb_table_field(r, root, PROGRAM_CONSTANT_SEGMENT, &sub, &present);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "constant_segment");
  if (present) {
    uint32_t segment;
    fb_vector offsets;
    s = fb_u32(r, &sub, SUBSEGMENT_SEGMENT_INDEX, 0, &segment);
    if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &sub, SUBSEGMENT_OFFSETS, 8, &offsets, NULL);
    if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "constant_segment");
    /* offsets[0] is a placeholder: a lone entry means no constants. */
    if (offsets.len > 1) {
      s = ptec_program_segment(prog, r, segment, &prog->constant_base, &prog->constant_size);
      if (s != PTEC_STATUS_OK) return s;
      prog->constant_offsets = offsets.data - 4; /* keep the vector's position */
      prog->num_constants = offsets.len;
    }
  }
  fb_vector buffers;
  s = fb_vector_field(r, root, PROGRAM_CONSTANT_BUFFER, 4, &buffers, &present);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "constant_buffer");
  if (present) {
    prog->constant_buffers = buffers.data - 4;
    prog->num_constant_buffers = buffers.len;
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_load(ptec_program *prog, const void *data, size_t size) {
  if (prog == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(prog, 0, sizeof *prog);
  if (data == NULL) {
    return ptec_program_fail(prog, PTEC_STATUS_INVALID_ARGUMENT, "program data is NULL");
  }
  if ((uintptr_t)data % PTEC_PROGRAM_ALIGNMENT != 0) {
    return ptec_program_fail(prog, PTEC_STATUS_INVALID_ARGUMENT,
                             "program data must be %d-byte aligned", PTEC_PROGRAM_ALIGNMENT);
  }
  prog->data = data;
  prog->size = size;
  if (size < 8) {
    return ptec_program_fail(prog, PTEC_STATUS_TRUNCATED, "file of %zu bytes is too short", size);
  }
  if (memcmp(prog->data + 4, PTE_IDENTIFIER, 4) != 0) {
    char id[5];
    for (int i = 0; i < 4; i++) {
      char c = (char)prog->data[4 + i];
      id[i] = (c >= 32 && c < 127) ? c : '?';
    }
    id[4] = '\0';
    return ptec_program_fail(prog, PTEC_STATUS_BAD_IDENTIFIER,
                             "file identifier is '%s', expected '" PTE_IDENTIFIER "'%s", id,
                             memcmp(id, "ET", 2) == 0 ? " (another program format version)" : "");
  }
  ptec_status s = parse_extended_header(prog);
  if (s != PTEC_STATUS_OK) return s;

  fb_reader r;
  s = fb_reader_init(&r, prog->data, prog->program_size);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, &r, "program");
  fb_table root;
  fb_vector plans;
  bool present;
  s = fb_root(&r, &root);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, &r, "program root");
  s = fb_vector_field(&r, &root, PROGRAM_EXECUTION_PLAN, 4, &plans, &present);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, &r, "execution_plan");
  if (!present) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED, "program has no execution_plan");
  }
  prog->root = root.pos;
  prog->plans = plans.data - 4;
  prog->num_methods = plans.len;
  return bind_constants(prog, &r, &root);
}

const char *ptec_program_message(const ptec_program *prog) {
  return prog == NULL ? "" : prog->message;
}

size_t ptec_program_num_methods(const ptec_program *prog) {
  return prog == NULL ? 0 : prog->num_methods;
}

ptec_status ptec_program_plan(ptec_program *prog, size_t index, fb_reader *r, fb_table *plan) {
  ptec_program_reader(prog, r);
  if (prog->plans == 0 || index >= prog->num_methods) {
    return ptec_program_fail(prog, PTEC_STATUS_INVALID_ARGUMENT,
                             "method %zu out of range (%u methods)", index, prog->num_methods);
  }
  fb_vector plans = {prog->plans + 4, prog->num_methods};
  ptec_status s = fb_vector_table(r, &plans, (uint32_t)index, plan);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "execution_plan");
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_method_name(ptec_program *prog, size_t method, char *name, size_t cap) {
  if (prog == NULL || name == NULL || cap == 0) return PTEC_STATUS_INVALID_ARGUMENT;
  name[0] = '\0';
  fb_reader r;
  fb_table plan;
  ptec_status s = ptec_program_plan(prog, method, &r, &plan);
  if (s != PTEC_STATUS_OK) return s;
  const char *str;
  uint32_t len;
  bool present;
  s = fb_string_field(&r, &plan, PLAN_NAME, &str, &len, &present);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, &r, "method name");
  if (!present) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED, "method %zu has no name", method);
  }
  size_t n = len < cap - 1 ? len : cap - 1;
  memcpy(name, str, n);
  name[n] = '\0';
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_find_method(ptec_program *prog, const char *name, size_t *method) {
  if (prog == NULL || name == NULL || method == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  for (size_t i = 0; i < prog->num_methods; i++) {
    char found[64];
    ptec_status s = ptec_program_method_name(prog, i, found, sizeof found);
    if (s != PTEC_STATUS_OK) return s;
    if (strcmp(found, name) == 0) {
      *method = i;
      return PTEC_STATUS_OK;
    }
  }
  return ptec_program_fail(prog, PTEC_STATUS_INVALID_ARGUMENT, "no method named '%s'", name);
}

ptec_status ptec_program_delegate_data(ptec_program *prog, fb_reader *r, const fb_table *ref,
                                       const uint8_t **data, size_t *size) {
  uint8_t location;
  uint32_t index;
  ptec_status s = fb_u8(r, ref, DATA_REFERENCE_LOCATION, DATA_LOCATION_INLINE, &location);
  if (s == PTEC_STATUS_OK) s = fb_u32(r, ref, DATA_REFERENCE_INDEX, 0, &index);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "delegate data reference");
  if (location == DATA_LOCATION_SEGMENT) return ptec_program_segment(prog, r, index, data, size);
  if (location != DATA_LOCATION_INLINE) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_ENUM, "delegate data location %u is unknown",
                             location);
  }
  fb_table root, inline_data;
  fb_vector all, bytes;
  s = fb_root(r, &root);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &root, PROGRAM_BACKEND_DELEGATE_DATA, 4, &all, NULL);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "backend_delegate_data");
  if (index >= all.len) {
    return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                             "inline delegate data %u out of range (%u entries)", index, all.len);
  }
  s = fb_vector_table(r, &all, index, &inline_data);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &inline_data, INLINE_DATA_DATA, 1, &bytes, NULL);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "inline delegate data");
  *data = fb_vector_ptr(r, &bytes);
  *size = bytes.len;
  return PTEC_STATUS_OK;
}
