/*
 * Execution and I/O. Execute runs the decoded instructions, decoding each
 * call's arguments from the program into the frame; it allocates nothing,
 * and checks only what depends on run-time values.
 */
#include <string.h>

#include "core/message.h"
#include "executor/internal.h"
#include "kernels/kernel_table.h"

static ptec_status check_ready(const ptec_method *m) {
  if (m == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  return m->initialized ? PTEC_STATUS_OK : PTEC_STATUS_INVALID_STATE;
}

/* A read from the program failed (it changed since init): its message. */
static ptec_status program_failed(ptec_method *m, ptec_status s) {
  memcpy(m->message, m->program->message, sizeof m->message);
  return s;
}

/* Value `index` (checked) as a tensor; after init, reads cannot fail unless
 * the program changed. */
static ptec_status value_tensor(const ptec_method *m, uint32_t index, ptec_value *v,
                                ptec_tensor *t) {
  if (index >= m->num_values) return PTEC_STATUS_INVALID_ARGUMENT;
  fb_reader r;
  ptec_method *mm = (ptec_method *)m;
  ptec_program_reader(m->program, &r);
  ptec_status s = ptec_value_read(mm, &r, ptec_value_resolve(m, index), v, t, NULL);
  if (s != PTEC_STATUS_OK) return program_failed(mm, s);
  return v->tag == PTEC_VALUE_TENSOR ? PTEC_STATUS_OK : PTEC_STATUS_TYPE_MISMATCH;
}

/* Input or output `i` (index checked) as a tensor. */
static ptec_status io_tensor(const ptec_method *m, const int32_t *io, uint32_t n, size_t i,
                             ptec_value *v, ptec_tensor *t) {
  if (i >= n) return PTEC_STATUS_INVALID_ARGUMENT;
  return value_tensor(m, (uint32_t)io[i], v, t);
}

static void fill_view(const ptec_tensor *t, ptec_tensor_view *out) {
  memset(out, 0, sizeof *out);
  out->data = t->data;
  out->nbytes = t->nbytes;
  out->dtype = t->dtype;
  out->rank = t->rank;
  memcpy(out->sizes, t->sizes, t->rank * sizeof t->sizes[0]);
  memcpy(out->dim_order, t->dim_order, t->rank);
}

static ptec_status view_of(const ptec_method *m, bool output, size_t i, ptec_tensor_view *out) {
  ptec_value v;
  ptec_tensor t;
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (out == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  s = io_tensor(m, output ? m->outputs : m->inputs, output ? m->num_outputs : m->num_inputs, i,
                &v, &t);
  if (s != PTEC_STATUS_OK) return s;
  fill_view(&t, out);
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_value_view(const ptec_method *m, size_t value, ptec_tensor_view *out) {
  ptec_value v;
  ptec_tensor t;
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (out == NULL || value > UINT32_MAX) return PTEC_STATUS_INVALID_ARGUMENT;
  s = value_tensor(m, (uint32_t)value, &v, &t);
  if (s != PTEC_STATUS_OK) return s;
  fill_view(&t, out);
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_input_info(const ptec_method *m, size_t i, ptec_tensor_view *info) {
  return view_of(m, false, i, info);
}

ptec_status ptec_method_get_output(const ptec_method *m, size_t i, ptec_tensor_view *out) {
  return view_of(m, true, i, out);
}

ptec_status ptec_method_set_input(ptec_method *m, size_t i, const ptec_tensor_view *in) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (in == NULL || i >= m->num_inputs) {
    ptec_format(m->message, sizeof m->message, "input %zu out of range (%u inputs)", i,
                m->num_inputs);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  ptec_value v;
  ptec_tensor t;
  s = io_tensor(m, m->inputs, m->num_inputs, i, &v, &t);
  if (s == PTEC_STATUS_TYPE_MISMATCH) {
    ptec_format(m->message, sizeof m->message,
                "input %zu is a value baked into the program, not a tensor", i);
  }
  if (s != PTEC_STATUS_OK) return s;
  if (in->dtype != t.dtype) {
    ptec_format(m->message, sizeof m->message, "input %zu: dtype %s, the program expects %s", i,
                ptec_dtype_name(in->dtype), ptec_dtype_name(t.dtype));
    return PTEC_STATUS_TYPE_MISMATCH;
  }
  bool same = in->rank == (int32_t)t.rank;
  for (uint32_t d = 0; same && d < t.rank; d++) {
    same = in->sizes[d] == t.sizes[d] && in->dim_order[d] == t.dim_order[d];
  }
  if (!same) {
    ptec_format(m->message, sizeof m->message,
                "input %zu: shape [%v], the program expects [%v] (or a different dim order)", i,
                in->sizes, in->rank < PTEC_MAX_RANK ? in->rank : PTEC_MAX_RANK, t.sizes,
                (int)t.rank);
    return PTEC_STATUS_SHAPE_MISMATCH;
  }
  if (in->nbytes < t.nbytes || (in->data == NULL && t.nbytes > 0)) {
    ptec_format(m->message, sizeof m->message, "input %zu: %zu bytes given, %zu needed", i,
                in->nbytes, t.nbytes);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  ptec_value_state *e = ptec_value_state_of(m, ptec_value_resolve(m, (uint32_t)m->inputs[i]));
  if (t.data != NULL) {
    if (t.nbytes > 0) memmove(t.data, in->data, t.nbytes); /* planned: copy in */
  } else if (e != NULL) {
    e->data = in->data; /* unplanned: use the caller's memory in place */
  }
  m->inputs_set[i] = 1;
  return PTEC_STATUS_OK;
}

/* Input `i` of the program, as read (index checked). */
static ptec_status input_value(const ptec_method *m, size_t i, ptec_value *v) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (i >= m->num_inputs) return PTEC_STATUS_INVALID_ARGUMENT;
  ptec_tensor t;
  fb_reader r;
  ptec_program_reader(m->program, &r);
  s = ptec_value_read((ptec_method *)m, &r, ptec_value_resolve(m, (uint32_t)m->inputs[i]), v,
                      &t, NULL);
  return s != PTEC_STATUS_OK ? program_failed((ptec_method *)m, s) : PTEC_STATUS_OK;
}

static int32_t input_kind_of(const ptec_value *v, ptec_scalar *value) {
  memset(value, 0, sizeof *value);
  switch (v->tag) {
    case PTEC_VALUE_INT: value->i = v->u.i; value->kind = PTEC_INPUT_INT; break;
    case PTEC_VALUE_BOOL: value->i = v->u.b; value->kind = PTEC_INPUT_BOOL; break;
    case PTEC_VALUE_DOUBLE: value->d = v->u.d; value->kind = PTEC_INPUT_DOUBLE; break;
    case PTEC_VALUE_TENSOR: return PTEC_INPUT_TENSOR;
    default: return -1; /* another value: nothing a caller can set */
  }
  return value->kind;
}

ptec_status ptec_method_input_kind(const ptec_method *m, size_t i, int32_t *kind,
                                   ptec_scalar *value) {
  ptec_value v;
  ptec_scalar ignored;
  if (kind == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  ptec_status s = input_value(m, i, &v);
  if (s != PTEC_STATUS_OK) return s;
  *kind = input_kind_of(&v, value != NULL ? value : &ignored);
  return *kind < 0 ? PTEC_STATUS_TYPE_MISMATCH : PTEC_STATUS_OK;
}

static const char *const input_kind_names[] = {"a tensor", "an int", "a float", "a bool"};

ptec_status ptec_method_set_input_scalar(ptec_method *m, size_t i, const ptec_scalar *in) {
  ptec_value v;
  ptec_scalar want;
  ptec_status s = input_value(m, i, &v);
  if (s != PTEC_STATUS_OK || in == NULL) {
    if (m != NULL && s != PTEC_STATUS_INVALID_STATE)
      ptec_format(m->message, sizeof m->message, "input %zu out of range (%u inputs)", i,
                  m->num_inputs);
    return s != PTEC_STATUS_OK ? s : PTEC_STATUS_INVALID_ARGUMENT;
  }
  int32_t kind = input_kind_of(&v, &want);
  if (kind <= PTEC_INPUT_TENSOR || in->kind != kind) {
    bool known = in->kind >= PTEC_INPUT_INT && in->kind <= PTEC_INPUT_BOOL;
    ptec_format(m->message, sizeof m->message, "input %zu is %s, not %s", i,
                kind >= 0 ? input_kind_names[kind] : "not an input value",
                known ? input_kind_names[in->kind] : "a scalar of unknown kind");
    return PTEC_STATUS_TYPE_MISMATCH;
  }
  bool same = kind == PTEC_INPUT_DOUBLE
                  ? (in->d == want.d || (in->d != in->d && want.d != want.d))
                  : (kind == PTEC_INPUT_BOOL ? (in->i != 0) == (want.i != 0) : in->i == want.i);
  if (!same) {
    if (kind == PTEC_INPUT_DOUBLE) /* no %g without stdio: the values are not printed */
      ptec_format(m->message, sizeof m->message,
                  "input %zu: the program was compiled for another float value "
                  "(scalar inputs are fixed at compile time)", i);
    else
      ptec_format(m->message, sizeof m->message,
                  "input %zu: the program was compiled for the value %lld, not %lld "
                  "(scalar inputs are fixed at compile time)", i, (long long)want.i,
                  (long long)in->i);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  return PTEC_STATUS_OK;
}

/* A JumpFalse condition: a bool, or a bool tensor that is false if any
 * element is false (ExecuTorch's rule). */
static bool condition_true(const ptec_value *v) {
  if (v->tag == PTEC_VALUE_BOOL) return v->u.b;
  const ptec_tensor *t = v->u.tensor;
  const uint8_t *p = t->data;
  if (p == NULL) return false;
  for (size_t k = 0; k < t->numel; k++) {
    if (!p[k]) return false;
  }
  return true;
}

/* True if the tensor (or every tensor of a list) has memory. */
static bool has_memory(const ptec_value *values, const ptec_value *v) {
  if (v->tag == PTEC_VALUE_TENSOR) return v->u.tensor->data != NULL || v->u.tensor->nbytes == 0;
  if (v->tag == PTEC_VALUE_TENSOR_LIST || v->tag == PTEC_VALUE_OPTIONAL_TENSOR_LIST) {
    for (uint32_t k = 0; k < v->count; k++) {
      int32_t j = v->u.tensor_list[k];
      if (j >= 0 && !has_memory(values, &values[j])) return false;
    }
  }
  return true;
}

static const char *instruction_name(const ptec_instruction *ins) {
  uint32_t kind = PTEC_INSTR_KIND(ins);
  if (kind == INSTR_KERNEL_CALL) return ptec_kernel_table[PTEC_INSTR_B(ins)].name;
  return ptec_instruction_kind_name(kind);
}

ptec_status ptec_method_set_delegate_hook(ptec_method *m, ptec_delegate_hook hook,
                                          void *context) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  for (uint32_t k = 0; k < m->num_delegates; k++) {
    const ptec_delegate_instance *d = &m->delegates[k];
    if (d->backend != NULL && d->backend->set_hook != NULL) {
      d->backend->set_hook(d->handle, hook, context, k);
    }
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_set_hook(ptec_method *m, ptec_instruction_hook hook, void *context) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  m->hook = hook;
  m->hook_context = context;
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_set_parallel(ptec_method *m, const struct ptec_parallel_for *parallel) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  m->parallel = parallel;
  return PTEC_STATUS_OK;
}

ptec_status ptec_call(ptec_method *m, fb_reader *r, const ptec_instruction *ins, bool prepare) {
  uint32_t b = PTEC_INSTR_B(ins);
  bool kernel = PTEC_INSTR_KIND(ins) == INSTR_KERNEL_CALL;
  const ptec_kernel_entry *k = kernel ? &ptec_kernel_table[b] : NULL;
  if (prepare && (k == NULL || k->prepare == NULL)) return PTEC_STATUS_OK;
  ptec_kernel_context ctx = {
      .op_name = kernel ? k->name : "delegate",
      .message = m->message,
      .message_capacity = sizeof m->message,
      .parallel = m->parallel,
  };
  ptec_status s = ptec_frame_load(m, r, ins, &ctx);
  if (s != PTEC_STATUS_OK) return program_failed(m, s);
  if (prepare) return k->prepare(&ctx);
  if (!kernel) {
    const ptec_delegate_instance *d = &m->delegates[b];
    return d->backend->execute(d->handle, ctx.values, ctx.args, ctx.num_args, m->message,
                               sizeof m->message);
  }
  /* A tensor without memory is an unplanned one nobody bound: only a view's
   * output slot ('V'), which the kernel binds, may be one. */
  for (uint32_t a = 0; a < ctx.num_args; a++) {
    if (k->signature[a] != 'V' && !has_memory(ctx.values, &ctx.values[ctx.args[a]])) {
      ptec_format(m->message, sizeof m->message,
                  "%s: argument %u has no memory (an unplanned tensor nobody set)", k->name, a);
      return PTEC_STATUS_INVALID_STATE;
    }
  }
  s = k->fn(&ctx);
  ptec_frame_store(m); /* a view's output keeps its binding */
  return s;
}

/* Runs instruction `pc`; sets *pc to the next one. */
static ptec_status step(ptec_method *m, fb_reader *r, uint32_t *pc) {
  const ptec_instruction *ins = &m->instructions[*pc];
  uint32_t kind = PTEC_INSTR_KIND(ins), b = PTEC_INSTR_B(ins);
  ptec_status s = PTEC_STATUS_OK;
  *pc += 1;
  if (kind <= INSTR_DELEGATE_CALL) return ptec_call(m, r, ins, false);
  if (kind == INSTR_MOVE_CALL) {
    ptec_value_state_of(m, b)->alias = ptec_value_resolve(m, ins->a);
  } else if (kind == INSTR_JUMP_FALSE_CALL) {
    ptec_value v;
    ptec_tensor t;
    s = ptec_value_read(m, r, ptec_value_resolve(m, ins->a), &v, &t, NULL);
    if (s != PTEC_STATUS_OK) return program_failed(m, s);
    if (!condition_true(&v)) *pc = b;
  } /* free: memory is planned; nothing to release */
  return s;
}

ptec_status ptec_method_execute(ptec_method *m) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  m->message[0] = '\0';
  for (uint32_t k = 0; k < m->num_inputs; k++) {
    if (!m->inputs_set[k]) {
      ptec_format(m->message, sizeof m->message, "input %u was not set", k);
      return PTEC_STATUS_INVALID_STATE;
    }
  }
  fb_reader r;
  ptec_program_reader(m->program, &r);
  uint32_t pc = 0;
  uint32_t executed = 0;
  while (pc < m->num_instructions) {
    if (++executed > PTEC_MAX_EXECUTED_INSTRUCTIONS) {
      ptec_format(m->message, sizeof m->message, "more than %u instructions executed",
                  PTEC_MAX_EXECUTED_INSTRUCTIONS);
      s = PTEC_STATUS_OUT_OF_RANGE;
      break;
    }
    uint32_t at = pc;
    const char *name = instruction_name(&m->instructions[at]);
    if (m->hook != NULL) m->hook(m->hook_context, at, name, false);
    s = step(m, &r, &pc);
    if (m->hook != NULL) m->hook(m->hook_context, at, name, true);
    if (s != PTEC_STATUS_OK) {
      m->failed_instruction = at;
      ptec_prefix_message(m->message, at);
      break;
    }
  }
  /* Planned memory of inputs may be reused by later tensors: inputs must be
   * set again before the next execute. */
  for (uint32_t k = 0; k < m->num_inputs; k++) {
    if (m->inputs_set[k] == 1) m->inputs_set[k] = 0;
  }
  return s;
}
