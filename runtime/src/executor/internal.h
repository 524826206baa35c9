/* Shared between the executor's files (and ptec-run --describe); not API. */
#ifndef PTEC_EXECUTOR_INTERNAL_H
#define PTEC_EXECUTOR_INTERNAL_H

#include <string.h>

#include "backends/backend.h"
#include "core/checked.h"
#include "core/value.h"
#include "format/flatbuffer.h"
#include "format/pte_schema.h"
#include "kernels/kernel.h"
#include "ptec/ptec.h"

/* The maximum number of instructions one execute may run (loops included): a jump_false
 * back to itself or to a kernel loops until here. 10 M took 12 s under ASan (fuzz_pte_edit:
 * a kernel call retagged as a jump); ptec's programs run hundreds. */
#define PTEC_MAX_EXECUTED_INSTRUCTIONS 1000000u

/*
 * A decoded instruction, 8 bytes. `b` holds the kind (INSTR_*) in its top
 * three bits; methods with more than 2^29 values, instructions or delegates
 * are refused at load.
 */
typedef struct ptec_instruction {
  uint32_t a; /* kernel and delegate calls: program offset of the args vector (its length
               * word); move: source; jump_false: condition; free: the value */
  uint32_t b; /* kind << 29 | kernel table index, delegate index, move destination or
               * jump destination */
} ptec_instruction;

#define PTEC_INSTR_SHIFT 29
#define PTEC_INSTR_KIND(ins) ((ins)->b >> PTEC_INSTR_SHIFT)
#define PTEC_INSTR_B(ins) ((ins)->b & ((1u << PTEC_INSTR_SHIFT) - 1))

typedef struct ptec_delegate_instance {
  const ptec_backend *backend;
  void *handle;
} ptec_delegate_instance;

/* A value whose binding changes at run time: a tensor input (an unplanned
 * one is bound by set_input), the output of a view kernel, or the
 * destination of a move. The method's entries are sorted by `value`, so a
 * lookup is a binary search (values.c). */
typedef struct ptec_value_state {
  uint32_t value; /* value index */
  uint32_t alias; /* the value it reads as: itself until a move writes it */
  void *data;     /* its tensor's data; NULL: where the program places it */
  bool moved;     /* a move's destination (set by the call cache, which leaves calls that
                  * read one uncached) */
} ptec_value_state;

/* A DYNAMIC_BOUND tensor's current sizes: the upper bound the program
 * states until a kernel resizes it (ptec_tensor_resize), within its planned
 * bytes. Kept across executes, like planned memory. */
typedef struct ptec_dynamic_shape {
  uint32_t value; /* value index */
  int32_t sizes[PTEC_MAX_RANK];
} ptec_dynamic_shape;

/* The arguments of the instruction being run (or prepared): its values,
 * decoded from the program, in as many slots as it has distinct values. The
 * kernel context's value table is `values`, its args `args`. */
typedef struct ptec_frame {
  ptec_value *values;   /* slot -> value */
  ptec_tensor *tensors; /* slot -> its tensor */
  uint32_t *origin;     /* slot -> value index */
  int32_t *args;        /* argument -> slot */
  int32_t *lists;       /* tensor list items, as slots */
  int64_t *items;       /* int list items */
  uint32_t used, lists_used, items_used;
} ptec_frame;

/* The parts of an ExecutionPlan a method uses. */
typedef struct plan_view {
  fb_table plan;
  union {
    fb_vector vectors[7]; /* fields PLAN_VALUES .. PLAN_NON_CONST_BUFFER_SIZES */
    struct {
      fb_vector values, inputs, outputs, chains, operators, delegates, buffer_sizes;
    };
  };
  fb_vector instructions; /* of the single chain; empty if there is none */
} plan_view;

/* What a method needs in method memory, counted while it is verified. */
typedef struct method_layout {
  uint32_t states;          /* value state entries (with repeats) */
  uint32_t shapes;          /* DYNAMIC_BOUND tensors */
  uint32_t slots, lists, items; /* the largest frame of one instruction */
  uint32_t list_args;       /* the most list arguments of one instruction */
  uint32_t moved_list;      /* the longest list a move reads (0 if none) */
  uint32_t backends;        /* delegate backends' memory, in 16-byte units */
  size_t total;
} method_layout;

