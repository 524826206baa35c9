/*
 * Execution and I/O. Execute runs the decoded instructions; it allocates
 * nothing, and checks only what depends on run-time values.
 */
#include <string.h>

#include "core/message.h"
#include "executor/internal.h"
#include "kernels/kernel_table.h"

static void view_of(const ptec_tensor *t, ptec_tensor_view *out) {
  memset(out, 0, sizeof *out);
  out->data = t->data;
  out->nbytes = t->nbytes;
  out->dtype = t->dtype;
  out->rank = t->rank;
  for (uint32_t d = 0; d < t->rank; d++) {
    out->sizes[d] = t->sizes[d];
    out->dim_order[d] = t->dim_order[d];
  }
}

static ptec_status check_ready(const ptec_method *m) {
  if (m == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  return m->initialized ? PTEC_STATUS_OK : PTEC_STATUS_INVALID_STATE;
}

ptec_status ptec_method_input_info(const ptec_method *m, size_t i, ptec_tensor_view *info) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (info == NULL || i >= m->num_inputs) return PTEC_STATUS_INVALID_ARGUMENT;
  const ptec_value *v = &m->values[m->inputs[i]];
  if (v->tag != PTEC_VALUE_TENSOR) return PTEC_STATUS_TYPE_MISMATCH;
  view_of(v->u.tensor, info);
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_set_input(ptec_method *m, size_t i, const ptec_tensor_view *in) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  ptec_method *mm = m;
  if (in == NULL || i >= m->num_inputs) {
    ptec_format(mm->message, sizeof mm->message, "input %zu out of range (%u inputs)", i,
                m->num_inputs);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  const ptec_value *v = &m->values[m->inputs[i]];
  if (v->tag != PTEC_VALUE_TENSOR) {
    ptec_format(mm->message, sizeof mm->message,
                "input %zu is a %s baked into the program, not a tensor", i,
                v->tag == PTEC_VALUE_INT ? "int" : "non-tensor value");
    return PTEC_STATUS_TYPE_MISMATCH;
  }
  ptec_tensor *t = v->u.tensor;
  if (in->dtype != t->dtype) {
    ptec_format(mm->message, sizeof mm->message, "input %zu: dtype %s, the program expects %s",
                i, ptec_dtype_name(in->dtype), ptec_dtype_name(t->dtype));
    return PTEC_STATUS_TYPE_MISMATCH;
  }
  bool same = in->rank == (int32_t)t->rank;
  for (uint32_t d = 0; same && d < t->rank; d++) {
    same = in->sizes[d] == t->sizes[d] && in->dim_order[d] == t->dim_order[d];
  }
  if (!same) {
    char got[96], want[96];
    size_t n = 0, w = 0;
    for (int32_t d = 0; d < in->rank && d < PTEC_MAX_RANK; d++) {
      n += ptec_format(got + n, sizeof got - n, d ? ",%d" : "%d", in->sizes[d]);
    }
    for (uint32_t d = 0; d < t->rank; d++) {
      w += ptec_format(want + w, sizeof want - w, d ? ",%d" : "%d", t->sizes[d]);
    }
    ptec_format(mm->message, sizeof mm->message,
                "input %zu: shape [%s], the program expects [%s] (or a different dim order)", i,
                n ? got : "", w ? want : "");
    return PTEC_STATUS_SHAPE_MISMATCH;
  }
  if (in->nbytes < t->nbytes || (in->data == NULL && t->nbytes > 0)) {
    ptec_format(mm->message, sizeof mm->message, "input %zu: %zu bytes given, %zu needed", i,
                in->nbytes, t->nbytes);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  if (t->data != NULL) {
    if (t->nbytes > 0) memmove(t->data, in->data, t->nbytes); /* planned: copy in */
  } else {
    t->data = in->data; /* unplanned: use the caller's memory in place */
  }
  m->inputs_set[i] = 1;
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_get_output(const ptec_method *m, size_t i, ptec_tensor_view *out) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (out == NULL || i >= m->num_outputs) return PTEC_STATUS_INVALID_ARGUMENT;
  const ptec_value *v = &m->values[m->outputs[i]];
  if (v->tag != PTEC_VALUE_TENSOR) return PTEC_STATUS_TYPE_MISMATCH;
  view_of(v->u.tensor, out);
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

static ptec_status run_kernel(ptec_method *m, const ptec_instruction *ins, uint32_t pc) {
  const ptec_kernel_entry *k = ins->kernel;
  /* A tensor without memory is an unplanned one nobody bound: only a view's
   * output slot ('V'), which the kernel binds, may be one. */
  for (uint32_t a = 0; a < ins->num_args; a++) {
    if (k->signature[a] != 'V' && !has_memory(m->values, &m->values[ins->args[a]])) {
      ptec_format(m->message, sizeof m->message,
                  "%s: argument %u has no memory (an unplanned tensor nobody set)", k->name, a);
      return PTEC_STATUS_INVALID_STATE;
    }
  }
  ptec_kernel_context ctx = {
      .values = m->values,
      .args = ins->args,
      .num_args = ins->num_args,
      .op_name = k->name,
      .scratch = m->scratch,
      .scratch_size = m->scratch_size,
      .message = m->message,
      .message_capacity = sizeof m->message,
  };
  return k->fn(&ctx);
}

static const char *instruction_name(const ptec_instruction *ins) {
  switch (ins->kind) {
    case INSTR_KERNEL_CALL: return ins->kernel->name;
    case INSTR_DELEGATE_CALL: return "delegate";
    case INSTR_MOVE_CALL: return "move";
    case INSTR_JUMP_FALSE_CALL: return "jump_false";
    case INSTR_FREE_CALL: return "free";
    default: return "unknown";
  }
}

ptec_status ptec_method_set_hook(ptec_method *m, ptec_instruction_hook hook, void *context) {
  ptec_status s = check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  m->hook = hook;
  m->hook_context = context;
  return PTEC_STATUS_OK;
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
  uint32_t pc = 0;
  uint32_t executed = 0;
  while (pc < m->num_instructions) {
    if (++executed > PTEC_MAX_EXECUTED_INSTRUCTIONS) {
      ptec_format(m->message, sizeof m->message, "more than %u instructions executed",
                  PTEC_MAX_EXECUTED_INSTRUCTIONS);
      s = PTEC_STATUS_OUT_OF_RANGE;
      break;
    }
    const ptec_instruction *ins = &m->instructions[pc];
    uint32_t next = pc + 1;
    if (m->hook != NULL) m->hook(m->hook_context, pc, instruction_name(ins), false);
    switch (ins->kind) {
      case INSTR_KERNEL_CALL:
        s = run_kernel(m, ins, pc);
        break;
      case INSTR_DELEGATE_CALL: {
        const ptec_delegate_instance *d = &m->delegates[ins->a];
        s = d->backend->execute(d->handle, m->values, ins->args, ins->num_args, m->message,
                                sizeof m->message);
        break;
      }
      case INSTR_MOVE_CALL:
        m->values[ins->b] = m->values[ins->a];
        break;
      case INSTR_JUMP_FALSE_CALL:
        if (!condition_true(&m->values[ins->a])) next = ins->b;
        break;
      case INSTR_FREE_CALL:
        break; /* memory is planned; nothing to release */
      default:
        s = PTEC_STATUS_INTERNAL;
        break;
    }
    if (m->hook != NULL) m->hook(m->hook_context, pc, instruction_name(ins), true);
    if (s != PTEC_STATUS_OK) {
      m->failed_instruction = pc;
      char detail[PTEC_MESSAGE_CAPACITY];
      memcpy(detail, m->message, sizeof detail);
      ptec_format(m->message, sizeof m->message, "instruction %u: %s", pc, detail);
      break;
    }
    pc = next;
  }
  /* Planned memory of inputs may be reused by later tensors: inputs must be
   * set again before the next execute. */
  for (uint32_t k = 0; k < m->num_inputs; k++) {
    if (m->values[m->inputs[k]].tag == PTEC_VALUE_TENSOR) m->inputs_set[k] = 0;
  }
  return s;
}
