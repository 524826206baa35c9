/* Shared helpers of the TOSA executor: messages, dtypes, constant operands,
 * attributes, and the values of kernel calls. */
#include <stdarg.h>
#include <string.h>

#include "backends/tosa/tosa.h"
#include "core/message.h"
#include "kernels/kernel_table.h"
#include "kernels/portable/common.h"

ptec_status tosa_fail(tosa_graph *g, ptec_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ptec_vformat(g->message, g->message_capacity, fmt, ap);
  va_end(ap);
  return s;
}

ptec_status tosa_op_fail(tosa_graph *g, const tosa_op *op, ptec_status s, const char *fmt, ...) {
  char detail[PTEC_MESSAGE_CAPACITY];
  va_list ap;
  va_start(ap, fmt);
  ptec_vformat(detail, sizeof detail, fmt, ap);
  va_end(ap);
  ptec_format(g->message, g->message_capacity, "TOSA operator %u (%s): %s",
              tosa_op_index(g, op), tosa_op_name(op->code), detail);
  return s;
}

int tosa_ptec_dtype(uint32_t type) {
  switch (type) {
    case TOSA_DTYPE_BOOL: return PTEC_DTYPE_BOOL;
    case TOSA_DTYPE_INT8: return PTEC_DTYPE_INT8;
    case TOSA_DTYPE_INT16: return PTEC_DTYPE_INT16;
    case TOSA_DTYPE_INT32: return PTEC_DTYPE_INT32;
    case TOSA_DTYPE_FP32: return PTEC_DTYPE_FLOAT32;
    case TOSA_DTYPE_FP16: return PTEC_DTYPE_FLOAT16;
    case TOSA_DTYPE_BF16: return PTEC_DTYPE_BFLOAT16; /* EXT-BF16 */
    case TOSA_DTYPE_INT48: /* int64 in memory; never a graph input or output */
    case TOSA_DTYPE_SHAPE: return PTEC_DTYPE_INT64;
    default: return -1;
  }
}

const char *tosa_dtype_name(uint32_t type) {
  static const char *const names[TOSA_DTYPE_COUNT_] = {
      "UNKNOWN", "BOOL", "INT4", "INT8", "INT16", "INT32", "INT48",
      "FP32", "FP16", "BF16", "SHAPE", "FP8E4M3", "FP8E5M2"};
  return type < TOSA_DTYPE_COUNT_ ? names[type] : "?";
}

const char *tosa_op_name(uint32_t code) {
#define TOSA_OP_NAME_(name) #name,
  static const char *const names[TOSA_OP_COUNT_] = {TOSA_OP_LIST(TOSA_OP_NAME_)};
#undef TOSA_OP_NAME_
  return code < TOSA_OP_COUNT_ ? names[code] : "?";
}

bool tosa_same_shape(const tosa_tensor *a, const tosa_tensor *b) {
  if (a->t.rank != b->t.rank) return false;
  for (uint32_t d = 0; d < a->t.rank; d++)
    if (a->sizes[d] != b->sizes[d]) return false;
  return true;
}

int64_t tosa_numel(const tosa_tensor *t) { return (int64_t)t->t.numel; }

float tosa_load_float(const tosa_tensor *t, int64_t i) {
  return ptec_load_f32(t->t.data, tosa_ptec_dtype(t->type), i);
}

void tosa_store_float(const tosa_tensor *t, int64_t i, float v) {
  ptec_store_f32(t->t.data, tosa_ptec_dtype(t->type), i, v); /* rounds to nearest even */
}

ptec_status tosa_check_float_zps(tosa_graph *g, const tosa_op *op, uint32_t first,
                                 uint32_t last, uint32_t type) {
  for (uint32_t k = first; k <= last; k++) {
    const tosa_tensor *z = tosa_in(g, op, k);
    if (!(z->flags & TOSA_T_CONST) || z->type != type || z->t.numel != 1 ||
        tosa_load_float(z, 0) != 0.0f) {
      return tosa_op_fail(g, op, PTEC_STATUS_OUT_OF_RANGE, "%s zero points must be constant 0",
                          tosa_dtype_name(type));
    }
  }
  return PTEC_STATUS_OK;
}