/* call_cache.c: a call or jump_false decoded once, its frame kept in the
 * call cache. What can change between runs is re-read before each run from
 * its `refresh` entries: the data of a value bound at run time (unplanned
 * input, view output) and the sizes of a DYNAMIC_BOUND tensor. An
 * instruction that reads a move's destination (whose alias changes) is not
 * cached (values NULL): it is decoded when it runs, as without the cache. */
typedef struct ptec_cache_refresh {
  ptec_tensor *t;
  ptec_value_state *e; /* NULL: only dynamic sizes to re-read */
} ptec_cache_refresh;

typedef struct ptec_cached_call {
  ptec_value *values; /* slot -> value; NULL: not cached */
  const int32_t *args; /* argument -> slot */
  uint32_t num_args, num_refresh;
  ptec_cache_refresh *refresh;
} ptec_cached_call;


/* Records a message on the program and returns `status`. */
ptec_status ptec_program_fail(ptec_program *prog, ptec_status status, const char *fmt, ...);
/* The same for a failed read: "what: reason (byte N)". */
ptec_status ptec_program_fb_fail(ptec_program *prog, const fb_reader *r, const char *what);

/* A reader over the program's FlatBuffer bytes. */
void ptec_program_reader(const ptec_program *prog, fb_reader *r);

/* The ExecutionPlan table of method `index`. */
ptec_status ptec_program_plan(ptec_program *prog, size_t index, fb_reader *r, fb_table *plan);

/* Segment `index`, bounds-checked at load. */
ptec_status ptec_program_segment(ptec_program *prog, fb_reader *r, uint32_t index,
                                 const uint8_t **data, size_t *size);

/* Bytes of delegate data for a BackendDelegateDataReference. */
ptec_status ptec_program_delegate_data(ptec_program *prog, fb_reader *r, const fb_table *ref,
                                       const uint8_t **data, size_t *size);

/* values.c: the union tag and payload of value `i` (index, tag and table
 * checked). */
ptec_status ptec_value_at(ptec_method *m, fb_reader *r, uint32_t i, uint8_t *tag,
                          fb_table *payload);
/* values.c: value `i` as the program describes it, verified: every tag,
 * index, size and offset. A tensor goes to `t` (with its run-time binding,
 * if it has one); an int list's items to `items` (NULL: checked only). */
ptec_status ptec_value_read(ptec_method *m, fb_reader *r, uint32_t i, ptec_value *v,
                            ptec_tensor *t, int64_t *items);
/* values.c: the value `i` currently reads as (moves), and its state entry. */
uint32_t ptec_value_resolve(const ptec_method *m, uint32_t i);
/* A planned tensor's initial data (a mutable buffer's starting value), or
 * *initial = NULL for any other value (state.c). */
ptec_status ptec_value_initial_data(ptec_method *m, fb_reader *r, uint32_t i, ptec_tensor *t,
                                    const void **initial);
/* Writes every mutable buffer's initial data into its planned memory. */
ptec_status ptec_method_load_state(ptec_method *m);
ptec_value_state *ptec_value_state_of(const ptec_method *m, uint32_t i);
/* values.c: value `i` is rebound at run time: counted into `l`, and given a
 * state entry once m->states exists (at init). */
void ptec_value_state_note(ptec_method *m, method_layout *l, uint32_t i);

/* values.c: the current sizes of DYNAMIC_BOUND value `i` (NULL: none, or
 * before init); and, at verify, value `i` is a dynamic tensor: counted into
 * `l`, and given an entry at its upper-bound sizes once m->shapes exists. */
ptec_dynamic_shape *ptec_dynamic_shape_of(const ptec_method *m, uint32_t i);
void ptec_dynamic_shape_note(ptec_method *m, method_layout *l, uint32_t i,
                             const ptec_tensor *t);

/* instructions.c: verifies instruction `i` and decodes it into `ins`;
 * counts what its frame needs into `l` and notes the values it rebinds. A
 * failure's message does not name the instruction: the caller adds it. */
ptec_status ptec_decode_instruction(ptec_method *m, fb_reader *r, const plan_view *pv,
                                    uint32_t i, ptec_instruction *ins, method_layout *l);
/* control_flow.c (or without/no_control_flow.c, which refuses them): verifies a
 * move or jump_false (kind) from value `a` to value / instruction `b`, noting
 * what it rebinds into `l`; runs one, setting *pc when a jump is taken (its
 * condition from the call cache if the method has one). */
