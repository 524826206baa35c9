/*
 * Execution and I/O. Execute runs the decoded instructions, decoding each
 * call's arguments from the program into the frame; it allocates nothing,
 * and checks only what depends on run-time values.
 */
#include <string.h>

#include "core/message.h"
#include "executor/internal.h"
#include "kernels/kernel_table.h"

/* Input or output `i` (index checked) as a tensor. */
static ptec_status io_tensor(const ptec_method *m, const int32_t *io, uint32_t n, size_t i,
                             ptec_value *v, ptec_tensor *t) {
  if (i >= n) return PTEC_STATUS_INVALID_ARGUMENT;
  return ptec_method_value_tensor(m, (uint32_t)io[i], v, t);
}

static ptec_status view_of(const ptec_method *m, bool output, size_t i, ptec_tensor_view *out) {
  ptec_value v;
  ptec_tensor t;
  ptec_status s = ptec_method_check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (out == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  s = io_tensor(m, output ? m->outputs : m->inputs, output ? m->num_outputs : m->num_inputs, i,
                &v, &t);
  if (s != PTEC_STATUS_OK) return s;
  ptec_fill_view(&t, out);
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_input_info(const ptec_method *m, size_t i, ptec_tensor_view *info) {
  return view_of(m, false, i, info);
}

ptec_status ptec_method_get_output(const ptec_method *m, size_t i, ptec_tensor_view *out) {
  return view_of(m, true, i, out);
}

/* A DYNAMIC_BOUND input takes the caller's sizes when its dim order is the
 * program's and its bytes fit the planned bound; false (unchanged) if not. */
static bool resize_input(const ptec_tensor_view *in, ptec_tensor *t) {
  size_t numel = 1, bytes;
  for (uint32_t d = 0; d < t->rank; d++) {
    if (in->dim_order[d] != t->dim_order[d] || in->sizes[d] < 0 ||
        !ptec_mul_size(numel, (size_t)in->sizes[d], &numel)) {
      return false;
    }
  }
  if (!ptec_mul_size(numel, ptec_dtype_size(t->dtype), &bytes) || bytes > t->capacity) {
    return false;
  }
  memcpy(t->dynamic_sizes, in->sizes, t->rank * sizeof in->sizes[0]);
  t->sizes = t->dynamic_sizes;
  t->numel = numel;
  t->nbytes = bytes;
  return true;
}

ptec_status ptec_method_set_input(ptec_method *m, size_t i, const ptec_tensor_view *in) {
  ptec_status s = ptec_method_check_ready(m);
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
  if (!same && in->rank == (int32_t)t.rank && t.dynamic_sizes != NULL) {
    same = resize_input(in, &t); /* a DYNAMIC_BOUND input: any shape within its bound */
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

ptec_status ptec_method_set_hook(ptec_method *m, ptec_instruction_hook hook, void *context) {
  ptec_status s = ptec_method_check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  m->hook = hook;
  m->hook_context = context;
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_set_parallel(ptec_method *m, const struct ptec_parallel_for *parallel) {
  ptec_status s = ptec_method_check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  m->parallel = parallel;
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_set_cpu_features(ptec_method *m, uint32_t features) {
  ptec_status s = ptec_method_check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  m->cpu_features = features;
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
      .cpu_features = m->cpu_features,
  };
  /* From the call cache if it has this call; else decoded from the program. */
  const ptec_cached_call *c = m->cached != NULL && !prepare ? m->cached(m, ins, false) : NULL;
  if (c != NULL) {
    ctx.values = c->values;
    ctx.args = c->args;
    ctx.num_args = c->num_args;
  } else {
    uint32_t n;
    const int32_t *args = ptec_instruction_args(m, ins, &n);
    ptec_status s = ptec_frame_load_args(m, r, args, n, &ctx);
    if (s != PTEC_STATUS_OK) return ptec_method_program_failed(m, s);
  }
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
  ptec_status s = k->fn(&ctx);
  /* a view's output keeps its binding */
  if (c != NULL) m->cached(m, ins, true);
  else ptec_frame_store(m);
  return s;
}

/* Runs instruction `pc`; sets *pc to the next one. */
static ptec_status step(ptec_method *m, fb_reader *r, uint32_t *pc) {
  const ptec_instruction *ins = &m->instructions[*pc];
  uint32_t kind = PTEC_INSTR_KIND(ins);
  *pc += 1;
  if (kind <= INSTR_DELEGATE_CALL) return ptec_call(m, r, ins, false);
  if (kind != INSTR_FREE_CALL) return ptec_control_step(m, r, ins, pc);
  return PTEC_STATUS_OK; /* free: memory is planned; nothing to release */
}

ptec_status ptec_method_execute(ptec_method *m) {
  ptec_status s = ptec_method_check_ready(m);
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
