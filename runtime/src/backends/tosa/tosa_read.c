/*
 * Reading a TOSA flatbuffer: a counting pass (memory_required: sizes of the
 * structures and an arena bound, from the blob alone) and the full read at
 * init, which resolves names and checks the graph's structure and level.
 */
#include <string.h>

#include "backends/tosa/tosa.h"
#include "core/message.h"

static const uint8_t k_identity_order[TOSA_MAX_RANK] = {0, 1, 2, 3, 4, 5};

static ptec_status fb_failed(fb_reader *r, ptec_status s, char *msg, size_t cap,
                             const char *what) {
  ptec_format(msg, cap, "TOSA %s: %s (byte %zu)", what, r->reason, r->where);
  return s;
}

ptec_status tosa_open_block(const ptec_delegate_blob *blob, tosa_block_view *b, char *msg,
                            size_t cap) {
  fb_reader *r = &b->r;
  ptec_status s = fb_reader_init(r, blob->data, blob->size);
  if (s != PTEC_STATUS_OK) return fb_failed(r, s, msg, cap, "flatbuffer");
  if (memcmp(blob->data + 4, "TOSA", 4) != 0) {
    ptec_format(msg, cap, "delegate data is not a TOSA flatbuffer (identifier is not \"TOSA\")");
    return PTEC_STATUS_BAD_IDENTIFIER;
  }
  fb_table root, version, region, block;
  fb_vector regions, blocks;
  bool has_version;
  s = fb_root(r, &root);
  if (s == PTEC_STATUS_OK) s = fb_table_field(r, &root, TOSA_GRAPH_VERSION, &version, &has_version);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &root, TOSA_GRAPH_REGIONS, 4, &regions, NULL);
  if (s != PTEC_STATUS_OK) return fb_failed(r, s, msg, cap, "graph");
  if (!has_version) {
    ptec_format(msg, cap, "TOSA graph lacks its required version");
    return PTEC_STATUS_MALFORMED;
  }
  int32_t major, minor;
  s = fb_i32(r, &version, TOSA_VERSION_MAJOR, -1, &major);
  if (s == PTEC_STATUS_OK) s = fb_i32(r, &version, TOSA_VERSION_MINOR, -1, &minor);
  if (s != PTEC_STATUS_OK) return fb_failed(r, s, msg, cap, "version");
  if (major != 1) {
    ptec_format(msg, cap, "TOSA version %d.%d is not supported (1.x is)", major, minor);
    return PTEC_STATUS_NOT_SUPPORTED;
  }
  if (regions.len != 1) {
    ptec_format(msg, cap, "TOSA graph has %u regions; one is supported (no control flow)",
                regions.len);
    return PTEC_STATUS_NOT_SUPPORTED;
  }
  s = fb_vector_table(r, &regions, 0, &region);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &region, TOSA_REGION_BLOCKS, 4, &blocks, NULL);
  if (s != PTEC_STATUS_OK) return fb_failed(r, s, msg, cap, "region");
  if (blocks.len != 1) {
    ptec_format(msg, cap, "TOSA region has %u blocks; one is supported (no control flow)",
                blocks.len);
    return PTEC_STATUS_NOT_SUPPORTED;
  }
  s = fb_vector_table(r, &blocks, 0, &block);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &block, TOSA_BLOCK_TENSORS, 4, &b->tensors, NULL);
  if (s == PTEC_STATUS_OK) {
    s = fb_vector_field(r, &block, TOSA_BLOCK_OPERATORS, 4, &b->operators, NULL);
  }
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &block, TOSA_BLOCK_INPUTS, 4, &b->inputs, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &block, TOSA_BLOCK_OUTPUTS, 4, &b->outputs, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &block, TOSA_BLOCK_SHAPES, 4, &b->shapes, NULL);
  if (s != PTEC_STATUS_OK) return fb_failed(r, s, msg, cap, "basic block");
  if (b->tensors.len > TOSA_MAX_TENSORS || b->shapes.len > TOSA_MAX_TENSORS - b->tensors.len ||
      b->operators.len > TOSA_MAX_OPS) {
    ptec_format(msg, cap, "TOSA block has %u tensors, %u shapes and %u operators; the limits "
                "are %d values and %d operators", b->tensors.len, b->shapes.len,
                b->operators.len, TOSA_MAX_TENSORS, TOSA_MAX_OPS);
    return PTEC_STATUS_BAD_SIZE;
  }
  if (b->inputs.len > TOSA_MAX_TENSOR_LIST || b->outputs.len > TOSA_MAX_TENSOR_LIST) {
    ptec_format(msg, cap, "TOSA block has %u inputs and %u outputs; level 8K allows %d",
                b->inputs.len, b->outputs.len, TOSA_MAX_TENSOR_LIST);
    return PTEC_STATUS_BAD_SIZE;
  }
  return PTEC_STATUS_OK;
}

