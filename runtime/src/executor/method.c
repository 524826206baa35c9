/*
 * Method init: everything a method needs is verified and resolved here
 * (values, kernels, delegates, memory) so that execute does no allocation
 * and only the checks that depend on inputs.
 */
#include <string.h>

#include "core/message.h"
#include "executor/instructions.h"
#include "executor/values.h"

static ptec_status fb_fail(ptec_program *prog, ptec_status status, const fb_reader *r,
                           const char *what) {
  return ptec_program_fail(prog, status, "%s: %s (byte %zu)", what, r->reason, r->where);
}

/* Where each structure goes in method memory, and how much it takes. */
typedef struct method_layout {
  ptec_value_counts counts;
  uint32_t num_instructions;
  size_t values_at, tensors_at, items_at, instructions_at, delegates_at, flags_at;
  size_t total;
} method_layout;

static ptec_status read_plan(ptec_program *prog, size_t index, fb_reader *r, plan_view *pv) {
  memset(pv, 0, sizeof *pv);
  ptec_status s = ptec_program_plan(prog, index, r, &pv->plan);
  if (s != PTEC_STATUS_OK) return s;
  const fb_table *p = &pv->plan;
  bool has_values, has_inputs, has_outputs, has_sizes, has_chains;
  fb_vector chains;
  s = fb_vector_field(r, p, PLAN_VALUES, 4, &pv->values, &has_values);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, p, PLAN_INPUTS, 4, &pv->inputs, &has_inputs);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, p, PLAN_OUTPUTS, 4, &pv->outputs, &has_outputs);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, p, PLAN_CHAINS, 4, &chains, &has_chains);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, p, PLAN_OPERATORS, 4, &pv->operators, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, p, PLAN_DELEGATES, 4, &pv->delegates, NULL);
  if (s == PTEC_STATUS_OK) {
    s = fb_vector_field(r, p, PLAN_NON_CONST_BUFFER_SIZES, 8, &pv->buffer_sizes, &has_sizes);
  }
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "execution plan");
  if (!has_inputs || !has_outputs || !has_sizes) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED,
                             "method %zu lacks inputs, outputs or non_const_buffer_sizes", index);
  }
  if (pv->buffer_sizes.len < 1) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED,
                             "non_const_buffer_sizes must keep its reserved entry 0");
  }
  for (uint32_t i = 1; i < pv->buffer_sizes.len; i++) {
    int64_t n = fb_vector_i64(r, &pv->buffer_sizes, i);
    if (n < 0 || (uint64_t)n > SIZE_MAX) {
      return ptec_program_fail(prog, PTEC_STATUS_BAD_SIZE, "planned buffer %u has size %lld",
                               i, (long long)n);
    }
  }
  if (chains.len > 1) {
    return ptec_program_fail(prog, PTEC_STATUS_NOT_SUPPORTED,
                             "method %zu has %u chains; one is supported", index, chains.len);
  }
  if (chains.len == 1) {
    fb_table chain;
    s = fb_vector_table(r, &chains, 0, &chain);
    if (s == PTEC_STATUS_OK) {
      s = fb_vector_field(r, &chain, CHAIN_INSTRUCTIONS, 4, &pv->instructions, NULL);
    }
    if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "chain");
  }
  return PTEC_STATUS_OK;
}

/* Bytes the backend of each delegate needs; also checks the delegate. */
static ptec_status delegate_memory(ptec_program *prog, fb_reader *r, const plan_view *pv,
                                   uint32_t i, const ptec_backend **backend,
                                   ptec_delegate_blob *blob, size_t *bytes) {
  fb_table delegate, ref;
  const char *id;
  uint32_t id_len;
  bool has_id, has_ref;
  ptec_status s = fb_vector_table(r, &pv->delegates, i, &delegate);
  if (s == PTEC_STATUS_OK) s = fb_string_field(r, &delegate, DELEGATE_ID, &id, &id_len, &has_id);
  if (s == PTEC_STATUS_OK) s = fb_table_field(r, &delegate, DELEGATE_PROCESSED, &ref, &has_ref);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "delegate");
  if (!has_id || !has_ref) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED, "delegate %u lacks an id or its data", i);
  }
  s = ptec_program_delegate_data(prog, r, &ref, &blob->data, &blob->size);
  if (s != PTEC_STATUS_OK) return s;
  *backend = ptec_backend_find(id, id_len);
  if (*backend == NULL) {
    return ptec_program_fail(prog, PTEC_STATUS_BACKEND_MISSING,
                             "delegate %u: backend '%s' is not in this build", i, id);
  }
  s = (*backend)->memory_required(blob, bytes, prog->message, sizeof prog->message);
  return s;
}

