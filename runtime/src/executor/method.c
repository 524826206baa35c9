/*
 * Method requirements and init: every value, instruction, kernel, delegate
 * and the memory plan are verified, and method memory is laid out, so that
 * execute does no allocation and only the checks that depend on inputs.
 *
 * Method memory holds no table of the method's values: the program
 * describes them, and an instruction's arguments are decoded into the frame
 * when it runs. What it holds: the decoded instructions (8 bytes each), the
 * values rebound at run time (unplanned inputs, view outputs, move
 * destinations), the planned buffers' addresses, the frame (sized for the
 * largest instruction), delegate state and one flag per input.
 */
#include <string.h>

#include "core/message.h"
#include "executor/internal.h"

#define FAIL(...) ptec_program_fail(prog, __VA_ARGS__)

static ptec_status read_plan(ptec_method *m, ptec_program *prog, size_t index, fb_reader *r,
                             plan_view *pv) {
  memset(pv, 0, sizeof *pv);
  ptec_status s = ptec_program_plan(prog, index, r, &pv->plan);
  if (s != PTEC_STATUS_OK) return s;
  _Static_assert(PLAN_NON_CONST_BUFFER_SIZES - PLAN_VALUES == 6, "plan_view.vectors");
  uint32_t present = 0;
  for (unsigned f = 0; f < 7; f++) {
    size_t elem = f == PLAN_NON_CONST_BUFFER_SIZES - PLAN_VALUES ? 8 : 4;
    present |= (uint32_t)fb_vec(r, &pv->plan, PLAN_VALUES + f, elem, &pv->vectors[f]) << f;
  }
  const uint32_t required = 1u << (PLAN_INPUTS - PLAN_VALUES) | 1u << (PLAN_OUTPUTS - PLAN_VALUES) |
                            1u << (PLAN_NON_CONST_BUFFER_SIZES - PLAN_VALUES);
  bool complete = (present & required) == required;
  if (r->status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, r, "execution plan");
  if (!complete || pv->buffer_sizes.len < 1) {
    return FAIL(PTEC_STATUS_MALFORMED,
                "method %zu lacks inputs, outputs or non_const_buffer_sizes (with its reserved "
                "entry 0)",
                index);
  }
  const int64_t *sizes = (const int64_t *)(const void *)(r->buf + pv->buffer_sizes.data);
  for (uint32_t i = 1; i < pv->buffer_sizes.len; i++) {
    if (sizes[i] < 0 || (uint64_t)sizes[i] > SIZE_MAX) {
      return FAIL(PTEC_STATUS_BAD_SIZE, "planned buffer %u has size %lld", i, (long long)sizes[i]);
    }
  }
  if (pv->chains.len == 1) {
    fb_table chain;
    fb_at(r, &pv->chains, 0, &chain);
    fb_vec(r, &chain, CHAIN_INSTRUCTIONS, 4, &pv->instructions);
    if (r->status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, r, "chain");
  }
  /* One chain; indices must fit an instruction's 29 bits. */
  if (pv->chains.len > 1 ||
      (pv->values.len | pv->instructions.len | pv->delegates.len) >> PTEC_INSTR_SHIFT) {
    return FAIL(PTEC_STATUS_NOT_SUPPORTED,
                "method %zu has %u chains (one is supported) or 2^29 values or more", index,
                pv->chains.len);
  }
  m->program = prog;
  m->values = pv->values.data;
  m->num_values = pv->values.len;
  m->planned_sizes = sizes + 1; /* entry 0 is reserved */
  m->num_planned = pv->buffer_sizes.len - 1;
  m->num_instructions = pv->instructions.len;
  m->num_delegates = pv->delegates.len;
  m->inputs = (const int32_t *)(const void *)(r->buf + pv->inputs.data);
  m->num_inputs = pv->inputs.len;
  m->outputs = (const int32_t *)(const void *)(r->buf + pv->outputs.data);
  m->num_outputs = pv->outputs.len;
  return PTEC_STATUS_OK;
}

/* Verifies every value and instruction, counting what method memory needs;
 * once method memory is laid out (init), stores the instructions and the
 * values rebound at run time. */
