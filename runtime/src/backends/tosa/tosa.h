/*
 * The TOSA executor's internal structures (not API).
 *
 * A TOSA 1.0 flatbuffer inside a TOSABackend delegate is read once at
 * method init (tosa_read.c) into a tosa_graph placed at the start of the
 * memory the runtime gives the delegate:
 *
 *   [tosa_graph][tensors][ops][values][operand indices][arena]
 *
 * Everything about the graph is checked there: structure (format/flatbuffer.c
 * verifies every offset), names (each tensor defined once, before its first
 * use: the operator list must be a topological order, so no cycle can pass),
 * types, shapes and ranks against TOSA level 8K, and each operator's
 * attributes and operand shapes (tosa_ops.c and the op_*.c files).
 *
 * Operators run either through an existing kernel of the runtime, called
 * with a ptec_kernel_context built over `values` (one value per TOSA tensor,
 * then per-op extras: ints, int lists, reshaped views of a tensor), or
 * through a small function of their own when no kernel has TOSA's semantics.
 * Graph inputs and outputs use the method's tensors' memory directly; every
 * other non-constant tensor has its own place in the arena.
 */
#ifndef PTEC_BACKENDS_TOSA_TOSA_H
#define PTEC_BACKENDS_TOSA_TOSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/backend.h"
#include "format/flatbuffer.h"
#include "format/tosa_schema.h"
#include "kernels/kernel.h"

/* TOSA level 8K (the level Vela targets), checked at init. */
#define TOSA_MAX_RANK 6
#define TOSA_MAX_KERNEL 8192
#define TOSA_MAX_STRIDE 8192
#define TOSA_MAX_SCALE 256
#define TOSA_MAX_LOG2_SIZE 31  /* elements of a tensor < 2^31 */
#define TOSA_MAX_TENSOR_LIST 64

/* Implementation limits (names are resolved by linear search). */
#define TOSA_MAX_TENSORS 16384
#define TOSA_MAX_OPS 16384

/* Per-operator room for a kernel call's arguments. */
#define TOSA_OP_ARGS 16
#define TOSA_OP_VIEWS 5
#define TOSA_OP_EXTRAS 10
#define TOSA_OP_ITEMS 12
#define TOSA_OP_PARAMS 12

/* tosa_tensor.flags */
enum { TOSA_T_INPUT = 1, TOSA_T_OUTPUT = 2, TOSA_T_CONST = 4 };

struct tosa_graph;
struct tosa_op;
typedef ptec_status (*tosa_run_fn)(struct tosa_graph *g, struct tosa_op *op);

typedef struct tosa_tensor {
  ptec_tensor t;               /* what kernels see; sizes points at `sizes` */
  int32_t sizes[TOSA_MAX_RANK];
  const char *name;            /* NUL-terminated, in the blob */
  uint32_t name_len;
  uint32_t type;               /* TOSA DType */
  uint32_t flags;              /* TOSA_T_* */
  int32_t producer;            /* operator index, -1 if none */
  uint32_t readers;            /* operators reading it */
  int32_t io;                  /* index among the block's inputs (or outputs) */
  int32_t *widened;            /* int8/int16 constant as int32 (scale parameters) */
} tosa_tensor;

/* A reshaped view of a tensor for one kernel call (NHWC as logical NCHW
 * with dim order 0,2,3,1, ...); its data follows its base at execute. */
typedef struct tosa_view {
  ptec_tensor t;
  int32_t sizes[TOSA_MAX_RANK];
  uint8_t order[TOSA_MAX_RANK];
  int32_t base;                /* tensor index, -1: data is fixed */
} tosa_view;

/* What an operator that runs needs (CONST operators have none): a kernel
 * call's arguments, its views and list items. Its extra values are
 * g->values[num_tensors + index * (TOSA_OP_VIEWS + TOSA_OP_EXTRAS) + k]. */
typedef struct tosa_call {
  uint32_t index;
  int32_t args[TOSA_OP_ARGS];
  uint32_t num_args, num_views, num_extras, num_items;
  tosa_view views[TOSA_OP_VIEWS];
  int64_t items[TOSA_OP_ITEMS];
} tosa_call;

typedef struct tosa_op {
  uint32_t code;               /* TOSA Op */
  uint32_t in_at, num_in;      /* operand tensor indices in g->operands */
  uint32_t out_at, num_out;
  tosa_run_fn run;             /* NULL: nothing at execute (CONST, fused) */
  const struct ptec_kernel_entry *kernel; /* for kernel-backed ops */
  tosa_call *call;             /* NULL for CONST and CONST_SHAPE */
  int32_t p[TOSA_OP_PARAMS];   /* decoded attributes, per op */
  int32_t fused_into;          /* operator that runs this one, or -1 */
} tosa_op;