/* Bytes per element in memory (SHAPE: int64; INT48: int64, see below). */
static size_t element_size(uint32_t type) {
  switch (type) {
    case TOSA_DTYPE_BOOL: case TOSA_DTYPE_INT8: return 1;
    case TOSA_DTYPE_INT16: case TOSA_DTYPE_FP16: case TOSA_DTYPE_BF16: return 2;
    case TOSA_DTYPE_INT32: case TOSA_DTYPE_FP32: return 4;
    case TOSA_DTYPE_INT48: case TOSA_DTYPE_SHAPE: return 8;
    default: return 0;
  }
}

/* Bytes per element of constant data in the blob: INT48 values are six
 * little-endian bytes there (the TOSA serialization library's encoding) and
 * int64 in memory: widen_int48 copies them into the arena at init. */
static size_t data_element_size(uint32_t type) {
  return type == TOSA_DTYPE_INT48 ? 6 : element_size(type);
}

/* A TosaShape value as a rank-1 SHAPE constant of `rank` int64 elements. */
static ptec_status read_shape(fb_reader *r, const fb_vector *shapes, uint32_t i,
                              tosa_tensor_info *ti, char *msg, size_t cap) {
  fb_table t;
  bool has_name;
  uint32_t rank;
  memset(ti, 0, sizeof *ti);
  ptec_status s = fb_vector_table(r, shapes, i, &t);
  if (s == PTEC_STATUS_OK) s = fb_string_field(r, &t, TOSA_SHAPE_NAME, &ti->name, &ti->name_len,
                                               &has_name);
  if (s == PTEC_STATUS_OK) s = fb_u32(r, &t, TOSA_SHAPE_RANK, 0, &rank);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &t, TOSA_SHAPE_DATA, 1, &ti->data, &ti->has_data);
  if (s != PTEC_STATUS_OK) return fb_failed(r, s, msg, cap, "shape");
  if (!has_name || ti->name_len == 0) {
    ptec_format(msg, cap, "TOSA shape %u has no name", i);
    return PTEC_STATUS_MALFORMED;
  }
  if (rank > TOSA_MAX_RANK) {
    ptec_format(msg, cap, "TOSA shape '%s' has %u elements; level 8K allows %d", ti->name, rank,
                TOSA_MAX_RANK);
    return PTEC_STATUS_BAD_SIZE;
  }
  ti->type = TOSA_DTYPE_SHAPE;
  ti->rank = 1;
  ti->sizes[0] = (int32_t)rank;
  ti->numel = rank;
  ti->nbytes = (uint64_t)rank * 8u;
  if (ti->has_data && ti->data.len == 0 && rank != 0) ti->has_data = false;
  if (ti->has_data && ti->data.len != ti->nbytes) {
    ptec_format(msg, cap, "TOSA shape '%s' has %u bytes of data for %u int64 elements", ti->name,
                ti->data.len, rank);
    return PTEC_STATUS_BAD_SIZE;
  }
  ti->unaligned = ti->has_data && (uintptr_t)(r->buf + ti->data.data) % 8 != 0;
  return PTEC_STATUS_OK;
}

