/*
 * Instructions: every index is checked, every kernel call is resolved to a
 * kernel of this build, and its arguments are checked against the kernel's
 * signature, so kernels can rely on argument tags.
 */
#include <string.h>

#include "core/message.h"
#include "executor/instructions.h"
#include "kernels/kernel_table.h"

static ptec_status fb_fail(ptec_program *prog, ptec_status status, const fb_reader *r,
                           const char *what) {
  return ptec_program_fail(prog, status, "%s: %s (byte %zu)", what, r->reason, r->where);
}

static bool tag_matches(char code, uint32_t tag) {
  switch (code) {
    case 'T':
    case 'O':
    case 'V': return tag == PTEC_VALUE_TENSOR;
    case 'W': return tag == PTEC_VALUE_TENSOR_LIST;
    case 't': return tag == PTEC_VALUE_TENSOR || tag == PTEC_VALUE_NONE;
    case 'i': return tag == PTEC_VALUE_INT;
    case 'I': return tag == PTEC_VALUE_INT || tag == PTEC_VALUE_NONE;
    case 'd': return tag == PTEC_VALUE_DOUBLE || tag == PTEC_VALUE_INT;
    case 'D': return tag == PTEC_VALUE_DOUBLE || tag == PTEC_VALUE_INT || tag == PTEC_VALUE_NONE;
    case 's': return tag == PTEC_VALUE_INT || tag == PTEC_VALUE_DOUBLE || tag == PTEC_VALUE_BOOL;
    case 'S':
      return tag == PTEC_VALUE_INT || tag == PTEC_VALUE_DOUBLE || tag == PTEC_VALUE_BOOL ||
             tag == PTEC_VALUE_NONE;
    case 'b': return tag == PTEC_VALUE_BOOL;
    case 'L': return tag == PTEC_VALUE_INT_LIST;
    case 'l': return tag == PTEC_VALUE_INT_LIST || tag == PTEC_VALUE_NONE;
    case 'F': return tag == PTEC_VALUE_DOUBLE_LIST;
    case 'B': return tag == PTEC_VALUE_BOOL_LIST;
    case 'X': return tag == PTEC_VALUE_TENSOR_LIST;
    case 'Y': return tag == PTEC_VALUE_OPTIONAL_TENSOR_LIST;
    case 'z': return tag == PTEC_VALUE_STRING;
    case 'Z': return tag == PTEC_VALUE_STRING || tag == PTEC_VALUE_NONE;
    default: return false;
  }
}

static const char *tag_name(uint32_t tag) {
  static const char *const names[] = {"?",      "None",   "int",         "bool",
                                      "double", "tensor", "string",      "int list",
                                      "double list", "bool list", "tensor list",
                                      "optional tensor list"};
  return tag < sizeof names / sizeof names[0] ? names[tag] : "?";
}

/* True if writing to the value would write into the (read-only) program. */
static bool writes_to_program(const ptec_value *values, const ptec_value *v) {
  if (v->tag == PTEC_VALUE_TENSOR) return v->u.tensor->is_constant;
  if (v->tag == PTEC_VALUE_TENSOR_LIST) {
    for (uint32_t k = 0; k < v->count; k++) {
      if (values[v->u.tensor_list[k]].u.tensor->is_constant) return true;
    }
  }
  return false;
}

static ptec_status check_value_indices(ptec_program *prog, uint32_t instr, const fb_reader *r,
                                       const fb_vector *args, uint32_t num_values) {
  for (uint32_t k = 0; k < args->len; k++) {
    int32_t v = fb_vector_i32(r, args, k);
    if (v < 0 || (uint32_t)v >= num_values) {
      return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                               "instruction %u: argument %u refers to value %d of %u", instr, k,
                               v, num_values);
    }
  }
  return PTEC_STATUS_OK;
}