ptec_status tosa_const_scalar(tosa_graph *g, const tosa_op *op, uint32_t k, uint32_t type,
                              const char *what, int64_t *v) {
  const tosa_tensor *t = tosa_in(g, op, k);
  if (!(t->flags & TOSA_T_CONST) || t->type != type || t->t.numel != 1) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "%s '%s' must be a constant %s of one "
                        "element", what, t->name, tosa_dtype_name(type));
  }
  const void *d = t->t.data;
  switch (type) {
    case TOSA_DTYPE_INT8: *v = *(const int8_t *)d; break;
    case TOSA_DTYPE_INT16: *v = *(const int16_t *)d; break;
    case TOSA_DTYPE_INT32: *v = *(const int32_t *)d; break;
    case TOSA_DTYPE_INT48: *v = *(const int64_t *)d; break; /* widened at init */
    case TOSA_DTYPE_FP32: *v = 0; break; /* float zero points must be 0: checked by caller */
    default: *v = 0; break;
  }
  return PTEC_STATUS_OK;
}

ptec_status tosa_const_shape(tosa_graph *g, const tosa_op *op, uint32_t k, int64_t *v,
                             uint32_t cap, uint32_t *n) {
  const tosa_tensor *t = tosa_in(g, op, k);
  if (!(t->flags & TOSA_T_CONST) || t->type != TOSA_DTYPE_SHAPE || t->t.rank != 1 ||
      t->t.numel > cap) {
    return tosa_op_fail(g, op, PTEC_STATUS_TYPE_MISMATCH, "operand %u ('%s') must be a constant "
                        "shape of at most %u values", k, t->name, cap);
  }
  *n = (uint32_t)t->t.numel;
  memcpy(v, t->t.data, *n * sizeof(int64_t));
  return PTEC_STATUS_OK;
}

ptec_status tosa_attr(tosa_graph *g, const tosa_op *op, fb_table *attr) {
  fb_table t;
  fb_vector ops;
  bool present;
  /* Re-walk from the root: the op's table is not kept (only init reads it). */
  fb_reader *r = &g->r;
  fb_table root, region, block;
  fb_vector regions, blocks;
  ptec_status s = fb_root(r, &root);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &root, TOSA_GRAPH_REGIONS, 4, &regions, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_table(r, &regions, 0, &region);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &region, TOSA_REGION_BLOCKS, 4, &blocks, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_table(r, &blocks, 0, &block);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &block, TOSA_BLOCK_OPERATORS, 4, &ops, NULL);
  uint8_t type = 0;
  if (s == PTEC_STATUS_OK) s = fb_vector_table(r, &ops, tosa_op_index(g, op), &t);
  if (s == PTEC_STATUS_OK) s = fb_u8(r, &t, TOSA_OPERATOR_ATTRIBUTE_TYPE, 0, &type);
  if (s == PTEC_STATUS_OK) s = fb_table_field(r, &t, TOSA_OPERATOR_ATTRIBUTE, attr, &present);
  if (s != PTEC_STATUS_OK) {
    return tosa_op_fail(g, op, s, "attribute: %s (byte %zu)", r->reason, r->where);
  }
  /* read_operator accepted type 0 (NONE) or the op's own; only the latter
   * says what the table is. */
  if (!present || type != op->code) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "attribute table is missing");
  }
  return PTEC_STATUS_OK;
}

ptec_status tosa_attr_i32s(tosa_graph *g, const tosa_op *op, const fb_table *attr,
                           unsigned field, int32_t *v, uint32_t n, const char *what) {
  fb_vector vec;
  ptec_status s = fb_vector_field(&g->r, attr, field, 4, &vec, NULL);
  if (s != PTEC_STATUS_OK) {
    return tosa_op_fail(g, op, s, "%s: %s (byte %zu)", what, g->r.reason, g->r.where);
  }
  if (vec.len != n) {
    return tosa_op_fail(g, op, PTEC_STATUS_MALFORMED, "attribute %s has %u values, expected %u",
                        what, vec.len, n);
  }
  for (uint32_t i = 0; i < n; i++) v[i] = fb_vector_i32(&g->r, &vec, i);
  return PTEC_STATUS_OK;
}