static ptec_status verify(ptec_method *m, fb_reader *r, const plan_view *pv, method_layout *l) {
  ptec_program *prog = m->program;
  l->states = l->slots = l->lists = l->items = l->list_args = l->moved_list = l->shapes = 0;
  for (uint32_t i = 0; i < m->num_values; i++) {
    ptec_value v;
    ptec_tensor t;
    ptec_status s = ptec_value_read(m, r, i, &v, &t, NULL);
    if (s != PTEC_STATUS_OK) return s;
    if (v.tag == PTEC_VALUE_TENSOR && t.is_dynamic) ptec_dynamic_shape_note(m, l, i, &t);
  }
  for (uint32_t k = 0; k < m->num_inputs + m->num_outputs; k++) {
    bool input = k < m->num_inputs;
    int32_t v = input ? m->inputs[k] : m->outputs[k - m->num_inputs];
    if (v < 0 || (uint32_t)v >= m->num_values) {
      return FAIL(PTEC_STATUS_INDEX_OUT_OF_RANGE, "%s %u refers to value %d of %u",
                  input ? "input" : "output", input ? k : k - m->num_inputs, v, m->num_values);
    }
    uint8_t tag;
    fb_table payload;
    ptec_value_at(m, r, (uint32_t)v, &tag, &payload); /* read above */
    if (input && tag == PTEC_VALUE_TENSOR) {
      /* set_input copies into a tensor with data: for a constant, into the program's own
       * (read-only) bytes, behind the checks made on it at init (fuzz_pte_edit: a softmax
       * table zeroed through set_input divided by zero). */
      ptec_value cv;
      ptec_tensor ct;
      ptec_status s = ptec_value_read(m, r, (uint32_t)v, &cv, &ct, NULL);
      if (s != PTEC_STATUS_OK) return s;
      if (ct.is_constant) {
        return FAIL(PTEC_STATUS_TYPE_MISMATCH, "input %u is value %d, a constant of the program",
                    k, v);
      }
      ptec_value_state_note(m, l, (uint32_t)v); /* set_input may bind it */
    }
    /* Non-tensor inputs are baked into the program: nothing to set. */
    if (input && m->inputs_set != NULL) m->inputs_set[k] = tag == PTEC_VALUE_TENSOR ? 0 : 2;
  }
  for (uint32_t i = 0; i < m->num_instructions; i++) {
    ptec_instruction scratch;
    ptec_status s = ptec_decode_instruction(
        m, r, pv, i, m->instructions != NULL ? &m->instructions[i] : &scratch, l);
    if (s != PTEC_STATUS_OK) {
      ptec_prefix_message(prog->message, i);
      return s;
    }
  }
  return PTEC_STATUS_OK;
}

/* Bytes the backend of delegate `i` needs; also checks the delegate. */
static ptec_status delegate_memory(ptec_program *prog, fb_reader *r, const plan_view *pv,
                                   uint32_t i, const ptec_backend **backend,
                                   ptec_delegate_blob *blob, size_t *bytes) {
  fb_table delegate, ref;
  uint32_t id_len;
  fb_at(r, &pv->delegates, i, &delegate);
  const char *id = fb_str(r, &delegate, DELEGATE_ID, &id_len);
  bool has_ref = fb_tab(r, &delegate, DELEGATE_PROCESSED, &ref);
  if (r->status != PTEC_STATUS_OK) return ptec_program_fb_fail(prog, r, "delegate");
  if (id == NULL || !has_ref) {
    return FAIL(PTEC_STATUS_MALFORMED, "delegate %u lacks an id or its data", i);
  }
  ptec_status s = ptec_program_delegate_data(prog, r, &ref, &blob->data, &blob->size);
  if (s != PTEC_STATUS_OK) return s;
  *backend = ptec_backend_find(id, id_len);
  if (*backend == NULL) {
    return FAIL(PTEC_STATUS_BACKEND_MISSING, "delegate %u: backend '%s' is not in this build", i,
                id);
  }
  return (*backend)->memory_required(blob, bytes, prog->message, sizeof prog->message);
}

/* Method memory, region by region: element size and count of each. */
enum { R_INSTRUCTIONS, R_STATES, R_SHAPES, R_PLANNED, R_FRAME, R_VALUES, R_TENSORS, R_ORIGIN, R_ARGS,
       R_LISTS, R_ITEMS, R_DELEGATES, R_FLAGS, R_BACKENDS, R_COUNT };
static const uint8_t region_unit[R_COUNT] = {
    sizeof(ptec_instruction), sizeof(ptec_value_state), sizeof(ptec_dynamic_shape),
    sizeof(void *), sizeof(ptec_frame),
    sizeof(ptec_value), sizeof(ptec_tensor), sizeof(uint32_t), sizeof(int32_t), sizeof(int32_t),
    sizeof(int64_t), sizeof(ptec_delegate_instance), 1, PTEC_BUFFER_ALIGNMENT};

/* Lays method memory out at `mem` (NULL: only sizes it) and returns its
 * size. Every region starts 8-byte aligned, delegate backends' memory
 * 16-byte aligned. In 64-bit arithmetic: counts are below 2^32 and units
 * below 2^8, so the sum cannot wrap; the caller checks it against SIZE_MAX. */
