/*
 * Instructions: every index is checked, every kernel call is resolved to a
 * kernel of this build, and its arguments are checked against the kernel's
 * signature, so kernels can rely on argument tags. When a call runs, its
 * arguments are decoded from the program into the frame.
 */
#include <string.h>

#include "core/message.h"
#include "executor/internal.h"
#include "kernels/kernel_table.h"

#define FAIL(...) ptec_program_fail(m->program, __VA_ARGS__)

/* Every call kind keeps its index (operator, delegate, move source,
 * condition, freed value) in field 0 and its args or second index in 1. */
_Static_assert(KERNEL_CALL_OP_INDEX == 0 && DELEGATE_CALL_DELEGATE_INDEX == 0 &&
                   MOVE_CALL_FROM == 0 && JUMP_FALSE_COND_VALUE_INDEX == 0 &&
                   FREE_CALL_VALUE_INDEX == 0,
               "field 0");
_Static_assert(KERNEL_CALL_ARGS == 1 && DELEGATE_CALL_ARGS == 1 && MOVE_CALL_TO == 1 &&
                   JUMP_FALSE_DESTINATION == 1,
               "field 1");

/* Signature codes (kernel.h) and the value tags each accepts. */
#define TAG(t) (1u << PTEC_VALUE_##t)
static const char codes[] = "TOVWtiIdDsSbLlFBXYzZf";
static const uint16_t accepts[] = {
    TAG(TENSOR), TAG(TENSOR), TAG(TENSOR), TAG(TENSOR_LIST), TAG(TENSOR) | TAG(NONE), TAG(INT),
    TAG(INT) | TAG(NONE), TAG(DOUBLE) | TAG(INT), TAG(DOUBLE) | TAG(INT) | TAG(NONE),
    TAG(INT) | TAG(DOUBLE) | TAG(BOOL), TAG(INT) | TAG(DOUBLE) | TAG(BOOL) | TAG(NONE),
    TAG(BOOL), TAG(INT_LIST), TAG(INT_LIST) | TAG(NONE), TAG(DOUBLE_LIST), TAG(BOOL_LIST),
    TAG(TENSOR_LIST), TAG(OPTIONAL_TENSOR_LIST), TAG(STRING), TAG(STRING) | TAG(NONE),
    TAG(DOUBLE_LIST) | TAG(NONE)};
_Static_assert(sizeof accepts / sizeof accepts[0] == sizeof codes - 1, "one mask per code");

const char *ptec_instruction_kind_name(uint32_t kind) {
  static const char *const names[] = {"unknown", "kernel",     "delegate",
                                      "move",    "jump_false", "free"};
  return names[kind < INSTR_COUNT_ ? kind : 0];
}

static uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* The kernel of operator `op` ("name.overload" in the kernel table). */
static ptec_status find_kernel(ptec_method *m, fb_reader *r, const plan_view *pv, uint32_t op,
                               const ptec_kernel_entry **kernel) {
  fb_table table;
  uint32_t name_len, overload_len;
  fb_at(r, &pv->operators, op, &table);
  const char *name = fb_str(r, &table, OPERATOR_NAME, &name_len);
  const char *overload = fb_str(r, &table, OPERATOR_OVERLOAD, &overload_len);
  if (r->status != PTEC_STATUS_OK) return ptec_program_fb_fail(m->program, r, "operator");
  if (name == NULL) return FAIL(PTEC_STATUS_MALFORMED, "operator %u has no name", op);
  /* The qualified name, in the method's message buffer (free until init
   * ends); one that does not fit (or holds a NUL) names no kernel. */
  char *qualified = m->message;
  size_t len = ptec_format(qualified, sizeof m->message, overload_len ? "%s.%s" : "%s", name,
                           overload);
  *kernel = NULL;
  for (size_t k = 0; len == name_len + (overload_len ? overload_len + 1 : 0) &&
                     k < ptec_kernel_table_size; k++) {
    if (strcmp(ptec_kernel_table[k].name, qualified) == 0) *kernel = &ptec_kernel_table[k];
  }
  ptec_status s = PTEC_STATUS_OK;
  if (*kernel == NULL) {
    s = FAIL(PTEC_STATUS_OPERATOR_MISSING, "operator %s is not in this build", qualified);
  }
  qualified[0] = '\0';
  return s;
}

/* A kernel or delegate call: indices, kernel, argument tags against the
 * kernel's signature, outputs never constants of the program (which may sit
 * in read-only flash); and the frame it needs. */