typedef struct tosa_graph {
  fb_reader r;                 /* over the blob (init only) */
  tosa_tensor *tensors;
  tosa_op *ops;
  tosa_call *calls;
  ptec_value *values;          /* tensors, then per-call views and extras */
  int32_t *operands;
  uint32_t num_tensors, num_ops, num_calls, max_calls, num_operands, num_inputs, num_outputs;
  int32_t inputs[TOSA_MAX_TENSOR_LIST], outputs[TOSA_MAX_TENSOR_LIST];
  uint8_t *arena;
  size_t arena_size, arena_used;
  char *message;               /* where failures are described */
  size_t message_capacity;
  ptec_delegate_hook hook;     /* ptec_method_set_delegate_hook's observer, or NULL */
  void *hook_context;
  uint32_t hook_delegate;
} tosa_graph;

/* Counts that fix the memory layout, from a first pass over the blob. */
typedef struct tosa_counts {
  uint32_t tensors, ops, calls, operands; /* calls: operators other than CONST */
  size_t activations;          /* bytes of the planned activations */
  size_t arena;                /* activations and widened constants */
} tosa_counts;

/* The parts of the blob every pass walks (tosa_open_block checks them). */
typedef struct tosa_block_view {
  fb_reader r;
  fb_vector tensors, operators, inputs, outputs;
  fb_vector shapes; /* the block's TosaShape values: tensors after `tensors` */
} tosa_block_view;

/* Tensors of the block: its tensors, then its shapes. */
static inline uint32_t tosa_block_tensors(const tosa_block_view *b) {
  return b->tensors.len + b->shapes.len;
}

/* A tensor's name, shape, type and data, checked against level 8K. */
typedef struct tosa_tensor_info {
  const char *name;
  uint32_t name_len, type, rank;
  int32_t sizes[TOSA_MAX_RANK];
  uint64_t numel, nbytes;
  fb_vector data;
  bool has_data;
  bool unaligned; /* data not aligned to its element: copied into the arena at init */
} tosa_tensor_info;

/* --- tosa_read.c */
ptec_status tosa_open_block(const ptec_delegate_blob *blob, tosa_block_view *b, char *msg,
                            size_t cap);
ptec_status tosa_read_tensor(fb_reader *r, const tosa_block_view *b, uint32_t i,
                             tosa_tensor_info *ti, char *msg, size_t cap);
/* String k of a vector of strings (verified in bounds and terminated). */
bool tosa_string_at(const fb_reader *r, const fb_vector *v, uint32_t k, const char **s,
                    uint32_t *len);

/* --- tosa_plan.c: places activations by lifetime. Runs on the blob alone,
 * so memory_required (g NULL: only the size) and init (g: sets each
 * planned tensor's data) compute the same plan. */
ptec_status tosa_plan(const tosa_block_view *b, tosa_graph *g, uint64_t *bytes, char *msg,
                      size_t cap);

ptec_status tosa_count(const ptec_delegate_blob *blob, tosa_counts *c, char *msg, size_t cap);
/* Lays out the structures in `memory` and reads the whole graph into them. */
ptec_status tosa_read(const ptec_delegate_blob *blob, const tosa_counts *c, void *memory,
                      size_t bytes, tosa_graph **out, char *msg, size_t cap);
size_t tosa_structures_size(const tosa_counts *c);

/* --- tosa_ops.c: per-operator check and set-up at init, dispatch */
ptec_status tosa_prepare_ops(tosa_graph *g);
const char *tosa_op_name(uint32_t code);

/* --- helpers (tosa_util.c) */
ptec_status tosa_fail(tosa_graph *g, ptec_status s, const char *fmt, ...);
ptec_status tosa_op_fail(tosa_graph *g, const tosa_op *op, ptec_status s, const char *fmt, ...);
static inline tosa_tensor *tosa_in(tosa_graph *g, const tosa_op *op, uint32_t k) {
  return &g->tensors[g->operands[op->in_at + k]];
}
static inline tosa_tensor *tosa_out(tosa_graph *g, const tosa_op *op, uint32_t k) {
  return &g->tensors[g->operands[op->out_at + k]];
}
static inline int32_t tosa_in_index(const tosa_graph *g, const tosa_op *op, uint32_t k) {
  return g->operands[op->in_at + k];
}
static inline uint32_t tosa_op_index(const tosa_graph *g, const tosa_op *op) {
  return (uint32_t)(op - g->ops);
}
/* The ptec dtype a TOSA dtype is stored as, -1 if the executor has none. */
int tosa_ptec_dtype(uint32_t type);
const char *tosa_dtype_name(uint32_t type);
bool tosa_same_shape(const tosa_tensor *a, const tosa_tensor *b);
int64_t tosa_numel(const tosa_tensor *t);
/* FP32, or FP16 (PRO-FP) and BF16 (EXT-BF16): the half types are computed in float32 and
 * rounded to nearest even once per result, which TOSA allows ("fp16 ops may be computed
 * in fp32") and which is PyTorch's arithmetic for them. */
static inline bool tosa_is_float(uint32_t type) {
  return type == TOSA_DTYPE_FP32 || type == TOSA_DTYPE_FP16 || type == TOSA_DTYPE_BF16;
}
/* Element i of a float tensor as float32, and a float32 stored (rounded) into one. */
float tosa_load_float(const tosa_tensor *t, int64_t i);
void tosa_store_float(const tosa_tensor *t, int64_t i, float v);
/* Inputs first..last of op must be constant [1] zero points of the float `type`, 0. */
ptec_status tosa_check_float_zps(tosa_graph *g, const tosa_op *op, uint32_t first,
                                 uint32_t last, uint32_t type);