ptec_status ptec_control_decode(ptec_method *m, fb_reader *r, const plan_view *pv,
                                uint32_t kind, int32_t a, int32_t b, method_layout *l);
ptec_status ptec_control_step(ptec_method *m, fb_reader *r, const ptec_instruction *ins,
                              uint32_t *pc);

/* A value tag's name for messages, and whether it is a list. */
static inline const char *ptec_value_tag_name(uint32_t tag) {
  static const char *const names[] = {"?",      "None",   "int",         "bool",
                                      "double", "tensor", "string",      "int list",
                                      "double list", "bool list", "tensor list",
                                      "optional tensor list"};
  return tag < sizeof names / sizeof names[0] ? names[tag] : "?";
}

static inline bool ptec_value_is_list(uint32_t tag) {
  return tag == PTEC_VALUE_INT_LIST || tag == PTEC_VALUE_TENSOR_LIST ||
         tag == PTEC_VALUE_OPTIONAL_TENSOR_LIST;
}

/* instructions.c: "move", "jump_false", ... (INSTR_*), as execution hooks see them. */
const char *ptec_instruction_kind_name(uint32_t kind);
/* instructions.c: loads `n` arguments (value indices: a call's, from
 * ptec_instruction_args, or a jump's condition) into the frame and `ctx`. */
ptec_status ptec_frame_load_args(ptec_method *m, fb_reader *r, const int32_t *args, uint32_t n,
                                 ptec_kernel_context *ctx);
/* instructions.c: keeps the bindings a kernel made (view outputs). */
void ptec_frame_store(ptec_method *m);
/* instructions.c: "instruction N: " before a message (of PTEC_MESSAGE_CAPACITY). */
void ptec_prefix_message(char *message, uint32_t instruction);
/* execute.c: runs a kernel or delegate call (or, `prepare`, a kernel's
 * prepare function, if it has one). */
ptec_status ptec_call(ptec_method *m, fb_reader *r, const ptec_instruction *ins, bool prepare);
/* instructions.c: runs each kernel's prepare function (static checks). */
ptec_status ptec_prepare_kernels(ptec_method *m);

/* The arguments of a kernel or delegate call, in the program. */
static inline const int32_t *ptec_instruction_args(const ptec_method *m,
                                                   const ptec_instruction *ins, uint32_t *n) {
  const uint8_t *p = m->program->data + ins->a;
  uint32_t len;
  memcpy(&len, p, sizeof len);
  *n = len;
  return (const int32_t *)(const void *)(p + 4);
}

static inline size_t ptec_align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

/* Shared by execute.c, inspect.c and scalar_inputs.c (inline: each object keeps
 * only what it uses). */
static inline ptec_status ptec_method_check_ready(const ptec_method *m) {
  if (m == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  return m->initialized ? PTEC_STATUS_OK : PTEC_STATUS_INVALID_STATE;
}

/* A read from the program failed (it changed since init): its message. */
static inline ptec_status ptec_method_program_failed(ptec_method *m, ptec_status s) {
  memcpy(m->message, m->program->message, sizeof m->message);
  return s;
}

/* Value `index` (checked) as a tensor; after init, reads cannot fail unless
 * the program changed. */
static inline ptec_status ptec_method_value_tensor(const ptec_method *m, uint32_t index,
                                                   ptec_value *v, ptec_tensor *t) {
  if (index >= m->num_values) return PTEC_STATUS_INVALID_ARGUMENT;
  fb_reader r;
  ptec_method *mm = (ptec_method *)m;
  ptec_program_reader(m->program, &r);
  ptec_status s = ptec_value_read(mm, &r, ptec_value_resolve(m, index), v, t, NULL);
  if (s != PTEC_STATUS_OK) return ptec_method_program_failed(mm, s);
  return v->tag == PTEC_VALUE_TENSOR ? PTEC_STATUS_OK : PTEC_STATUS_TYPE_MISMATCH;
}

static inline void ptec_fill_view(const ptec_tensor *t, ptec_tensor_view *out) {
  memset(out, 0, sizeof *out);
  out->data = t->data;
  out->nbytes = t->nbytes;
  out->dtype = t->dtype;
  out->rank = t->rank;
  memcpy(out->sizes, t->sizes, t->rank * sizeof t->sizes[0]);
  memcpy(out->dim_order, t->dim_order, t->rank);
}

#endif