static uint64_t lay_out(ptec_method *m, const method_layout *l, uint8_t *mem) {
  /* A list argument may read as any list a move wrote: room for the longest. */
  uint32_t moved = l->list_args * l->moved_list; /* below 2^28: plan_method checks */
  uint32_t slots = l->slots + moved;
  const uint32_t count[R_COUNT] = {m->num_instructions, l->states, l->shapes, m->num_planned, 1, slots,
                                   slots, slots, slots, l->lists + moved, l->items + moved,
                                   m->num_delegates, m->num_inputs, l->backends};
  size_t at[R_COUNT];
  uint64_t end = 0;
  for (int k = 0; k < R_COUNT; k++) {
    uint64_t align = k == R_BACKENDS ? PTEC_BUFFER_ALIGNMENT : 8;
    end = (end + align - 1) & ~(align - 1);
    at[k] = (size_t)end;
    end += (uint64_t)count[k] * region_unit[k];
  }
  if (mem != NULL) {
    m->instructions = (ptec_instruction *)(void *)(mem + at[R_INSTRUCTIONS]);
    m->states = (ptec_value_state *)(void *)(mem + at[R_STATES]);
    m->shapes = (ptec_dynamic_shape *)(void *)(mem + at[R_SHAPES]);
    m->planned = (void **)(void *)(mem + at[R_PLANNED]);
    ptec_frame *f = m->frame = (ptec_frame *)(void *)(mem + at[R_FRAME]);
    f->values = (ptec_value *)(void *)(mem + at[R_VALUES]);
    f->tensors = (ptec_tensor *)(void *)(mem + at[R_TENSORS]);
    f->origin = (uint32_t *)(void *)(mem + at[R_ORIGIN]);
    f->args = (int32_t *)(void *)(mem + at[R_ARGS]);
    f->lists = (int32_t *)(void *)(mem + at[R_LISTS]);
    f->items = (int64_t *)(void *)(mem + at[R_ITEMS]);
    m->delegates = (ptec_delegate_instance *)(void *)(mem + at[R_DELEGATES]);
    m->inputs_set = mem + at[R_FLAGS];
  }
  return end;
}

/* Reads and verifies method `index` and sizes its method memory. */
static ptec_status plan_method(ptec_method *m, ptec_program *prog, size_t index, fb_reader *r,
                               plan_view *pv, method_layout *l) {
  ptec_status s = read_plan(m, prog, index, r, pv);
  if (s == PTEC_STATUS_OK) s = verify(m, r, pv, l);
  if (s != PTEC_STATUS_OK) return s;
  /* Bounded so that lay_out's counts fit 32 bits and its sums 64. */
  bool fits = ((uint64_t)l->list_args * l->moved_list) >> 28 == 0;
  uint64_t units = 0;
  for (uint32_t i = 0; s == PTEC_STATUS_OK && fits && i < m->num_delegates; i++) {
    const ptec_backend *backend;
    ptec_delegate_blob blob;
    size_t bytes = 0;
    s = delegate_memory(prog, r, pv, i, &backend, &blob, &bytes);
    /* Each backend's memory starts aligned: 16-byte units, one spare. */
    units += (uint64_t)bytes / PTEC_BUFFER_ALIGNMENT + 1;
    fits = units >> 31 == 0;
  }
  if (s != PTEC_STATUS_OK) return s;
  l->backends = (uint32_t)units;
  uint64_t total = lay_out(m, l, NULL);
  if (!fits || total > SIZE_MAX) return FAIL(PTEC_STATUS_BAD_SIZE, "method memory overflows");
  l->total = (size_t)total;
  return PTEC_STATUS_OK;
}