ptec_status tosa_read_tensor(fb_reader *r, const tosa_block_view *b, uint32_t i,
                             tosa_tensor_info *ti, char *msg, size_t cap) {
  if (i >= b->tensors.len) return read_shape(r, &b->shapes, i - b->tensors.len, ti, msg, cap);
  const fb_vector *tensors = &b->tensors;
  fb_table t;
  fb_vector shape;
  bool has_name;
  uint8_t variable, unranked;
  uint64_t ext_offset, ext_size;
  ptec_status s = fb_vector_table(r, tensors, i, &t);
  if (s == PTEC_STATUS_OK) {
    s = fb_string_field(r, &t, TOSA_TENSOR_NAME, &ti->name, &ti->name_len, &has_name);
  }
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &t, TOSA_TENSOR_SHAPE, 4, &shape, NULL);
  if (s == PTEC_STATUS_OK) s = fb_u32(r, &t, TOSA_TENSOR_TYPE, 0, &ti->type);
  if (s == PTEC_STATUS_OK) {
    s = fb_vector_field(r, &t, TOSA_TENSOR_DATA, 1, &ti->data, &ti->has_data);
  }
  if (s == PTEC_STATUS_OK) s = fb_u8(r, &t, TOSA_TENSOR_VARIABLE, 0, &variable);
  if (s == PTEC_STATUS_OK) s = fb_u8(r, &t, TOSA_TENSOR_IS_UNRANKED, 0, &unranked);
  if (s == PTEC_STATUS_OK) s = fb_u64(r, &t, TOSA_TENSOR_OFFSET, 0, &ext_offset);
  if (s == PTEC_STATUS_OK) s = fb_u64(r, &t, TOSA_TENSOR_SIZE, 0, &ext_size);
  if (s != PTEC_STATUS_OK) return fb_failed(r, s, msg, cap, "tensor");
  if (!has_name || ti->name_len == 0) {
    ptec_format(msg, cap, "TOSA tensor %u has no name", i);
    return PTEC_STATUS_MALFORMED;
  }
  if (ti->type == TOSA_DTYPE_UNKNOWN || ti->type >= TOSA_DTYPE_COUNT_) {
    ptec_format(msg, cap, "TOSA tensor '%s' has unknown dtype %u", ti->name, ti->type);
    return PTEC_STATUS_BAD_ENUM;
  }
  if (element_size(ti->type) == 0) {
    ptec_format(msg, cap, "TOSA tensor '%s': dtype %s is not supported (PRO-INT, PRO-FP fp16/fp32)",
                ti->name, tosa_dtype_name(ti->type));
    return PTEC_STATUS_NOT_SUPPORTED;
  }
  if (variable || unranked || ext_size != 0 || ext_offset > 1) {
    ptec_format(msg, cap, "TOSA tensor '%s': variable, unranked or external tensors are not "
                "supported", ti->name);
    return PTEC_STATUS_NOT_SUPPORTED;
  }
  if (shape.len > TOSA_MAX_RANK) {
    ptec_format(msg, cap, "TOSA tensor '%s' has rank %u; level 8K allows %d", ti->name, shape.len,
                TOSA_MAX_RANK);
    return PTEC_STATUS_BAD_SIZE;
  }
  ti->rank = shape.len;
  ti->numel = 1;
  for (uint32_t d = 0; d < shape.len; d++) {
    int32_t n = fb_vector_i32(r, &shape, d);
    if (n < 0) {
      ptec_format(msg, cap, "TOSA tensor '%s' has size %d in dim %u", ti->name, n, d);
      return PTEC_STATUS_BAD_SIZE;
    }
    ti->sizes[d] = n;
    ti->numel *= (uint64_t)n; /* < 2^31 at each step, checked below */
    if (ti->numel >= ((uint64_t)1 << TOSA_MAX_LOG2_SIZE)) {
      ptec_format(msg, cap, "TOSA tensor '%s' has 2^%d or more elements (level 8K)", ti->name,
                  TOSA_MAX_LOG2_SIZE);
      return PTEC_STATUS_BAD_SIZE;
    }
  }
  ti->nbytes = ti->numel * element_size(ti->type);
  /* Arm's tosa_serializer (ExecuTorch's writer) gives every tensor a data vector,
   * empty where the tensor is not a constant: only data that is there makes one. */
  if (ti->has_data && ti->data.len == 0 && ti->numel != 0) ti->has_data = false;
  if (ti->has_data) {
    uint64_t want = ti->numel * data_element_size(ti->type);
    /* Arm's tosa_serializer pads data to a multiple of 8 bytes. Not INT48's: six
     * bytes a value padded is the length of eight a value, a known mistake. */
    uint64_t padded = ti->type == TOSA_DTYPE_INT48 ? want : (want + 7u) & ~(uint64_t)7u;
    if (ti->data.len != want && ti->data.len != padded) {
      ptec_format(msg, cap, "TOSA constant '%s' has %u bytes of data, its shape needs %llu",
                  ti->name, ti->data.len, (unsigned long long)want);
      return PTEC_STATUS_BAD_SIZE;
    }
    /* INT48 data is read byte by byte (widen_int48): any alignment. Other data
     * that the writer did not align (tosa_serializer aligns only some) is
     * copied to the arena at init (align_constants). */
    ti->unaligned = ti->type != TOSA_DTYPE_INT48 &&
                    (uintptr_t)(r->buf + ti->data.data) % element_size(ti->type) != 0;
  }
  return PTEC_STATUS_OK;
}