ptec_status tosa_check_nan_mode(tosa_graph *g, const tosa_op *op, uint32_t nan_mode) {
  if (nan_mode == TOSA_NAN_PROPAGATE || nan_mode == TOSA_NAN_IGNORE) return PTEC_STATUS_OK;
  return tosa_op_fail(g, op, PTEC_STATUS_BAD_ENUM, "nan_mode %u is not PROPAGATE or IGNORE",
                      nan_mode);
}

/* ------------------------------------------------------------ kernel calls */

static ptec_value *extra(tosa_graph *g, tosa_op *op, int32_t *index) {
  if (op->call->num_extras >= TOSA_OP_EXTRAS) return NULL;
  uint32_t base = g->num_tensors + op->call->index * (TOSA_OP_VIEWS + TOSA_OP_EXTRAS);
  *index = (int32_t)(base + TOSA_OP_VIEWS + op->call->num_extras++);
  return &g->values[*index];
}

int32_t tosa_value_int(tosa_graph *g, tosa_op *op, int64_t v) {
  int32_t i;
  ptec_value *x = extra(g, op, &i);
  if (x == NULL) return -1;
  x->tag = PTEC_VALUE_INT;
  x->u.i = v;
  return i;
}

int32_t tosa_value_bool(tosa_graph *g, tosa_op *op, bool v) {
  int32_t i;
  ptec_value *x = extra(g, op, &i);
  if (x == NULL) return -1;
  x->tag = PTEC_VALUE_BOOL;
  x->u.b = v;
  return i;
}

int32_t tosa_value_double(tosa_graph *g, tosa_op *op, double v) {
  int32_t i;
  ptec_value *x = extra(g, op, &i);
  if (x == NULL) return -1;
  x->tag = PTEC_VALUE_DOUBLE;
  x->u.d = v;
  return i;
}

int32_t tosa_value_none(tosa_graph *g, tosa_op *op) {
  int32_t i;
  ptec_value *x = extra(g, op, &i);
  if (x == NULL) return -1;
  x->tag = PTEC_VALUE_NONE;
  return i;
}

int32_t tosa_value_list(tosa_graph *g, tosa_op *op, const int64_t *v, uint32_t n) {
  int32_t i;
  if (op->call->num_items + n > TOSA_OP_ITEMS) return -1;
  ptec_value *x = extra(g, op, &i);
  if (x == NULL) return -1;
  int64_t *items = op->call->items + op->call->num_items;
  memcpy(items, v, n * sizeof *v);
  op->call->num_items += n;
  x->tag = PTEC_VALUE_INT_LIST;
  x->count = n;
  x->u.int_list = items;
  return i;
}

int32_t tosa_value_tensor_list(tosa_graph *g, tosa_op *op, const int32_t *tensors, uint32_t n) {
  int32_t i;
  ptec_value *x = extra(g, op, &i);
  if (x == NULL) return -1;
  x->tag = PTEC_VALUE_TENSOR_LIST;
  x->count = n;
  x->u.tensor_list = tensors; /* tensor i is value i */
  return i;
}

int32_t tosa_value_view(tosa_graph *g, tosa_op *op, int32_t base, uint32_t rank,
                        const int32_t *sizes, const uint8_t *order) {
  if (op->call->num_views >= TOSA_OP_VIEWS || rank > TOSA_MAX_RANK) return -1;
  uint32_t k = op->call->num_views++;
  tosa_view *v = &op->call->views[k];
  const tosa_tensor *b = &g->tensors[base];
  v->t = b->t;
  memcpy(v->sizes, sizes, rank * sizeof *sizes);
  memcpy(v->order, order, rank);
  v->t.sizes = v->sizes;
  v->t.dim_order = v->order;
  v->t.rank = (uint8_t)rank;
  v->base = base;
  int32_t index =
      (int32_t)(g->num_tensors + op->call->index * (TOSA_OP_VIEWS + TOSA_OP_EXTRAS) + k);
  g->values[index].tag = PTEC_VALUE_TENSOR;
  g->values[index].u.tensor = &v->t;
  return index;
}