static ptec_status decode_call(ptec_method *m, fb_reader *r, const plan_view *pv, uint32_t kind,
                               int32_t index, const fb_vector *args, ptec_instruction *ins,
                               method_layout *l) {
  bool kernel_call = kind == INSTR_KERNEL_CALL;
  uint32_t count = kernel_call ? pv->operators.len : pv->delegates.len;
  const char *what = kernel_call ? "operator" : "delegate";
  if (index < 0 || (uint32_t)index >= count) {
    return FAIL(PTEC_STATUS_INDEX_OUT_OF_RANGE, "%s index %d out of range (%u %ss)", what, index,
                count, what);
  }
  const int32_t *idx = (const int32_t *)(const void *)(r->buf + args->data);
  const ptec_kernel_entry *kernel = NULL;
  const char *sig = NULL;
  if (kernel_call) {
    ptec_status s = find_kernel(m, r, pv, (uint32_t)index, &kernel);
    if (s != PTEC_STATUS_OK) return s;
    sig = kernel->signature;
    if (args->len != strlen(sig)) {
      return FAIL(PTEC_STATUS_TYPE_MISMATCH, "%s: %u arguments, the kernel takes %zu",
                  kernel->name, args->len, strlen(sig));
    }
    index = (int32_t)(kernel - ptec_kernel_table);
  }
  uint32_t slots = args->len, lists = 0, items = 0, list_args = 0;
  for (uint32_t k = 0; k < args->len; k++) {
    ptec_value v;
    ptec_tensor t;
    ptec_status s = ptec_value_read(m, r, (uint32_t)idx[k], &v, &t, NULL);
    if (s != PTEC_STATUS_OK) return s;
    bool list = ptec_value_is_list(v.tag);
    list_args += list;
    if (v.tag == PTEC_VALUE_INT_LIST) items += v.count;
    else if (list) lists += v.count;
    if (!kernel_call) continue;
    char c = sig[k];
    uint32_t accepted = 0;
    for (uint32_t j = 0; codes[j] != '\0'; j++) {
      if (codes[j] == c) accepted = accepts[j];
    }
    if ((accepted & (1u << v.tag)) == 0) {
      return FAIL(PTEC_STATUS_TYPE_MISMATCH, "%s: argument %u is a %s, expected '%c'",
                  kernel->name, k, ptec_value_tag_name(v.tag), c);
    }
    if (c == 'V') ptec_value_state_note(m, l, (uint32_t)idx[k]);
    /* Kernels write to their out arguments and the return slot. */
    if (c != 'O' && c != 'W' && k + 1 != args->len) continue;
    bool constant = v.tag == PTEC_VALUE_TENSOR && t.is_constant;
    for (uint32_t j = 0; v.tag == PTEC_VALUE_TENSOR_LIST && j < v.count; j++) {
      ptec_value item;
      s = ptec_value_read(m, r, (uint32_t)v.u.tensor_list[j], &item, &t, NULL);
      if (s != PTEC_STATUS_OK) return s;
      constant |= t.is_constant;
    }
    if (constant) {
      return FAIL(PTEC_STATUS_TYPE_MISMATCH, "%s: output argument %u is a constant of the program",
                  kernel->name, k);
    }
  }
  l->slots = max_u32(l->slots, slots + lists);
  l->lists = max_u32(l->lists, lists);
  l->items = max_u32(l->items, items);
  l->list_args = max_u32(l->list_args, list_args);
  ins->a = args->data - 4;
  ins->b = kind << PTEC_INSTR_SHIFT | (uint32_t)index;
  return PTEC_STATUS_OK;
}