static size_t align16(uint64_t n) { return (size_t)((n + 15) / 16 * 16); }

bool tosa_string_at(const fb_reader *r, const fb_vector *v, uint32_t k, const char **s,
                    uint32_t *len) {
  /* A vector of strings is a vector of offsets to [len][bytes][0]. */
  size_t at = (size_t)v->data + 4 * (size_t)k;
  uint64_t dest = (uint64_t)at + (uint64_t)(uint32_t)fb_vector_i32(r, v, k);
  if (dest % 4 != 0 || dest + 4 > r->size) return false;
  uint32_t n;
  memcpy(&n, r->buf + dest, 4);
  if ((uint64_t)n + 1 > r->size - dest - 4 || r->buf[dest + 4 + n] != '\0') return false;
  *s = (const char *)r->buf + dest + 4;
  *len = n;
  return true;
}

ptec_status tosa_count(const ptec_delegate_blob *blob, tosa_counts *c, char *msg, size_t cap) {
  tosa_block_view b;
  memset(c, 0, sizeof *c);
  ptec_status s = tosa_open_block(blob, &b, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  c->tensors = tosa_block_tensors(&b);
  c->ops = b.operators.len;
  uint64_t arena = 0;
  for (uint32_t i = 0; i < c->tensors; i++) {
    tosa_tensor_info ti;
    s = tosa_read_tensor(&b.r, &b, i, &ti, msg, cap);
    if (s != PTEC_STATUS_OK) return s;
    /* Small 8- and 16-bit constants may be widened to int32 (RESCALE's
     * shifts and 16-bit multipliers); activations are planned below. */
    if (ti.has_data && (ti.type == TOSA_DTYPE_INT8 || ti.type == TOSA_DTYPE_INT16) &&
        ti.rank <= 1)
      arena += align16(ti.numel * 4);
    /* INT48 constants are widened to int64 (widen_int48), unaligned ones copied. */
    if (ti.has_data && (ti.type == TOSA_DTYPE_INT48 || ti.unaligned)) arena += align16(ti.nbytes);
  }
  uint64_t operands = 0;
  for (uint32_t i = 0; i < b.operators.len; i++) {
    fb_table op;
    fb_vector ins, outs;
    s = fb_vector_table(&b.r, &b.operators, i, &op);
    if (s == PTEC_STATUS_OK) s = fb_vector_field(&b.r, &op, TOSA_OPERATOR_INPUTS, 4, &ins, NULL);
    if (s == PTEC_STATUS_OK) s = fb_vector_field(&b.r, &op, TOSA_OPERATOR_OUTPUTS, 4, &outs, NULL);
    if (s != PTEC_STATUS_OK) return fb_failed(&b.r, s, msg, cap, "operator");
    if (ins.len > TOSA_MAX_TENSOR_LIST || outs.len > TOSA_MAX_TENSOR_LIST) {
      ptec_format(msg, cap, "TOSA operator %u has %u inputs and %u outputs; level 8K allows %d",
                  i, ins.len, outs.len, TOSA_MAX_TENSOR_LIST);
      return PTEC_STATUS_BAD_SIZE;
    }
    operands += (uint64_t)ins.len + outs.len;
    uint32_t code;
    s = fb_u32(&b.r, &op, TOSA_OPERATOR_OP, 0, &code);
    if (s != PTEC_STATUS_OK) return fb_failed(&b.r, s, msg, cap, "operator");
    if (code != TOSA_OP_CONST && code != TOSA_OP_CONST_SHAPE) c->calls++;
  }
  c->operands = (uint32_t)operands; /* <= 2 * 64 * TOSA_MAX_OPS */
  uint64_t activations;
  s = tosa_plan(&b, NULL, &activations, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  c->activations = (size_t)activations;
  arena += activations;
  if (arena > SIZE_MAX / 2) {
    ptec_format(msg, cap, "TOSA graph needs more memory than this machine can address");
    return PTEC_STATUS_BAD_SIZE;
  }
  c->arena = (size_t)arena;
  return PTEC_STATUS_OK;
}

size_t tosa_structures_size(const tosa_counts *c) {
  size_t values = (size_t)c->tensors + (size_t)c->calls * (TOSA_OP_VIEWS + TOSA_OP_EXTRAS);
  return align16(sizeof(tosa_graph)) + align16((uint64_t)c->tensors * sizeof(tosa_tensor)) +
         align16((uint64_t)c->ops * sizeof(tosa_op)) +
         align16((uint64_t)c->calls * sizeof(tosa_call)) +
         align16((uint64_t)values * sizeof(ptec_value)) +
         align16((uint64_t)c->operands * sizeof(int32_t));
}

/* Index of the tensor called `name`, -1 if none. */
static int32_t find_tensor(const tosa_graph *g, const char *name, uint32_t len) {
  for (uint32_t i = 0; i < g->num_tensors; i++) {
    /* Lengths first: memcmp must not read past the shorter name. */
    const tosa_tensor *t = &g->tensors[i];
    if (t->name_len == len && memcmp(t->name, name, len) == 0) return (int32_t)i;
  }
  return -1;
}

static ptec_status resolve_names(tosa_graph *g, const fb_vector *names, int32_t *out,
                                 const char *what, uint32_t op_index) {
  for (uint32_t k = 0; k < names->len; k++) {
    const char *name;
    uint32_t len;
    if (!tosa_string_at(&g->r, names, k, &name, &len)) {
      return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA %s name %u of operator %u is outside the "
                       "data or not a terminated string", what, k, op_index);
    }
    int32_t t = find_tensor(g, name, len);
    if (t < 0) {
      return tosa_fail(g, PTEC_STATUS_INDEX_OUT_OF_RANGE, "TOSA operator %u: %s '%s' is not a "
                       "tensor of the block", op_index, what, name);
    }
    out[k] = t;
  }
  return PTEC_STATUS_OK;
}

static ptec_status read_tensors(tosa_graph *g, const tosa_block_view *b) {
  for (uint32_t i = 0; i < tosa_block_tensors(b); i++) {
    tosa_tensor_info ti;
    ptec_status s = tosa_read_tensor(&g->r, b, i, &ti, g->message, g->message_capacity);
    if (s != PTEC_STATUS_OK) return s;
    tosa_tensor *t = &g->tensors[i];
    memset(t, 0, sizeof *t);
    t->name = ti.name;
    t->name_len = ti.name_len;
    if (find_tensor(g, ti.name, ti.name_len) >= 0) {
      return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA tensor name '%s' is used twice", ti.name);
    }
    g->num_tensors = i + 1;
    t->type = ti.type;
    t->producer = -1;
    memcpy(t->sizes, ti.sizes, sizeof ti.sizes);
    t->t.sizes = t->sizes;
    t->t.dim_order = k_identity_order;
    t->t.rank = (uint8_t)ti.rank;
    t->t.numel = (size_t)ti.numel;
    t->t.nbytes = (size_t)ti.nbytes;
    t->t.dtype = (uint8_t)tosa_ptec_dtype(ti.type);
    if (ti.has_data) {
      t->flags |= TOSA_T_CONST;
      t->t.is_constant = true;
      t->t.data = (void *)(uintptr_t)(g->r.buf + ti.data.data); /* read-only: never an out */
    }
    g->values[i].tag = PTEC_VALUE_TENSOR;
    g->values[i].u.tensor = &t->t;
  }
  return PTEC_STATUS_OK;
}

static ptec_status read_io(tosa_graph *g, const tosa_block_view *b) {
  ptec_status s = resolve_names(g, &b->inputs, g->inputs, "graph input", 0);
  if (s == PTEC_STATUS_OK) s = resolve_names(g, &b->outputs, g->outputs, "graph output", 0);
  if (s != PTEC_STATUS_OK) return s;
  g->num_inputs = b->inputs.len;
  g->num_outputs = b->outputs.len;
  for (uint32_t k = 0; k < g->num_inputs + g->num_outputs; k++) {
    const tosa_tensor *t = &g->tensors[k < g->num_inputs ? g->inputs[k]
                                                         : g->outputs[k - g->num_inputs]];
    if (t->type == TOSA_DTYPE_INT48) {
      return tosa_fail(g, PTEC_STATUS_NOT_SUPPORTED, "TOSA graph %s '%s' is INT48, which no "
                       ".pte tensor dtype holds (EXT-INT16 keeps INT48 inside the graph: "
                       "RESCALE it to INT32, INT16 or INT8)",
                       k < g->num_inputs ? "input" : "output", t->name);
    }
  }
  for (uint32_t k = 0; k < g->num_inputs; k++) {
    tosa_tensor *t = &g->tensors[g->inputs[k]];
    if (t->flags & (TOSA_T_INPUT | TOSA_T_CONST)) {
      return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA graph input '%s' is listed twice or is a "
                       "constant", t->name);
    }
    t->flags |= TOSA_T_INPUT;
    t->io = (int32_t)k;
  }
  for (uint32_t k = 0; k < g->num_outputs; k++) {
    tosa_tensor *t = &g->tensors[g->outputs[k]];
    if (t->flags & TOSA_T_OUTPUT) {
      return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA graph output '%s' is listed twice",
                       t->name);
    }
    t->flags |= TOSA_T_OUTPUT;
  }
  return PTEC_STATUS_OK;
}

