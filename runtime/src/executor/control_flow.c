/*
 * Control flow: JumpFalseCall and MoveCall, as ExecuTorch emits torch.cond
 * (a jump over each branch, moves merging the branches' outputs) and ptec
 * emits torch.while_loop (a backward jump on a constant False; the carried
 * values are copied by copy_ kernel calls, so nothing here is loop-specific:
 * a jump to any instruction is checked once, at init, and the executor's
 * budget of executed instructions stops an endless loop). Its own
 * object: a firmware that runs no such program links
 * executor/without/no_control_flow.c instead and saves its code (about 400
 * bytes at -Os on the Cortex-M55).
 */
#include "core/message.h"
#include "executor/internal.h"

#define FAIL(...) ptec_program_fail(m->program, __VA_ARGS__)

ptec_status ptec_control_decode(ptec_method *m, fb_reader *r, const plan_view *pv,
                                uint32_t kind, int32_t a, int32_t b, method_layout *l) {
  /* A jump goes to an instruction or to the end of the chain (ExecuTorch's
   * emitter jumps there over a cond's last false branch). */
  if (kind == INSTR_JUMP_FALSE_CALL && (b < 0 || (uint32_t)b > pv->instructions.len)) {
    return FAIL(PTEC_STATUS_INDEX_OUT_OF_RANGE, "jump_false to %d out of range", b);
  }
  ptec_value v, w;
  ptec_tensor t;
  ptec_status s = ptec_value_read(m, r, (uint32_t)a, &v, &t, NULL);
  if (s != PTEC_STATUS_OK) return s;
  if (kind == INSTR_JUMP_FALSE_CALL) {
    if (v.tag != PTEC_VALUE_BOOL && !(v.tag == PTEC_VALUE_TENSOR && t.dtype == PTEC_DTYPE_BOOL)) {
      return FAIL(PTEC_STATUS_TYPE_MISMATCH, "jump condition is not a bool");
    }
    return PTEC_STATUS_OK;
  }
  s = ptec_value_read(m, r, (uint32_t)b, &w, &t, NULL);
  if (s != PTEC_STATUS_OK) return s;
  if (v.tag != w.tag) {
    return FAIL(PTEC_STATUS_TYPE_MISMATCH, "move between a %s and a %s",
                ptec_value_tag_name(v.tag), ptec_value_tag_name(w.tag));
  }
  ptec_value_state_note(m, l, (uint32_t)b);
  /* A list argument may then read as this list: frames make room for it. */
  if (ptec_value_is_list(v.tag) && v.count > l->moved_list) l->moved_list = v.count;
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

ptec_status ptec_control_step(ptec_method *m, fb_reader *r, const ptec_instruction *ins,
                              uint32_t *pc) {
  if (PTEC_INSTR_KIND(ins) == INSTR_MOVE_CALL) {
    /* The destination reads as the source from now on, as ExecuTorch's EValue copy. */
    ptec_value_state_of(m, PTEC_INSTR_B(ins))->alias = ptec_value_resolve(m, ins->a);
    return PTEC_STATUS_OK;
  }
  ptec_value v;
  ptec_tensor t;
  const ptec_cached_call *c = m->cached != NULL ? m->cached(m, ins, false) : NULL;
  const ptec_value *cond = c != NULL ? &c->values[c->args[0]] : NULL;
  if (cond == NULL) { /* not in the call cache: read it from the program */
    ptec_status s = ptec_value_read(m, r, ptec_value_resolve(m, ins->a), &v, &t, NULL);
    if (s != PTEC_STATUS_OK) return ptec_method_program_failed(m, s);
    cond = &v;
  }
  if (!condition_true(cond)) *pc = PTEC_INSTR_B(ins);
  return PTEC_STATUS_OK;
}
