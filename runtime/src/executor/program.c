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

ptec_status ptec_program_fb_fail(ptec_program *prog, const fb_reader *r, const char *what) {
  return ptec_program_fail(prog, r->status, "%s: %s (byte %zu)", what, r->reason, r->where);
}

void ptec_program_reader(const ptec_program *prog, fb_reader *r) {
  r->buf = prog->data;
  r->size = prog->program_size;
  r->reason = "";
  r->where = 0;
  r->status = PTEC_STATUS_OK;
}

/* The 4 bytes at `p` are `tag` ("ET12", "eh00"). */
static bool has_tag(const uint8_t *p, const char *tag) {
  uint32_t a, b;
  memcpy(&a, p, sizeof a);
  memcpy(&b, tag, sizeof b);
  return a == b;
}

static uint64_t load_u64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The optional "eh00" header at byte 8: program size and segment placement. */
static ptec_status parse_extended_header(ptec_program *prog) {
  const uint8_t *h = prog->data + PTE_HEADER_OFFSET;
  prog->program_size = prog->size;
  if (prog->size < PTE_HEADER_OFFSET + 8 || !has_tag(h, PTE_HEADER_MAGIC)) {
    return PTEC_STATUS_OK; /* no header: the whole file is the program */
  }
  uint32_t length;
  memcpy(&length, h + 4, sizeof length);
  uint64_t program_size = 0, segment_base = 0, segment_data_size = 0;
  bool complete = length >= PTE_HEADER_MIN_LENGTH;
  bool inside = prog->size >= (size_t)PTE_HEADER_OFFSET + length;
  if (complete && inside) {
    program_size = load_u64(h + 8);
    segment_base = load_u64(h + 16);
    if (length >= PTE_HEADER_LENGTH_WITH_DATA_SIZE) segment_data_size = load_u64(h + 24);
  }
  /* In this order: the header's length, then program_size, then segments. */
  bool segments = segment_base != 0;
  ptec_status s = !complete ? PTEC_STATUS_BAD_HEADER
                  : !inside ? PTEC_STATUS_TRUNCATED
                  : program_size < (uint64_t)PTE_HEADER_OFFSET + length ? PTEC_STATUS_BAD_HEADER
                  : program_size > prog->size ? PTEC_STATUS_TRUNCATED
                  : segments && segment_base < program_size ? PTEC_STATUS_BAD_HEADER
                  : segments && (segment_base > prog->size ||
                                 segment_data_size > prog->size - segment_base)
                      ? PTEC_STATUS_TRUNCATED
                      : PTEC_STATUS_OK;
  if (s != PTEC_STATUS_OK) {
    return ptec_program_fail(prog, s,
                             "extended header (length %u, program_size %llu, segments at %llu + "
                             "%llu) %s the file of %zu bytes",
                             length, (unsigned long long)program_size,
                             (unsigned long long)segment_base,
                             (unsigned long long)segment_data_size,
                             s == PTEC_STATUS_BAD_HEADER ? "is inconsistent, in" : "runs past",
                             prog->size);
  }
  prog->program_size = (size_t)program_size;
  prog->segment_base = (size_t)segment_base;
  return PTEC_STATUS_OK;
}

/* Item `index` of a vector of tables of the Program (segments, inline
 * delegate data); the caller checks r->status after reading it. */
