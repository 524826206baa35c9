/*
 * The TOSABackend delegate: runs a TOSA 1.0 flatbuffer on the CPU.
 *
 *   memory_required: one counting pass over the blob (structures + arena)
 *   init:            reads, checks and plans the whole graph (tosa_read.c)
 *   execute:         binds the graph's inputs and outputs to the method's
 *                    tensors (checked: dtype, shape, contiguous), runs each
 *                    operator in order, copies outputs that are not written
 *                    in place (an input or a constant returned as is).
 */
#include <string.h>

#include "backends/tosa/tosa.h"
#include "core/message.h"

static ptec_status tosa_memory_required(const ptec_delegate_blob *blob, size_t *bytes, char *msg,
                                        size_t cap) {
  tosa_counts c;
  ptec_status s = tosa_count(blob, &c, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  size_t structures = tosa_structures_size(&c);
  if (c.arena > SIZE_MAX - structures) {
    ptec_format(msg, cap, "TOSA graph memory overflows");
    return PTEC_STATUS_BAD_SIZE;
  }
  *bytes = structures + c.arena;
  return PTEC_STATUS_OK;
}

static ptec_status tosa_init(const ptec_delegate_blob *blob, void *memory, size_t bytes,
                             void **handle, char *msg, size_t cap) {
  tosa_counts c;
  ptec_status s = tosa_count(blob, &c, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  tosa_graph *g = NULL;
  s = tosa_read(blob, &c, memory, bytes, &g, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  *handle = g;
  return PTEC_STATUS_OK;
}

/* The method's tensor for graph I/O tensor t: same dtype, shape, contiguous. */
static ptec_status bind(tosa_graph *g, tosa_tensor *t, const ptec_value *v, const char *what,
                        uint32_t k) {
  if (v->tag != PTEC_VALUE_TENSOR) {
    return tosa_fail(g, PTEC_STATUS_TYPE_MISMATCH, "TOSA %s %u ('%s') is not a tensor", what, k,
                     t->name);
  }
  const ptec_tensor *m = v->u.tensor;
  /* uint8 data in an INT8 tensor is TOSA's unsigned I/O (RESCALE's
   * input_unsigned / output_unsigned): the same bytes. */
  bool same_type = m->dtype == t->t.dtype ||
                   (t->type == TOSA_DTYPE_INT8 && m->dtype == PTEC_DTYPE_UINT8);
  /* The graph reads the bytes in memory order: the tensor's sizes in its dim
   * order must be the graph's shape (an NHWC graph input is a channels-last
   * NCHW tensor of the program). */
  bool ok = same_type && m->rank == t->t.rank && m->data != NULL;
  for (uint32_t d = 0; ok && d < m->rank; d++) {
    ok = m->dim_order[d] < m->rank && m->sizes[m->dim_order[d]] == t->sizes[d];
  }
  if (!ok) {
    return tosa_fail(g, PTEC_STATUS_SHAPE_MISMATCH, "TOSA %s %u ('%s') must be a %s tensor "
                     "whose sizes in memory order are the graph's shape (INT8 may be uint8)",
                     what, k, t->name, tosa_dtype_name(t->type));
  }
  return PTEC_STATUS_OK;
}

/* The observer sees what operator `i` wrote: its output, or, when later
 * operators are fused into it (a RESCALE and CLAMP after a CONV2D), the
 * output of the last of them, which is the tensor the fused run wrote. */
static void observe(const tosa_graph *g, uint32_t i) {
  uint32_t last = i;
  for (uint32_t j = i + 1; j < g->num_ops; j++) {
    if (g->ops[j].fused_into == (int32_t)i) last = j;
  }
  const tosa_op *op = &g->ops[last];
  for (uint32_t k = 0; k < op->num_out; k++) {
    const tosa_tensor *t = &g->tensors[g->operands[op->out_at + k]];
    if (t->t.data == NULL) continue;
    ptec_tensor_view view;
    memset(&view, 0, sizeof view);
    view.data = t->t.data;
    view.nbytes = t->t.nbytes;
    view.dtype = t->t.dtype;
    view.rank = t->t.rank;
    for (uint32_t d = 0; d < t->t.rank; d++) {
      view.sizes[d] = t->t.sizes[d];
      view.dim_order[d] = t->t.dim_order != NULL ? t->t.dim_order[d] : (uint8_t)d;
    }
    g->hook(g->hook_context, g->hook_delegate, last, tosa_op_name(g->ops[i].code), t->name,
            &view);
  }
}

static void tosa_set_hook(void *handle, ptec_delegate_hook hook, void *context,
                          uint32_t delegate) {
  tosa_graph *g = handle;
  g->hook = hook;
  g->hook_context = context;
  g->hook_delegate = delegate;
}

static ptec_status tosa_execute(void *handle, ptec_value *values, const int32_t *args,
                                uint32_t num_args, char *msg, size_t cap) {
  tosa_graph *g = handle;
  g->message = msg;
  g->message_capacity = cap;
  if (num_args != g->num_inputs + g->num_outputs) {
    return tosa_fail(g, PTEC_STATUS_INVALID_ARGUMENT, "TOSA delegate called with %u arguments, "
                     "the graph has %u inputs and %u outputs", num_args, g->num_inputs,
                     g->num_outputs);
  }
  for (uint32_t k = 0; k < g->num_inputs; k++) {
    tosa_tensor *t = &g->tensors[g->inputs[k]];
    ptec_status s = bind(g, t, &values[args[k]], "input", k);
    if (s != PTEC_STATUS_OK) return s;
    t->t.data = values[args[k]].u.tensor->data;
  }
  for (uint32_t k = 0; k < g->num_outputs; k++) {
    tosa_tensor *t = &g->tensors[g->outputs[k]];
    const ptec_value *v = &values[args[g->num_inputs + k]];
    ptec_status s = bind(g, t, v, "output", k);
    if (s != PTEC_STATUS_OK) return s;
    if (v->u.tensor->is_constant) { /* it may sit in read-only flash */
      return tosa_fail(g, PTEC_STATUS_INVALID_ARGUMENT, "TOSA output %u ('%s') is a constant of "
                       "the program", k, t->name);
    }
    if (!(t->flags & (TOSA_T_INPUT | TOSA_T_CONST))) t->t.data = v->u.tensor->data;
  }
  for (uint32_t i = 0; i < g->num_ops; i++) {
    tosa_op *op = &g->ops[i];
    if (op->run == NULL) continue;
    ptec_status s = op->run(g, op);
    if (s != PTEC_STATUS_OK) {
      if (op->kernel != NULL) {
        char detail[PTEC_MESSAGE_CAPACITY];
        memcpy(detail, msg, cap < sizeof detail ? cap : sizeof detail);
        detail[sizeof detail - 1] = '\0';
        return tosa_op_fail(g, op, s, "%s", detail);
      }
      return s;
    }
    if (g->hook != NULL) observe(g, i);
  }
  /* Outputs that are graph inputs or constants are copied out last. */
  for (uint32_t k = 0; k < g->num_outputs; k++) {
    tosa_tensor *t = &g->tensors[g->outputs[k]];
    if (!(t->flags & (TOSA_T_INPUT | TOSA_T_CONST))) continue;
    void *dst = values[args[g->num_inputs + k]].u.tensor->data;
    if (dst != t->t.data) memmove(dst, t->t.data, t->t.nbytes);
  }
  return PTEC_STATUS_OK;
}

const ptec_backend ptec_tosa_backend = {
    .id = "TOSABackend",
    .api_version = PTEC_BACKEND_API_VERSION,
    .memory_required = tosa_memory_required,
    .init = tosa_init,
    .execute = tosa_execute,
    .set_hook = tosa_set_hook,
};
