/*
 * Scalar inputs (ptec.h): Int, Double and Bool inputs of a program are fixed
 * at compile time; callers read their kind and value and may only pass the
 * same value, as ExecuTorch's set_input requires. In their own object so that
 * a build that never calls them does not link them.
 */
#include <string.h>

#include "core/message.h"
#include "executor/internal.h"

/* Input `i` of the program, as read (index checked). */
static ptec_status input_value(const ptec_method *m, size_t i, ptec_value *v) {
  ptec_status s = ptec_method_check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (i >= m->num_inputs) return PTEC_STATUS_INVALID_ARGUMENT;
  ptec_tensor t;
  fb_reader r;
  ptec_program_reader(m->program, &r);
  s = ptec_value_read((ptec_method *)m, &r, ptec_value_resolve(m, (uint32_t)m->inputs[i]), v,
                      &t, NULL);
  return s != PTEC_STATUS_OK ? ptec_method_program_failed((ptec_method *)m, s) : PTEC_STATUS_OK;
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