/* "name.overload" of operator `op`, into `out`. */
static ptec_status operator_name(ptec_program *prog, fb_reader *r, const plan_view *pv,
                                 uint32_t op, char *out, size_t cap, size_t *len) {
  fb_table table;
  const char *name, *overload;
  uint32_t name_len, overload_len;
  bool has_name;
  ptec_status s = fb_vector_table(r, &pv->operators, op, &table);
  if (s == PTEC_STATUS_OK) s = fb_string_field(r, &table, OPERATOR_NAME, &name, &name_len, &has_name);
  if (s == PTEC_STATUS_OK) {
    s = fb_string_field(r, &table, OPERATOR_OVERLOAD, &overload, &overload_len, NULL);
  }
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "operator");
  if (!has_name) return ptec_program_fail(prog, PTEC_STATUS_MALFORMED, "operator %u has no name", op);
  size_t total = (size_t)name_len + (overload_len ? 1 + (size_t)overload_len : 0);
  if (total + 1 > cap) {
    return ptec_program_fail(prog, PTEC_STATUS_NOT_SUPPORTED, "operator %u name is too long", op);
  }
  memcpy(out, name, name_len);
  if (overload_len) {
    out[name_len] = '.';
    memcpy(out + name_len + 1, overload, overload_len);
  }
  out[total] = '\0';
  *len = total;
  return PTEC_STATUS_OK;
}

static ptec_status decode_kernel_call(ptec_program *prog, fb_reader *r, const plan_view *pv,
                                      uint32_t i, const fb_table *call, const ptec_value *values,
                                      ptec_instruction *ins) {
  int32_t op;
  fb_vector args;
  ptec_status s = fb_i32(r, call, KERNEL_CALL_OP_INDEX, 0, &op);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, call, KERNEL_CALL_ARGS, 4, &args, NULL);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "kernel call");
  if (op < 0 || (uint32_t)op >= pv->operators.len) {
    return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                             "instruction %u: operator index %d out of range (%u operators)", i,
                             op, pv->operators.len);
  }
  s = check_value_indices(prog, i, r, &args, pv->values.len);
  if (s != PTEC_STATUS_OK) return s;
  char name[128];
  size_t len = 0;
  s = operator_name(prog, r, pv, (uint32_t)op, name, sizeof name, &len);
  if (s != PTEC_STATUS_OK) return s;
  const ptec_kernel_entry *k = ptec_kernel_find(name, len);
  if (k == NULL) {
    return ptec_program_fail(prog, PTEC_STATUS_OPERATOR_MISSING,
                             "instruction %u: operator %s is not in this build", i, name);
  }
  size_t expected = strlen(k->signature);
  if (args.len != expected) {
    return ptec_program_fail(prog, PTEC_STATUS_TYPE_MISMATCH,
                             "instruction %u (%s): %u arguments, the kernel takes %zu", i, name,
                             args.len, expected);
  }
  const int32_t *idx = fb_vector_ptr(r, &args);
  for (uint32_t k2 = 0; k2 < args.len; k2++) {
    const ptec_value *v = &values[idx[k2]];
    if (!tag_matches(k->signature[k2], v->tag)) {
      return ptec_program_fail(prog, PTEC_STATUS_TYPE_MISMATCH,
                               "instruction %u (%s): argument %u is a %s, expected '%c'", i, name,
                               k2, tag_name(v->tag), k->signature[k2]);
    }
  }
  /* Kernels write to their out arguments and the return slot: none may be
   * a constant, which lives in the caller's read-only program. */
  for (uint32_t k2 = 0; k2 < args.len; k2++) {
    char c = k->signature[k2];
    bool written = c == 'O' || c == 'W' || k2 + 1 == args.len;
    if (written && writes_to_program(values, &values[idx[k2]])) {
      return ptec_program_fail(prog, PTEC_STATUS_TYPE_MISMATCH,
                               "instruction %u (%s): output argument %u is a constant of the "
                               "program",
                               i, name, k2);
    }
  }
  ins->kernel = k;
  ins->args = idx;
  ins->num_args = args.len;
  ins->a = (uint32_t)op;
  return PTEC_STATUS_OK;
}