static ptec_status read_operator(tosa_graph *g, const tosa_block_view *b, uint32_t i,
                                 uint32_t *next_operand) {
  fb_reader *r = &g->r;
  fb_table t;
  fb_vector ins, outs;
  uint32_t code;
  uint8_t attr_type;
  tosa_op *op = &g->ops[i];
  memset(op, 0, sizeof *op);
  op->fused_into = -1;
  ptec_status s = fb_vector_table(r, &b->operators, i, &t);
  if (s == PTEC_STATUS_OK) s = fb_u32(r, &t, TOSA_OPERATOR_OP, 0, &code);
  if (s == PTEC_STATUS_OK) s = fb_u8(r, &t, TOSA_OPERATOR_ATTRIBUTE_TYPE, 0, &attr_type);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &t, TOSA_OPERATOR_INPUTS, 4, &ins, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(r, &t, TOSA_OPERATOR_OUTPUTS, 4, &outs, NULL);
  if (s != PTEC_STATUS_OK) {
    return fb_failed(r, s, g->message, g->message_capacity, "operator");
  }
  if (code == TOSA_OP_UNKNOWN || code >= TOSA_OP_COUNT_) {
    return tosa_fail(g, PTEC_STATUS_BAD_ENUM, "TOSA operator %u has unknown op code %u", i, code);
  }
  if (attr_type != 0 && attr_type != code) {
    return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA operator %u (%s) carries attribute type %u, "
                     "not its own (%u)", i, tosa_op_name(code), attr_type, code);
  }
  op->code = code;
  if (code != TOSA_OP_CONST && code != TOSA_OP_CONST_SHAPE) {
    if (g->num_calls >= g->max_calls) {
      return tosa_fail(g, PTEC_STATUS_INTERNAL, "TOSA operator count changed between passes");
    }
    op->call = &g->calls[g->num_calls];
    op->call->index = g->num_calls++;
  }
  op->in_at = *next_operand;
  op->num_in = ins.len;
  op->out_at = op->in_at + ins.len;
  op->num_out = outs.len;
  *next_operand = op->out_at + outs.len;
  if (*next_operand > g->num_operands) {
    return tosa_fail(g, PTEC_STATUS_INTERNAL, "TOSA operand count changed between passes");
  }
  s = resolve_names(g, &ins, g->operands + op->in_at, "input", i);
  if (s == PTEC_STATUS_OK) s = resolve_names(g, &outs, g->operands + op->out_at, "output", i);
  if (s != PTEC_STATUS_OK) return s;
  /* Operands must be defined before use: the operator list is then a
   * topological order and the graph has no cycle. */
  for (uint32_t k = 0; k < op->num_in; k++) {
    tosa_tensor *x = tosa_in(g, op, k);
    if (x->producer < 0 && !(x->flags & (TOSA_T_INPUT | TOSA_T_CONST))) {
      return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA operator %u (%s) reads '%s' before any "
                       "operator defines it (cycle or bad order)", i, tosa_op_name(code), x->name);
    }
    x->readers++;
  }
  bool is_const = code == TOSA_OP_CONST || code == TOSA_OP_CONST_SHAPE;
  for (uint32_t k = 0; k < op->num_out; k++) {
    tosa_tensor *y = tosa_out(g, op, k);
    if (y->producer >= 0 || (y->flags & TOSA_T_INPUT)) {
      return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA operator %u (%s) writes '%s', which is "
                       "already defined", i, tosa_op_name(code), y->name);
    }
    if (is_const != ((y->flags & TOSA_T_CONST) != 0)) {
      return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA operator %u (%s): output '%s' %s data",
                       i, tosa_op_name(code), y->name, is_const ? "lacks" : "must not have");
    }
    y->producer = (int32_t)i;
  }
  return PTEC_STATUS_OK;
}