ptec_status ptec_program_method_requirements(ptec_program *prog, size_t method,
                                             ptec_method_requirements *req) {
  if (prog == NULL || req == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(req, 0, sizeof *req);
  ptec_method m;
  fb_reader r;
  plan_view pv;
  method_layout l;
  memset(&m, 0, sizeof m);
  ptec_status s = plan_method(&m, prog, method, &r, &pv, &l);
  if (s != PTEC_STATUS_OK) return s;
  req->method_memory_bytes = l.total;
  req->num_planned_buffers = m.num_planned;
  req->planned_buffer_sizes_raw = m.planned_sizes - 1;
  req->num_inputs = m.num_inputs;
  req->num_outputs = m.num_outputs;
  req->num_values = m.num_values;
  req->num_instructions = m.num_instructions;
  req->num_operators = pv.operators.len;
  req->num_delegates = m.num_delegates;
  return PTEC_STATUS_OK;
}

size_t ptec_method_planned_buffer_size(const ptec_method_requirements *req, size_t i) {
  if (req == NULL || i >= req->num_planned_buffers) return 0;
  int64_t n;
  memcpy(&n, &req->planned_buffer_sizes_raw[i + 1], sizeof n); /* entry 0 is reserved */
  return (size_t)n;
}

/* ------------------------------------------------------------------- init */

static ptec_status init_delegates(ptec_method *m, fb_reader *r, const plan_view *pv) {
  /* Backend memory follows the input flags, each 16-byte aligned. */
  uint8_t *at = m->inputs_set + m->num_inputs;
  for (uint32_t i = 0; i < m->num_delegates; i++) {
    ptec_delegate_instance *d = &m->delegates[i];
    ptec_delegate_blob blob;
    size_t bytes;
    ptec_status s = delegate_memory(m->program, r, pv, i, &d->backend, &blob, &bytes);
    if (s != PTEC_STATUS_OK) return s;
    at += (PTEC_BUFFER_ALIGNMENT - (uintptr_t)at % PTEC_BUFFER_ALIGNMENT) % PTEC_BUFFER_ALIGNMENT;
    s = d->backend->init(&blob, at, bytes, &d->handle, m->message, sizeof m->message);
    if (s != PTEC_STATUS_OK) return s;
    at += bytes;
  }
  return PTEC_STATUS_OK;
}

static ptec_status init_fail(ptec_method *m, ptec_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ptec_vformat(m->message, sizeof m->message, fmt, ap);
  va_end(ap);
  return s;
}

ptec_status ptec_method_init(ptec_method *m, ptec_program *prog, size_t index,
                             void *method_memory, size_t method_memory_bytes,
                             void *const *planned, const size_t *planned_sizes,
                             size_t num_planned) {
  if (m == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(m, 0, sizeof *m);
  if (prog == NULL || (method_memory == NULL && method_memory_bytes > 0) ||
      (num_planned > 0 && (planned == NULL || planned_sizes == NULL))) {
    return init_fail(m, PTEC_STATUS_INVALID_ARGUMENT, "null program, memory or planned buffers");
  }
  prog->message[0] = '\0';
  fb_reader r;
  plan_view pv;
  method_layout l;
  ptec_status s = plan_method(m, prog, index, &r, &pv, &l);
  if (s != PTEC_STATUS_OK) return init_fail(m, s, "%s", prog->message);
  if (method_memory_bytes < l.total) {
    return init_fail(m, PTEC_STATUS_OUT_OF_MEMORY,
                     "method memory of %zu bytes is too small: the method needs %zu",
                     method_memory_bytes, l.total);
  }
  if ((uintptr_t)method_memory % PTEC_BUFFER_ALIGNMENT != 0) {
    return init_fail(m, PTEC_STATUS_INVALID_ARGUMENT, "method memory must be %d-byte aligned",
                     PTEC_BUFFER_ALIGNMENT);
  }
  if (num_planned != m->num_planned) {
    return init_fail(m, PTEC_STATUS_INVALID_ARGUMENT,
                     "%zu planned buffers given, the method has %u",
                     num_planned, m->num_planned);
  }
  for (uint32_t i = 0; i < m->num_planned; i++) {
    int64_t declared = m->planned_sizes[i];
    if (planned_sizes[i] < (size_t)declared) {
      return init_fail(m, PTEC_STATUS_OUT_OF_MEMORY,
                       "planned buffer %u has %zu bytes, the method needs %lld", i,
                       planned_sizes[i], (long long)declared);
    }
    if (declared > 0 &&
        (planned[i] == NULL || (uintptr_t)planned[i] % PTEC_BUFFER_ALIGNMENT != 0)) {
      return init_fail(m, PTEC_STATUS_INVALID_ARGUMENT,
                       "planned buffer %u must be non-null and %d-byte aligned", i,
                       PTEC_BUFFER_ALIGNMENT);
    }
  }

  lay_out(m, &l, method_memory);
  if (m->num_planned > 0) memcpy(m->planned, planned, m->num_planned * sizeof(void *));
  s = verify(m, &r, &pv, &l);
  if (s == PTEC_STATUS_OK) s = init_delegates(m, &r, &pv);
  if (s == PTEC_STATUS_OK) s = ptec_prepare_kernels(m);
  if (s == PTEC_STATUS_OK) s = ptec_method_load_state(m); /* mutable buffers' initial data */
  if (s != PTEC_STATUS_OK) {
    if (m->message[0] == '\0') init_fail(m, s, "%s", prog->message);
    return s;
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