static ptec_status compute_layout(ptec_program *prog, fb_reader *r, const plan_view *pv,
                                  method_layout *l) {
  memset(l, 0, sizeof *l);
  ptec_status s = ptec_values_count(prog, r, &pv->values, &l->counts);
  if (s != PTEC_STATUS_OK) return s;
  l->num_instructions = pv->instructions.len;
  /* Each region starts aligned; sizes are bounded by the file size, which
   * is below 4 GiB, times a small constant, so size_t arithmetic cannot
   * overflow on 64-bit hosts; on 32-bit targets it is still checked. */
  size_t at = 0, n;
  const size_t A = PTEC_BUFFER_ALIGNMENT;
#define RESERVE(field, count, type)                                                    \
  do {                                                                                 \
    l->field = at;                                                                     \
    if (ptec_mul_overflows((size_t)(count), sizeof(type), &n) ||                       \
        ptec_add_overflows(at, n, &at) || ptec_add_overflows(at, A - 1, &at)) {        \
      return ptec_program_fail(prog, PTEC_STATUS_BAD_SIZE, "method memory overflows"); \
    }                                                                                  \
    at = at / A * A;                                                                   \
  } while (0)
  RESERVE(values_at, l->counts.values, ptec_value);
  RESERVE(tensors_at, l->counts.tensors, ptec_tensor);
  RESERVE(items_at, l->counts.int_list_items, int64_t);
  RESERVE(instructions_at, l->num_instructions, ptec_instruction);
  RESERVE(delegates_at, pv->delegates.len, ptec_delegate_instance);
  RESERVE(flags_at, pv->inputs.len, uint8_t);
#undef RESERVE
  for (uint32_t i = 0; i < pv->delegates.len; i++) {
    const ptec_backend *backend;
    ptec_delegate_blob blob;
    size_t bytes;
    s = delegate_memory(prog, r, pv, i, &backend, &blob, &bytes);
    if (s != PTEC_STATUS_OK) return s;
    if (ptec_add_overflows(at, bytes, &at) || ptec_add_overflows(at, A - 1, &at)) {
      return ptec_program_fail(prog, PTEC_STATUS_BAD_SIZE, "method memory overflows");
    }
    at = at / A * A;
  }
  l->total = at;
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_method_requirements(ptec_program *prog, size_t method,
                                             ptec_method_requirements *req) {
  if (prog == NULL || req == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(req, 0, sizeof *req);
  fb_reader r;
  plan_view pv;
  method_layout l;
  ptec_status s = read_plan(prog, method, &r, &pv);
  if (s == PTEC_STATUS_OK) s = compute_layout(prog, &r, &pv, &l);
  if (s != PTEC_STATUS_OK) return s;
  req->method_memory_bytes = l.total;
  req->num_planned_buffers = pv.buffer_sizes.len - 1;
  req->planned_buffer_sizes_raw = (const int64_t *)fb_vector_ptr(&r, &pv.buffer_sizes);
  req->num_inputs = pv.inputs.len;
  req->num_outputs = pv.outputs.len;
  req->num_values = pv.values.len;
  req->num_instructions = pv.instructions.len;
  req->num_operators = pv.operators.len;
  req->num_delegates = pv.delegates.len;
  return PTEC_STATUS_OK;
}

size_t ptec_method_planned_buffer_size(const ptec_method_requirements *req, size_t i) {
  if (req == NULL || i >= req->num_planned_buffers) return 0;
  int64_t n;
  memcpy(&n, &req->planned_buffer_sizes_raw[i + 1], sizeof n); /* entry 0 is reserved */
  return (size_t)n;
}

/* ------------------------------------------------------------------- init */

static ptec_status init_delegates(ptec_method *m, fb_reader *r, const plan_view *pv,
                                  const method_layout *l, uint8_t *mem) {
  ptec_program *prog = (ptec_program *)m->program;
  size_t at = l->flags_at + ptec_align_up(pv->inputs.len, PTEC_BUFFER_ALIGNMENT);
  for (uint32_t i = 0; i < pv->delegates.len; i++) {
    const ptec_backend *backend;
    ptec_delegate_blob blob;
    size_t bytes;
    ptec_status s = delegate_memory(prog, r, pv, i, &backend, &blob, &bytes);
    if (s != PTEC_STATUS_OK) return s;
    m->delegates[i].backend = backend;
    s = backend->init(&blob, mem + at, bytes, &m->delegates[i].handle, m->message,
                      sizeof m->message);
    if (s != PTEC_STATUS_OK) return s;
    at += ptec_align_up(bytes, PTEC_BUFFER_ALIGNMENT);
  }
  return PTEC_STATUS_OK;
}

static ptec_status check_io(ptec_program *prog, const fb_reader *r, const fb_vector *io,
                            uint32_t num_values, const char *what) {
  for (uint32_t k = 0; k < io->len; k++) {
    int32_t v = fb_vector_i32(r, io, k);
    if (v < 0 || (uint32_t)v >= num_values) {
      return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                               "%s %u refers to value %d of %u", what, k, v, num_values);
    }
  }
  return PTEC_STATUS_OK;
}

static ptec_status method_fail_from_program(ptec_method *m, ptec_status s) {
  memcpy(m->message, m->program->message, sizeof m->message);
  return s;
}

ptec_status ptec_method_init(ptec_method *m, ptec_program *prog, size_t index,
                             void *method_memory, size_t method_memory_bytes,
                             void *const *planned, const size_t *planned_sizes,
                             size_t num_planned) {
  if (m == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(m, 0, sizeof *m);
  m->program = prog;
  if (prog == NULL || (method_memory == NULL && method_memory_bytes > 0) ||
      (num_planned > 0 && (planned == NULL || planned_sizes == NULL))) {
    ptec_format(m->message, sizeof m->message, "null program, memory or planned buffers");
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  prog->message[0] = '\0';
  fb_reader r;
  plan_view pv;
  method_layout l;
  ptec_status s = read_plan(prog, index, &r, &pv);
  if (s == PTEC_STATUS_OK) s = compute_layout(prog, &r, &pv, &l);
  if (s == PTEC_STATUS_OK) s = check_io(prog, &r, &pv.inputs, pv.values.len, "input");
  if (s == PTEC_STATUS_OK) s = check_io(prog, &r, &pv.outputs, pv.values.len, "output");
  if (s != PTEC_STATUS_OK) return method_fail_from_program(m, s);

  if (method_memory_bytes < l.total) {
    ptec_format(m->message, sizeof m->message,
                "method memory of %zu bytes is too small: the method needs %zu",
                method_memory_bytes, l.total);
    return PTEC_STATUS_OUT_OF_MEMORY;
  }
  if ((uintptr_t)method_memory % PTEC_BUFFER_ALIGNMENT != 0) {
    ptec_format(m->message, sizeof m->message, "method memory must be %d-byte aligned",
                PTEC_BUFFER_ALIGNMENT);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  const uint32_t nbuf = pv.buffer_sizes.len - 1;
  if (num_planned != nbuf) {
    ptec_format(m->message, sizeof m->message, "%zu planned buffers given, the method has %u",
                num_planned, nbuf);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  const int64_t *declared = (const int64_t *)fb_vector_ptr(&r, &pv.buffer_sizes) + 1;
  for (uint32_t i = 0; i < nbuf; i++) {
    if (planned_sizes[i] < (size_t)declared[i]) {
      ptec_format(m->message, sizeof m->message,
                  "planned buffer %u has %zu bytes, the method needs %lld", i, planned_sizes[i],
                  (long long)declared[i]);
      return PTEC_STATUS_OUT_OF_MEMORY;
    }
    if (declared[i] > 0 && (planned[i] == NULL ||
                            (uintptr_t)planned[i] % PTEC_BUFFER_ALIGNMENT != 0)) {
      ptec_format(m->message, sizeof m->message,
                  "planned buffer %u must be non-null and %d-byte aligned", i,
                  PTEC_BUFFER_ALIGNMENT);
      return PTEC_STATUS_INVALID_ARGUMENT;
    }
  }

  uint8_t *mem = method_memory;
  m->plan = pv.plan.pos;
  m->values = (ptec_value *)(mem + l.values_at);
  m->num_values = pv.values.len;
  m->instructions = (ptec_instruction *)(mem + l.instructions_at);
  m->num_instructions = pv.instructions.len;
  m->delegates = (ptec_delegate_instance *)(mem + l.delegates_at);
  m->num_delegates = pv.delegates.len;
  m->inputs = fb_vector_ptr(&r, &pv.inputs);
  m->num_inputs = pv.inputs.len;
  m->outputs = fb_vector_ptr(&r, &pv.outputs);
  m->num_outputs = pv.outputs.len;
  m->inputs_set = mem + l.flags_at;
  memset(m->inputs_set, 0, pv.inputs.len);

  ptec_value_storage st = {
      .values = m->values,
      .tensors = (ptec_tensor *)(mem + l.tensors_at),
      .int_items = (int64_t *)(mem + l.items_at),
      .planned = (uint8_t *const *)planned,
      .planned_sizes = declared,
      .num_planned = nbuf,
  };
  s = ptec_values_decode(prog, &r, &pv.values, &st);
  for (uint32_t i = 0; s == PTEC_STATUS_OK && i < pv.instructions.len; i++) {
    s = ptec_decode_instruction(prog, &r, &pv, i, m->values, &m->instructions[i]);
  }
  if (s == PTEC_STATUS_OK) s = init_delegates(m, &r, &pv, &l, mem);
  if (s == PTEC_STATUS_OK) s = ptec_prepare_kernels(m);
  if (s != PTEC_STATUS_OK) {
    if (m->message[0] == '\0') return method_fail_from_program(m, s);
    return s;
  }
  /* Non-tensor inputs are baked into the program: nothing to set. */
  for (uint32_t k = 0; k < m->num_inputs; k++) {
    if (m->values[m->inputs[k]].tag != PTEC_VALUE_TENSOR) m->inputs_set[k] = 1;
  }
  m->initialized = true;
  return PTEC_STATUS_OK;
}

const char *ptec_method_message(const ptec_method *m) { return m == NULL ? "" : m->message; }

size_t ptec_method_num_inputs(const ptec_method *m) { return m == NULL ? 0 : m->num_inputs; }

size_t ptec_method_num_outputs(const ptec_method *m) { return m == NULL ? 0 : m->num_outputs; }

size_t ptec_method_failed_instruction(const ptec_method *m) {
  return m == NULL ? 0 : m->failed_instruction;
}