static ptec_status root_item(ptec_program *prog, fb_reader *r, unsigned field, uint32_t index,
                             fb_table *out, const char *what) {
  fb_table root;
  fb_vector all;
  fb_table_at(r, prog->root, &root);
  fb_vec(r, &root, field, 4, &all);
  if (r->status == PTEC_STATUS_OK && index >= all.len) {
    return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                             "%s %u out of range (%u entries)",
                             what, index, all.len);
  }
  fb_at(r, &all, index, out);
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_segment(ptec_program *prog, fb_reader *r, uint32_t index,
                                 const uint8_t **data, size_t *size) {
  fb_table seg;
  ptec_status s = root_item(prog, r, PROGRAM_SEGMENTS, index, &seg, "segment");
  if (s != PTEC_STATUS_OK) return s;
  uint64_t offset = fb_get(r, &seg, SEGMENT_OFFSET, 8);
  uint64_t bytes = fb_get(r, &seg, SEGMENT_SIZE, 8);
  if (r->status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, r, "segment");
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
  fb_vector offsets, buffers;
  uint32_t segment = 0;
  offsets.len = 0;
  if (fb_tab(r, root, PROGRAM_CONSTANT_SEGMENT, &sub)) {
    segment = (uint32_t)fb_get(r, &sub, SUBSEGMENT_SEGMENT_INDEX, 4);
    fb_vec(r, &sub, SUBSEGMENT_OFFSETS, 8, &offsets);
  }
  fb_vec(r, root, PROGRAM_CONSTANT_BUFFER, 4, &buffers);
  if (r->status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, r, "constants");
  prog->constant_buffers = buffers.data - 4; /* the vector's position */
  prog->num_constant_buffers = buffers.len;
  /* offsets[0] is a placeholder: a lone entry means no constants. */
  if (offsets.len > 1) {
    prog->constant_offsets = offsets.data - 4;
    prog->num_constants = offsets.len;
    return ptec_program_segment(prog, r, segment, &prog->constant_base, &prog->constant_size);
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_load(ptec_program *prog, const void *data, size_t size) {
  if (prog == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(prog, 0, sizeof *prog);
  if (data == NULL || (uintptr_t)data % PTEC_PROGRAM_ALIGNMENT != 0) {
    return ptec_program_fail(prog, PTEC_STATUS_INVALID_ARGUMENT,
                             "program data must be non-NULL and %d-byte aligned",
                             PTEC_PROGRAM_ALIGNMENT);
  }
  prog->data = data;
  prog->size = size;
  if (size < 8) {
    return ptec_program_fail(prog, PTEC_STATUS_TRUNCATED, "file of %zu bytes is too short", size);
  }
  if (!has_tag(prog->data + 4, PTE_IDENTIFIER)) {
    char id[5] = {0}; /* the formatter shows bytes outside printable ASCII as '?' */
    memcpy(id, prog->data + 4, 4);
    return ptec_program_fail(prog, PTEC_STATUS_BAD_IDENTIFIER,
                             "file identifier is '%s', expected '" PTE_IDENTIFIER "'%s", id,
                             id[0] == 'E' && id[1] == 'T' ? " (another program format version)"
                                                          : "");
  }
  ptec_status s = parse_extended_header(prog);
  if (s != PTEC_STATUS_OK) return s;

  fb_reader r;
  fb_table root;
  fb_vector plans;
  uint32_t root_at;
  memcpy(&root_at, prog->data, sizeof root_at);
  fb_reader_init(&r, prog->data, prog->program_size); /* at most 4 GiB */
  fb_table_at(&r, root_at, &root);
  bool present = fb_vec(&r, &root, PROGRAM_EXECUTION_PLAN, 4, &plans);
  if (r.status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, &r, "program");
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
  if (index >= prog->num_methods) {
    return ptec_program_fail(prog, PTEC_STATUS_INVALID_ARGUMENT,
                             "method %zu out of range (%u methods)", index, prog->num_methods);
  }
  fb_vector plans = {prog->plans + 4, prog->num_methods};
  if (!fb_at(r, &plans, (uint32_t)index, plan)) {
    return ptec_program_fb_fail(prog, r, "execution_plan");
  }
  return PTEC_STATUS_OK;
}

/* The name of method `method`, in the program. */
static ptec_status method_name(ptec_program *prog, size_t method, const char **str,
                               uint32_t *len) {
  fb_reader r;
  fb_table plan;
  ptec_status s = ptec_program_plan(prog, method, &r, &plan);
  if (s != PTEC_STATUS_OK) return s;
  *str = fb_str(&r, &plan, PLAN_NAME, len);
  if (r.status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, &r, "method name");
  if (*str == NULL) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED, "method %zu has no name", method);
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_method_name(ptec_program *prog, size_t method, char *name, size_t cap) {
  if (prog == NULL || name == NULL || cap == 0) return PTEC_STATUS_INVALID_ARGUMENT;
  const char *str;
  uint32_t len;
  name[0] = '\0';
  ptec_status s = method_name(prog, method, &str, &len);
  if (s != PTEC_STATUS_OK) return s;
  size_t n = len < cap - 1 ? len : cap - 1;
  memcpy(name, str, n);
  name[n] = '\0';
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_find_method(ptec_program *prog, const char *name, size_t *method) {
  if (prog == NULL || name == NULL || method == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  size_t want = strlen(name);
  for (size_t i = 0; i < prog->num_methods; i++) {
    const char *str;
    uint32_t len;
    ptec_status s = method_name(prog, i, &str, &len);
    if (s != PTEC_STATUS_OK) return s;
    if (len == want && strcmp(str, name) == 0) {
      *method = i;
      return PTEC_STATUS_OK;
    }
  }
  return ptec_program_fail(prog, PTEC_STATUS_INVALID_ARGUMENT, "no method named '%s'", name);
}

ptec_status ptec_program_delegate_data(ptec_program *prog, fb_reader *r, const fb_table *ref,
                                       const uint8_t **data, size_t *size) {
  uint8_t location = (uint8_t)fb_get(r, ref, DATA_REFERENCE_LOCATION, 1);
  uint32_t index = (uint32_t)fb_get(r, ref, DATA_REFERENCE_INDEX, 4);
  if (r->status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, r, "delegate data reference");
  if (location == DATA_LOCATION_SEGMENT) return ptec_program_segment(prog, r, index, data, size);
  if (location != DATA_LOCATION_INLINE) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_ENUM, "delegate data location %u is unknown",
                             location);
  }
  fb_table inline_data;
  fb_vector bytes;
  ptec_status s = root_item(prog, r, PROGRAM_BACKEND_DELEGATE_DATA, index, &inline_data,
                            "inline delegate data");
  if (s != PTEC_STATUS_OK) return s;
  fb_vec(r, &inline_data, INLINE_DATA_DATA, 1, &bytes);
  if (r->status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, r, "inline delegate data");
  *data = r->buf + bytes.data;
  *size = bytes.len;
  return PTEC_STATUS_OK;
}