/* Constants whose data the blob does not align to their element size: copied
 * into the arena, where tosa_count counted them, so kernels read them aligned. */
static ptec_status align_constants(tosa_graph *g) {
  for (uint32_t i = 0; i < g->num_tensors; i++) {
    tosa_tensor *t = &g->tensors[i];
    size_t elem = element_size(t->type);
    if (!(t->flags & TOSA_T_CONST) || t->type == TOSA_DTYPE_INT48 || elem == 0 ||
        (uintptr_t)t->t.data % elem == 0) {
      continue;
    }
    void *copy = tosa_arena_take(g, t->t.nbytes);
    if (copy == NULL) {
      return tosa_fail(g, PTEC_STATUS_INTERNAL, "TOSA arena too small for constant '%s'",
                       t->name);
    }
    memcpy(copy, t->t.data, t->t.nbytes);
    t->t.data = copy;
  }
  return PTEC_STATUS_OK;
}

/* INT48 constants: six little-endian bytes per value in the blob, widened
 * (sign-extended) to int64 in the arena, where tosa_count counted them. */
static ptec_status widen_int48(tosa_graph *g) {
  for (uint32_t i = 0; i < g->num_tensors; i++) {
    tosa_tensor *t = &g->tensors[i];
    if (t->type != TOSA_DTYPE_INT48 || !(t->flags & TOSA_T_CONST)) continue;
    int64_t *w = tosa_arena_take(g, t->t.nbytes);
    if (w == NULL) {
      return tosa_fail(g, PTEC_STATUS_INTERNAL, "TOSA arena too small for INT48 constant '%s'",
                       t->name);
    }
    const uint8_t *b = t->t.data;
    for (size_t k = 0; k < t->t.numel; k++, b += 6) {
      uint64_t u = (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 |
                   (uint64_t)b[3] << 24 | (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40;
      /* sign-extend bit 47 without shifting a negative value */
      w[k] = (u & ((uint64_t)1 << 47)) ? -(int64_t)(((uint64_t)1 << 48) - u) : (int64_t)u;
    }
    t->t.data = w;
  }
  return PTEC_STATUS_OK;
}

ptec_status tosa_read(const ptec_delegate_blob *blob, const tosa_counts *c, void *memory,
                      size_t bytes, tosa_graph **out, char *msg, size_t cap) {
  size_t need = tosa_structures_size(c);
  if (bytes < need || (uintptr_t)memory % 16 != 0) {
    ptec_format(msg, cap, "TOSA delegate memory of %zu bytes is too small or misaligned", bytes);
    return PTEC_STATUS_OUT_OF_MEMORY;
  }
  uint8_t *mem = memory;
  memset(mem, 0, need);
  tosa_graph *g = (tosa_graph *)mem;
  size_t at = align16(sizeof(tosa_graph));
  g->tensors = (tosa_tensor *)(mem + at);
  at += align16((uint64_t)c->tensors * sizeof(tosa_tensor));
  g->ops = (tosa_op *)(mem + at);
  at += align16((uint64_t)c->ops * sizeof(tosa_op));
  g->calls = (tosa_call *)(mem + at);
  at += align16((uint64_t)c->calls * sizeof(tosa_call));
  g->values = (ptec_value *)(mem + at);
  at += align16(((uint64_t)c->tensors + (uint64_t)c->calls * (TOSA_OP_VIEWS + TOSA_OP_EXTRAS)) *
                sizeof(ptec_value));
  g->operands = (int32_t *)(mem + at);
  at += align16((uint64_t)c->operands * sizeof(int32_t));
  g->arena = mem + at;
  g->arena_size = bytes - at;
  g->num_operands = c->operands;
  g->max_calls = c->calls;
  g->message = msg;
  g->message_capacity = cap;
  *out = g;

  tosa_block_view b;
  ptec_status s = tosa_open_block(blob, &b, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  g->r = b.r;
  if (tosa_block_tensors(&b) != c->tensors || b.operators.len != c->ops) {
    return tosa_fail(g, PTEC_STATUS_INTERNAL, "TOSA blob changed between passes");
  }
  g->num_ops = b.operators.len;
  s = read_tensors(g, &b);
  if (s == PTEC_STATUS_OK) s = read_io(g, &b);
  uint32_t next_operand = 0;
  for (uint32_t i = 0; s == PTEC_STATUS_OK && i < g->num_ops; i++) {
    s = read_operator(g, &b, i, &next_operand);
  }
  if (s != PTEC_STATUS_OK) return s;
  for (uint32_t k = 0; k < g->num_outputs; k++) {
    tosa_tensor *t = &g->tensors[g->outputs[k]];
    if (t->producer < 0 && !(t->flags & (TOSA_T_INPUT | TOSA_T_CONST))) {
      return tosa_fail(g, PTEC_STATUS_MALFORMED, "TOSA graph output '%s' is never defined",
                       t->name);
    }
  }
  uint64_t activations;
  s = tosa_plan(&b, g, &activations, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  if (activations != c->activations || activations > g->arena_size) {
    return tosa_fail(g, PTEC_STATUS_INTERNAL, "TOSA plan changed between passes");
  }
  g->arena_used = (size_t)activations;
  s = widen_int48(g);
  if (s == PTEC_STATUS_OK) s = align_constants(g);
  if (s == PTEC_STATUS_OK) s = tosa_prepare_ops(g);
  return s;
}