ptec_status ptec_decode_instruction(ptec_method *m, fb_reader *r, const plan_view *pv,
                                    uint32_t i, ptec_instruction *ins, method_layout *l) {
  fb_table instr, call;
  fb_vector args;
  fb_at(r, &pv->instructions, i, &instr);
  uint32_t kind = (uint8_t)fb_get(r, &instr, INSTRUCTION_ARGS_TYPE, 1);
  bool present = fb_tab(r, &instr, INSTRUCTION_ARGS, &call);
  if (r->status == PTEC_STATUS_OK && (kind == INSTR_NONE || kind >= INSTR_COUNT_)) {
    return FAIL(PTEC_STATUS_BAD_ENUM, "unknown kind %u", kind);
  }
  if (r->status == PTEC_STATUS_OK && !present) {
    return FAIL(PTEC_STATUS_MALFORMED, "no arguments");
  }
  int32_t a = (int32_t)fb_get(r, &call, 0, 4);
  int32_t b = 0;
  if (kind <= INSTR_DELEGATE_CALL) fb_vec(r, &call, 1, 4, &args);
  else if (kind != INSTR_FREE_CALL) b = (int32_t)fb_get(r, &call, 1, 4);
  if (r->status != PTEC_STATUS_OK) {
    return FAIL(r->status, "%s (byte %zu)", r->reason, r->where);
  }
  if (kind <= INSTR_DELEGATE_CALL) return decode_call(m, r, pv, kind, a, &args, ins, l);
  if (kind == INSTR_FREE_CALL) {
    ptec_value v;
    ptec_tensor t;
    ptec_status s = ptec_value_read(m, r, (uint32_t)a, &v, &t, NULL);
    if (s != PTEC_STATUS_OK) return s;
    if (v.tag != PTEC_VALUE_TENSOR) {
      return FAIL(PTEC_STATUS_INDEX_OUT_OF_RANGE, "free of value %d, not a tensor", a);
    }
  } else {
    /* Move and jump_false: control_flow.c, or refused where it is not linked. */
    ptec_status s = ptec_control_decode(m, r, pv, kind, a, b, l);
    if (s != PTEC_STATUS_OK) return s;
  }
  ins->a = (uint32_t)a;
  ins->b = kind << PTEC_INSTR_SHIFT | (uint32_t)b;
  return PTEC_STATUS_OK;
}

/* Decodes value `index` into a slot of the frame (one slot per value), its
 * tensor list items too. */
static ptec_status load_slot(ptec_method *m, fb_reader *r, int32_t index, int32_t *slot) {
  ptec_frame *f = m->frame;
  uint32_t i = ptec_value_resolve(m, (uint32_t)index);
  uint32_t s;
  for (s = 0; s < f->used; s++) {
    if (f->origin[s] == i) {
      *slot = (int32_t)s;
      return PTEC_STATUS_OK;
    }
  }
  *slot = (int32_t)s;
  f->used++;
  f->origin[s] = i;
  ptec_value *v = &f->values[s];
  ptec_status st = ptec_value_read(m, r, i, v, &f->tensors[s], f->items + f->items_used);
  if (st != PTEC_STATUS_OK || !ptec_value_is_list(v->tag)) return st;
  if (v->tag == PTEC_VALUE_INT_LIST) {
    f->items_used += v->count;
    return PTEC_STATUS_OK;
  }
  const int32_t *in = v->u.tensor_list;
  int32_t *out = f->lists + f->lists_used;
  f->lists_used += v->count;
  v->u.tensor_list = out;
  for (uint32_t k = 0; k < v->count; k++) {
    out[k] = -1; /* None, in an optional list */
    if (in[k] >= 0) st = load_slot(m, r, in[k], &out[k]);
    if (st != PTEC_STATUS_OK) return st;
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_frame_load_args(ptec_method *m, fb_reader *r, const int32_t *args, uint32_t n,
                                 ptec_kernel_context *ctx) {
  ptec_frame *f = m->frame;
  f->used = f->lists_used = f->items_used = 0;
  for (uint32_t k = 0; k < n; k++) {
    ptec_status s = load_slot(m, r, args[k], &f->args[k]);
    if (s != PTEC_STATUS_OK) return s;
  }
  ctx->values = f->values;
  ctx->args = f->args;
  ctx->num_args = n;
  return PTEC_STATUS_OK;
}

void ptec_frame_store(ptec_method *m) {
  const ptec_frame *f = m->frame;
  for (uint32_t s = 0; s < f->used; s++) {
    ptec_value_state *e = ptec_value_state_of(m, f->origin[s]);
    if (e != NULL && f->values[s].tag == PTEC_VALUE_TENSOR) e->data = f->tensors[s].data;
  }
}

void ptec_prefix_message(char *message, uint32_t instruction) {
  char head[32];
  size_t n = ptec_format(head, sizeof head, "instruction %u: ", instruction);
  size_t len = strlen(message);
  if (len > PTEC_MESSAGE_CAPACITY - 1 - n) len = PTEC_MESSAGE_CAPACITY - 1 - n;
  memmove(message + n, message, len);
  memcpy(message, head, n);
  message[n + len] = '\0';
}

ptec_status ptec_prepare_kernels(ptec_method *m) {
  fb_reader r;
  ptec_program_reader(m->program, &r);
  for (uint32_t i = 0; i < m->num_instructions; i++) {
    ptec_status s = ptec_call(m, &r, &m->instructions[i], true);
    if (s != PTEC_STATUS_OK) {
      ptec_prefix_message(m->message, i);
      return s;
    }
  }
  return PTEC_STATUS_OK;
}