/* Reads a constant's single value (zero points, shift): the tensor must be
 * a constant of `type` with exactly one element. */
ptec_status tosa_const_scalar(tosa_graph *g, const tosa_op *op, uint32_t k, uint32_t type,
                              const char *what, int64_t *v);
/* Reads a CONST_SHAPE operand: its int64 values (at most TOSA_MAX_RANK*2). */
ptec_status tosa_const_shape(tosa_graph *g, const tosa_op *op, uint32_t k, int64_t *v,
                             uint32_t cap, uint32_t *n);
/* Attribute access: the op's attribute table (fails unless present and of
 * the op's type), then fields of it. */
ptec_status tosa_attr(tosa_graph *g, const tosa_op *op, fb_table *attr);
ptec_status tosa_attr_i32s(tosa_graph *g, const tosa_op *op, const fb_table *attr,
                           unsigned field, int32_t *v, uint32_t n, const char *what);

/* nan_mode must be PROPAGATE or IGNORE (BAD_ENUM otherwise, as the
 * reference model rules). */
ptec_status tosa_check_nan_mode(tosa_graph *g, const tosa_op *op, uint32_t nan_mode);

/* Kernel-call building (args of op->args). */
int32_t tosa_value_int(tosa_graph *g, tosa_op *op, int64_t v);
int32_t tosa_value_bool(tosa_graph *g, tosa_op *op, bool v);
int32_t tosa_value_double(tosa_graph *g, tosa_op *op, double v);
int32_t tosa_value_none(tosa_graph *g, tosa_op *op);
int32_t tosa_value_list(tosa_graph *g, tosa_op *op, const int64_t *v, uint32_t n);
int32_t tosa_value_tensor_list(tosa_graph *g, tosa_op *op, const int32_t *tensors, uint32_t n);
/* A view of tensor `base` with other sizes and dim order (same bytes). */
int32_t tosa_value_view(tosa_graph *g, tosa_op *op, int32_t base, uint32_t rank,
                        const int32_t *sizes, const uint8_t *order);
/* A constant int32 tensor of `n` values stored in `storage` (method memory). */
int32_t tosa_value_i32_tensor(tosa_graph *g, tosa_op *op, int32_t *storage, uint32_t n);
/* Looks up `name` in the kernel table; the op then runs it with op->args. */
ptec_status tosa_use_kernel(tosa_graph *g, tosa_op *op, const char *name);
/* Calls the op's kernel's prepare (static checks) now, at init. */
ptec_status tosa_prepare_kernel(tosa_graph *g, tosa_op *op);
ptec_status tosa_run_kernel(tosa_graph *g, tosa_op *op);
/* Reserves `bytes` of arena (16-byte aligned); NULL if it does not fit. */
void *tosa_arena_take(tosa_graph *g, size_t bytes);

/* RESCALE's checked parameters (op_rescale.c); CONV2D and MATMUL use them
 * to fuse a RESCALE that follows them. */
typedef struct tosa_rescale_params {
  bool scale32, per_channel, in_unsigned, out_unsigned;
  int32_t in_zp, out_zp;
  uint32_t channels;           /* multiplier and shift length */
} tosa_rescale_params;
ptec_status tosa_rescale_check(tosa_graph *g, const tosa_op *op, tosa_rescale_params *p);
/* The only reader of tensor `t` if it is a RESCALE that can be fused into
 * its producer (not a graph output, one reader), else NULL. */
tosa_op *tosa_fusable_rescale(tosa_graph *g, int32_t t);
/* Fuses `rescale` into `op`: op's kernel writes the requantized result
 * into the int32 intermediate's place (it is live until the RESCALE, so
 * nothing else uses it), and the RESCALE only copies those bytes to its
 * output. Returns the value of the kernel's output view (the intermediate's
 * bytes, with the RESCALE output's dtype and the given logical shape). */
int32_t tosa_fuse_rescale(tosa_graph *g, tosa_op *op, tosa_op *rescale, uint32_t rank,
                          const int32_t *sizes, const uint8_t *order);
/* Values for `rescale`'s multiplier and shift as int32 tensors, owned by
 * `op` (the RESCALE itself or the operator it is fused into). */
ptec_status tosa_rescale_scale_values(tosa_graph *g, tosa_op *op, tosa_op *rescale,
                                      int32_t *m_value, int32_t *s_value);

/* --- the operator families: check attributes and operands, choose how to run. */
ptec_status tosa_setup_conv(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_conv_more(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_matmul(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_resize(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_rescale(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_table(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_pool(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_elementwise(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_reduce(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_layout(tosa_graph *g, tosa_op *op);
ptec_status tosa_setup_gather(tosa_graph *g, tosa_op *op);

#endif /* PTEC_BACKENDS_TOSA_TOSA_H */
