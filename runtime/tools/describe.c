/* Format (one item per line):
 *   method NAME / planned_buffers N,... / inputs i,... / outputs i,...
 *   value I none|int V|bool 0/1|double 0xBITS|string TEXT|int_list a,b|
 *           double_list 0xBITS,...|bool_list 0,1|tensor_list i,j|optional_tensor_list i,-1
 *   value I tensor DTYPE [s0,s1] order=d0,d1 planned=MEM:OFFSET|constant=+FILEOFFSET|unbound
 *   instruction I kernel NAME a,b,c | delegate D a,b | move A B | jump_false C DEST | free V
 */
#include "describe.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "executor/internal.h"
#include "kernels/kernel_table.h"

static void list_i32(FILE *out, const int32_t *v, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) fprintf(out, k ? ",%d" : "%d", v[k]);
}

static void describe_tensor(FILE *out, const ptec_program *prog, const ptec_tensor *t,
                            const ptec_method_requirements *req, void *const *planned) {
  fprintf(out, "tensor %s [", ptec_dtype_name(t->dtype));
  list_i32(out, t->sizes, t->rank);
  fprintf(out, "] order=");
  for (uint32_t d = 0; d < t->rank; d++) fprintf(out, d ? ",%u" : "%u", t->dim_order[d]);
  const uint8_t *p = t->data;
  if (p == NULL) {
    fprintf(out, " unbound");
    return;
  }
  if (t->is_constant) {
    fprintf(out, " constant=+%zu", (size_t)(p - prog->data));
    return;
  }
  for (size_t b = 0; b < req->num_planned_buffers; b++) {
    const uint8_t *base = planned[b];
    if (p >= base && p <= base + ptec_method_planned_buffer_size(req, b)) {
      fprintf(out, " planned=%zu:%zu", b + 1, (size_t)(p - base));
      return;
    }
  }
  fprintf(out, " bound");
}

static void describe_value(FILE *out, const ptec_program *prog, const ptec_value *v,
                           const ptec_method_requirements *req, void *const *planned) {
  switch (v->tag) {
    case PTEC_VALUE_NONE: fprintf(out, "none"); break;
    case PTEC_VALUE_INT: fprintf(out, "int %" PRId64, v->u.i); break;
    case PTEC_VALUE_BOOL: fprintf(out, "bool %d", v->u.b ? 1 : 0); break;
    case PTEC_VALUE_DOUBLE: {
      uint64_t bits;
      memcpy(&bits, &v->u.d, sizeof bits);
      fprintf(out, "double 0x%016" PRIx64, bits);
      break;
    }
    case PTEC_VALUE_STRING: fprintf(out, "string %.*s", (int)v->count, v->u.str); break;
    case PTEC_VALUE_TENSOR: describe_tensor(out, prog, v->u.tensor, req, planned); break;
    case PTEC_VALUE_INT_LIST:
      fprintf(out, "int_list ");
      for (uint32_t k = 0; k < v->count; k++) fprintf(out, k ? ",%" PRId64 : "%" PRId64, v->u.int_list[k]);
      break;
    case PTEC_VALUE_DOUBLE_LIST:
      fprintf(out, "double_list ");
      for (uint32_t k = 0; k < v->count; k++) {
        uint64_t bits;
        memcpy(&bits, &v->u.double_list[k], sizeof bits);
        fprintf(out, k ? ",0x%016" PRIx64 : "0x%016" PRIx64, bits);
      }
      break;
    case PTEC_VALUE_BOOL_LIST:
      fprintf(out, "bool_list ");
      for (uint32_t k = 0; k < v->count; k++) fprintf(out, k ? ",%d" : "%d", v->u.bool_list[k] ? 1 : 0);
      break;
    case PTEC_VALUE_TENSOR_LIST:
    case PTEC_VALUE_OPTIONAL_TENSOR_LIST:
      fprintf(out, v->tag == PTEC_VALUE_TENSOR_LIST ? "tensor_list " : "optional_tensor_list ");
      list_i32(out, v->u.tensor_list, v->count);
      break;
    default: fprintf(out, "unknown"); break;
  }
}

void ptec_describe_method(FILE *out, const ptec_program *prog, const ptec_method *m,
                          const ptec_method_requirements *req, void *const *planned) {
  char name[128];
  ptec_program_method_name((ptec_program *)prog, 0, name, sizeof name);
  fprintf(out, "method %s\nplanned_buffers ", name);
  for (size_t b = 0; b < req->num_planned_buffers; b++) {
    fprintf(out, b ? ",%zu" : "%zu", ptec_method_planned_buffer_size(req, b));
  }
  fprintf(out, "\ninputs ");
  list_i32(out, m->inputs, m->num_inputs);
  fprintf(out, "\noutputs ");
  list_i32(out, m->outputs, m->num_outputs);
  fprintf(out, "\n");
  /* Values stay in the program; the runtime decodes them as instructions run. */
  ptec_method *mm = (ptec_method *)m;
  fb_reader r;
  ptec_program_reader(prog, &r);
  for (uint32_t i = 0; i < m->num_values; i++) {
    ptec_value v;
    ptec_tensor t;
    int64_t *items = NULL;
    ptec_value_read(mm, &r, i, &v, &t, NULL);
    if (v.tag == PTEC_VALUE_INT_LIST && v.count > 0) {
      items = malloc(v.count * sizeof *items);
      if (items != NULL) ptec_value_read(mm, &r, i, &v, &t, items);
    }
    fprintf(out, "value %u ", i);
    if (v.tag == PTEC_VALUE_INT_LIST && items == NULL) v.count = 0;
    describe_value(out, prog, &v, req, planned);
    fprintf(out, "\n");
    free(items);
  }
  for (uint32_t i = 0; i < m->num_instructions; i++) {
    const ptec_instruction *ins = &m->instructions[i];
    uint32_t b = PTEC_INSTR_B(ins), n;
    fprintf(out, "instruction %u ", i);
    switch (PTEC_INSTR_KIND(ins)) {
      case INSTR_KERNEL_CALL:
      case INSTR_DELEGATE_CALL: {
        const int32_t *args = ptec_instruction_args(m, ins, &n);
        if (PTEC_INSTR_KIND(ins) == INSTR_KERNEL_CALL) {
          fprintf(out, "kernel %s ", ptec_kernel_table[b].name);
        } else {
          fprintf(out, "delegate %u ", b);
        }
        list_i32(out, args, n);
        break;
      }
      case INSTR_MOVE_CALL: fprintf(out, "move %u %u", ins->a, b); break;
      case INSTR_JUMP_FALSE_CALL: fprintf(out, "jump_false %u %u", ins->a, b); break;
      case INSTR_FREE_CALL: fprintf(out, "free %u", ins->a); break;
      default: break;
    }
    fprintf(out, "\n");
  }
}