int32_t tosa_value_i32_tensor(tosa_graph *g, tosa_op *op, int32_t *storage, uint32_t n) {
  if (op->call->num_views >= TOSA_OP_VIEWS || n > INT32_MAX) return -1;
  uint32_t k = op->call->num_views++;
  tosa_view *v = &op->call->views[k];
  memset(v, 0, sizeof *v);
  v->sizes[0] = (int32_t)n;
  v->t.data = storage;
  v->t.sizes = v->sizes;
  v->t.dim_order = v->order;
  v->t.rank = 1;
  v->t.numel = n;
  v->t.nbytes = (size_t)n * 4;
  v->t.dtype = PTEC_DTYPE_INT32;
  v->t.is_constant = true;
  v->base = -1;
  int32_t index =
      (int32_t)(g->num_tensors + op->call->index * (TOSA_OP_VIEWS + TOSA_OP_EXTRAS) + k);
  g->values[index].tag = PTEC_VALUE_TENSOR;
  g->values[index].u.tensor = &v->t;
  return index;
}

ptec_status tosa_use_kernel(tosa_graph *g, tosa_op *op, const char *name) {
  for (uint32_t k = 0; k < op->call->num_args; k++) {
    if (op->call->args[k] < 0) {
      return tosa_op_fail(g, op, PTEC_STATUS_INTERNAL, "too many kernel arguments");
    }
  }
  op->kernel = ptec_kernel_find(name, strlen(name));
  if (op->kernel == NULL) {
    return tosa_op_fail(g, op, PTEC_STATUS_OPERATOR_MISSING, "kernel %s is not in this build",
                        name);
  }
  op->run = tosa_run_kernel;
  return PTEC_STATUS_OK;
}

static void kernel_context(tosa_graph *g, tosa_op *op, ptec_kernel_context *ctx) {
  memset(ctx, 0, sizeof *ctx);
  ctx->values = g->values;
  ctx->args = op->call->args;
  ctx->num_args = op->call->num_args;
  ctx->op_name = op->kernel->name;
  ctx->message = g->message;
  ctx->message_capacity = g->message_capacity;
}

ptec_status tosa_prepare_kernel(tosa_graph *g, tosa_op *op) {
  if (op->kernel == NULL || op->kernel->prepare == NULL) return PTEC_STATUS_OK;
  ptec_kernel_context ctx;
  kernel_context(g, op, &ctx);
  ptec_status s = op->kernel->prepare(&ctx);
  if (s != PTEC_STATUS_OK) {
    char detail[PTEC_MESSAGE_CAPACITY];
    memcpy(detail, g->message, sizeof detail < g->message_capacity ? sizeof detail
                                                                     : g->message_capacity);
    detail[sizeof detail - 1] = '\0';
    return tosa_op_fail(g, op, s, "%s", detail);
  }
  return s;
}

ptec_status tosa_run_kernel(tosa_graph *g, tosa_op *op) {
  for (uint32_t k = 0; k < op->call->num_views; k++) {
    tosa_view *v = &op->call->views[k];
    if (v->base >= 0) v->t.data = g->tensors[v->base].t.data;
  }
  ptec_kernel_context ctx;
  kernel_context(g, op, &ctx);
  return op->kernel->fn(&ctx);
}

void *tosa_arena_take(tosa_graph *g, size_t bytes) {
  size_t n = (bytes + 15) / 16 * 16;
  if (n < bytes || n > g->arena_size - g->arena_used) return NULL;
  void *p = g->arena + g->arena_used;
  g->arena_used += n;
  return p;
}