ptec_status ptec_prepare_kernels(ptec_method *m) {
  for (uint32_t i = 0; i < m->num_instructions; i++) {
    const ptec_instruction *ins = &m->instructions[i];
    if (ins->kind != INSTR_KERNEL_CALL || ins->kernel->prepare == NULL) continue;
    char detail[PTEC_MESSAGE_CAPACITY];
    ptec_kernel_context ctx = {
        .values = m->values,
        .args = ins->args,
        .num_args = ins->num_args,
        .op_name = ins->kernel->name,
        .message = detail,
        .message_capacity = sizeof detail,
    };
    detail[0] = '\0';
    ptec_status s = ins->kernel->prepare(&ctx);
    if (s != PTEC_STATUS_OK) {
      ptec_format(m->message, sizeof m->message, "instruction %u: %s", i, detail);
      return s;
    }
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_decode_instruction(ptec_program *prog, fb_reader *r, const plan_view *pv,
                                    uint32_t i, const ptec_value *values,
                                    ptec_instruction *ins) {
  fb_table instr, call;
  uint8_t kind;
  bool present;
  memset(ins, 0, sizeof *ins);
  ptec_status s = fb_vector_table(r, &pv->instructions, i, &instr);
  if (s == PTEC_STATUS_OK) s = fb_u8(r, &instr, INSTRUCTION_ARGS_TYPE, 0, &kind);
  if (s == PTEC_STATUS_OK) s = fb_table_field(r, &instr, INSTRUCTION_ARGS, &call, &present);
  if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "instruction");
  if (kind == INSTR_NONE || kind >= INSTR_COUNT_) {
    return ptec_program_fail(prog, PTEC_STATUS_BAD_ENUM, "instruction %u: unknown kind %u", i, kind);
  }
  if (!present) {
    return ptec_program_fail(prog, PTEC_STATUS_MALFORMED, "instruction %u has no arguments", i);
  }
  ins->kind = kind;
  const uint32_t nv = pv->values.len;
  int32_t a = 0, b = 0;
  switch (kind) {
    case INSTR_KERNEL_CALL:
      return decode_kernel_call(prog, r, pv, i, &call, values, ins);
    case INSTR_DELEGATE_CALL: {
      fb_vector args;
      s = fb_i32(r, &call, DELEGATE_CALL_DELEGATE_INDEX, 0, &a);
      if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &call, DELEGATE_CALL_ARGS, 4, &args, NULL);
      if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "delegate call");
      if (a < 0 || (uint32_t)a >= pv->delegates.len) {
        return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                                 "instruction %u: delegate %d out of range (%u delegates)", i, a,
                                 pv->delegates.len);
      }
      s = check_value_indices(prog, i, r, &args, nv);
      if (s != PTEC_STATUS_OK) return s;
      ins->args = fb_vector_ptr(r, &args);
      ins->num_args = args.len;
      ins->a = (uint32_t)a;
      return PTEC_STATUS_OK;
    }
    case INSTR_MOVE_CALL:
      s = fb_i32(r, &call, MOVE_CALL_FROM, 0, &a);
      if (s == PTEC_STATUS_OK) s = fb_i32(r, &call, MOVE_CALL_TO, 0, &b);
      if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "move call");
      if (a < 0 || b < 0 || (uint32_t)a >= nv || (uint32_t)b >= nv) {
        return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                                 "instruction %u: move %d -> %d out of range (%u values)", i, a, b, nv);
      }
      if (values[a].tag != values[b].tag) {
        return ptec_program_fail(prog, PTEC_STATUS_TYPE_MISMATCH,
                                 "instruction %u: move between a %s and a %s", i,
                                 tag_name(values[a].tag), tag_name(values[b].tag));
      }
      break;
    case INSTR_JUMP_FALSE_CALL:
      s = fb_i32(r, &call, JUMP_FALSE_COND_VALUE_INDEX, 0, &a);
      if (s == PTEC_STATUS_OK) s = fb_i32(r, &call, JUMP_FALSE_DESTINATION, 0, &b);
      if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "jump call");
      if (a < 0 || (uint32_t)a >= nv) {
        return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                                 "instruction %u: condition value %d out of range", i, a);
      }
      if (b < 0 || (uint32_t)b >= pv->instructions.len) {
        return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                                 "instruction %u: jump destination %d out of range", i, b);
      }
      if (values[a].tag != PTEC_VALUE_BOOL &&
          !(values[a].tag == PTEC_VALUE_TENSOR && values[a].u.tensor->dtype == PTEC_DTYPE_BOOL)) {
        return ptec_program_fail(prog, PTEC_STATUS_TYPE_MISMATCH,
                                 "instruction %u: jump condition is not a bool", i);
      }
      break;
    case INSTR_FREE_CALL:
      s = fb_i32(r, &call, FREE_CALL_VALUE_INDEX, 0, &a);
      if (s != PTEC_STATUS_OK) return fb_fail(prog, s, r, "free call");
      if (a < 0 || (uint32_t)a >= nv || values[a].tag != PTEC_VALUE_TENSOR) {
        return ptec_program_fail(prog, PTEC_STATUS_INDEX_OUT_OF_RANGE,
                                 "instruction %u: free of value %d, not a tensor", i, a);
      }
      break;
    default:
      break;
  }
  ins->a = (uint32_t)a;
  ins->b = (uint32_t)b;
  return PTEC_STATUS_OK;
}
