/* Fuzz target (f): structure-aware. An input is a valid program plus an edit script
 * (fuzz_program.h's container); the script changes the program's values in place, where
 * the schema puts them, and the edited program runs: load -> init -> execute. The file
 * stays a valid FlatBuffer (every offset, vtable and alignment as before), so the inputs
 * get past the reader into the checks of init, the kernels' prepare and run paths.
 *
 * The seeds (make_corpus.py) are the corpus programs re-encoded with every scalar field
 * written, defaults too, so that a zero (an Int of 0, scalar type BYTE, offset 0) is a
 * field the script can change.
 *
 * What a script can reach, per execution plan: each Int, Double and Bool value; each
 * tensor's scalar type, storage offset, sizes, dim order, data buffer index, shape
 * dynamism and planned placement (memory id, offset); the items of every list; the
 * value indices of instruction arguments, chain and plan inputs and outputs, move, jump
 * and free calls (which value an argument points at); operator and delegate indices; the
 * union tags of values and instructions; the planned buffer sizes. Vector lengths can
 * shrink (a rank-4 tensor becomes rank 2, a list loses items); nothing can grow.
 *
 * A script is a list of 8-byte records: u16 slot (modulo the number of slots), u8 op,
 * u8 arg, i32 value. */
#include <float.h>
#include <math.h>
#include <stdio.h>

#include "format/flatbuffer.h"
#include "format/pte_schema.h"
#include "fuzz_program.h"

static const char MAGIC[4] = {'P', 'T', 'E', 'D'};
enum { RECORD = 8, MAX_RECORDS = 64, MAX_SLOTS = 8192, MAX_VECTOR_ITEMS = 64 };

enum kind {
  K_INT,    /* a signed integer of `width` bytes */
  K_DOUBLE, /* a double */
  K_BOOL,   /* a bool byte */
  K_INDEX,  /* a value index (limit: the number of values) */
  K_LEN,    /* a vector's length (limit: the length written; only shrinks) */
  K_TAG,    /* a union tag (limit: tags + 1) */
  K_SMALL,  /* scalar type, dim order entry: a small unsigned byte (limit) */
};

typedef struct slot {
  uint32_t pos;
  uint8_t width;
  uint8_t kind;
  uint32_t limit;
} slot;

typedef struct walk {
  fb_reader r;
  slot slots[MAX_SLOTS];
  size_t n;
} walk;

static void add(walk *w, uint32_t pos, unsigned width, enum kind kind, uint32_t limit) {
  if (pos != 0 && w->n < MAX_SLOTS)
    w->slots[w->n++] = (slot){pos, (uint8_t)width, (uint8_t)kind, limit};
}

/* Where a table's field lives, 0 if absent (the reader has checked the vtable). */
static uint32_t field_pos(const walk *w, const fb_table *t, unsigned field) {
  size_t at = 4 + 2 * (size_t)field;
  uint16_t off;
  if (w->r.status != PTEC_STATUS_OK || at + 2 > t->vtable_size) return 0;
  memcpy(&off, w->r.buf + t->vtable + at, sizeof off);
  return off != 0 && off < t->table_size ? t->pos + off : 0;
}

static void add_field(walk *w, const fb_table *t, unsigned field, unsigned width,
                      enum kind kind, uint32_t limit) {
  uint32_t pos = field_pos(w, t, field);
  if (pos != 0 && (size_t)pos + width <= (size_t)t->pos + t->table_size)
    add(w, pos, width, kind, limit);
}

/* A vector of scalars: its length, then its first items. */
static void add_vector(walk *w, const fb_table *t, unsigned field, unsigned width,
                       enum kind kind, uint32_t limit) {
  fb_vector v;
  if (!fb_vec(&w->r, t, field, width, &v)) return;
  add(w, v.data - 4, 4, K_LEN, v.len);
  for (uint32_t i = 0; i < v.len && i < MAX_VECTOR_ITEMS; i++)
    add(w, v.data + width * i, width, kind, limit);
}

static void walk_value(walk *w, const fb_table *ev, uint32_t num_values) {
  add_field(w, ev, EVALUE_VAL_TYPE, 1, K_TAG, PTE_KERNEL_TYPES_MAX + 1);
  unsigned tag = (unsigned)fb_get(&w->r, ev, EVALUE_VAL_TYPE, 1);
  fb_table p, alloc, extra;
  if (!fb_tab(&w->r, ev, EVALUE_VAL, &p)) return;
  switch (tag) {
    case 2: add_field(w, &p, SCALAR_VALUE, 8, K_INT, 0); break;    /* Int */
    case 3: add_field(w, &p, SCALAR_VALUE, 1, K_BOOL, 0); break;   /* Bool */
    case 4: add_field(w, &p, SCALAR_VALUE, 8, K_DOUBLE, 0); break; /* Double */
    case 5:                                                         /* Tensor */
      add_field(w, &p, TENSOR_SCALAR_TYPE, 1, K_SMALL, 32);
      add_field(w, &p, TENSOR_STORAGE_OFFSET, 4, K_INT, 0);
      add_vector(w, &p, TENSOR_SIZES, 4, K_INT, 0);
      add_vector(w, &p, TENSOR_DIM_ORDER, 1, K_SMALL, PTEC_MAX_RANK + 1);
      add_field(w, &p, TENSOR_DATA_BUFFER_IDX, 4, K_INT, 0);
      add_field(w, &p, TENSOR_SHAPE_DYNAMISM, 1, K_SMALL, 4);
      if (fb_tab(&w->r, &p, TENSOR_ALLOCATION_INFO, &alloc))
        for (unsigned f = ALLOCATION_MEMORY_ID; f <= ALLOCATION_OFFSET_HIGH; f++)
          add_field(w, &alloc, f, 4, K_INT, 0);
      if (fb_tab(&w->r, &p, TENSOR_EXTRA_TENSOR_INFO, &extra))
        add_field(w, &extra, EXTRA_LOCATION, 1, K_SMALL, 3);
      break;
    case 7: add_vector(w, &p, LIST_ITEMS, 8, K_INDEX, num_values); break; /* IntList */
    case 8: add_vector(w, &p, LIST_ITEMS, 8, K_DOUBLE, 0); break;         /* DoubleList */
    case 9: add_vector(w, &p, LIST_ITEMS, 1, K_BOOL, 0); break;           /* BoolList */
    case 10:                                                  /* (Optional)TensorList */
    case 11: add_vector(w, &p, LIST_ITEMS, 4, K_INDEX, num_values); break;
    default: break;
  }
}

typedef struct counts {
  uint32_t values, ops, delegates, instructions;
} counts;

static void walk_instruction(walk *w, const fb_table *in, const counts *n) {
  add_field(w, in, INSTRUCTION_ARGS_TYPE, 1, K_TAG, INSTR_COUNT_);
  unsigned tag = (unsigned)fb_get(&w->r, in, INSTRUCTION_ARGS_TYPE, 1);
  fb_table a;
  if (!fb_tab(&w->r, in, INSTRUCTION_ARGS, &a)) return;
  switch (tag) {
    case INSTR_KERNEL_CALL:
    case INSTR_DELEGATE_CALL:
      add_field(w, &a, KERNEL_CALL_OP_INDEX, 4, K_INDEX,
                tag == INSTR_KERNEL_CALL ? n->ops : n->delegates);
      add_vector(w, &a, KERNEL_CALL_ARGS, 4, K_INDEX, n->values);
      break;
    case INSTR_MOVE_CALL:
      add_field(w, &a, MOVE_CALL_FROM, 4, K_INDEX, n->values);
      add_field(w, &a, MOVE_CALL_TO, 4, K_INDEX, n->values);
      break;
    case INSTR_JUMP_FALSE_CALL:
      add_field(w, &a, JUMP_FALSE_COND_VALUE_INDEX, 4, K_INDEX, n->values);
      add_field(w, &a, JUMP_FALSE_DESTINATION, 4, K_INDEX, n->instructions + 1);
      break;
    case INSTR_FREE_CALL: add_field(w, &a, FREE_CALL_VALUE_INDEX, 4, K_INDEX, n->values); break;
    default: break;
  }
}

/* Every slot of every execution plan (the first 4), in file order of the schema. */
static void walk_program(walk *w, const uint8_t *data, size_t size) {
  w->n = 0;
  fb_table root, plan, item, chain;
  fb_vector plans, values, chains, instructions, ops, delegates;
  if (fb_reader_init(&w->r, data, size) != PTEC_STATUS_OK ||
      fb_root(&w->r, &root) != PTEC_STATUS_OK)
    return;
  fb_vec(&w->r, &root, PROGRAM_EXECUTION_PLAN, 4, &plans);
  for (uint32_t p = 0; p < plans.len && p < FUZZ_MAX_METHODS; p++) {
    if (!fb_at(&w->r, &plans, p, &plan)) return;
    fb_vec(&w->r, &plan, PLAN_VALUES, 4, &values);
    fb_vec(&w->r, &plan, PLAN_OPERATORS, 4, &ops);
    fb_vec(&w->r, &plan, PLAN_DELEGATES, 4, &delegates);
    add_vector(w, &plan, PLAN_INPUTS, 4, K_INDEX, values.len);
    add_vector(w, &plan, PLAN_OUTPUTS, 4, K_INDEX, values.len);
    add_vector(w, &plan, PLAN_NON_CONST_BUFFER_SIZES, 8, K_INT, 0);
    for (uint32_t v = 0; v < values.len && fb_at(&w->r, &values, v, &item); v++)
      walk_value(w, &item, values.len);
    fb_vec(&w->r, &plan, PLAN_CHAINS, 4, &chains);
    for (uint32_t c = 0; c < chains.len && fb_at(&w->r, &chains, c, &chain); c++) {
      add_vector(w, &chain, CHAIN_INPUTS, 4, K_INDEX, values.len);
      add_vector(w, &chain, CHAIN_OUTPUTS, 4, K_INDEX, values.len);
      fb_vec(&w->r, &chain, CHAIN_INSTRUCTIONS, 4, &instructions);
      counts n = {values.len, ops.len, delegates.len, instructions.len};
      for (uint32_t i = 0; i < instructions.len && fb_at(&w->r, &instructions, i, &item); i++)
        walk_instruction(w, &item, &n);
    }
  }
}

/* ---- applying one record */

static const int64_t SPECIAL_INTS[] = {
    0, 1, -1, 2, 3, 4, 7, 8, 16, 127, 128, 255, 256, -128, -129, 32767, 65535, 65536,
    INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1, (int64_t)UINT32_MAX, (int64_t)1 << 32,
    (int64_t)1 << 40, (int64_t)1 << 62, INT64_MAX, INT64_MIN, INT64_MIN + 1, -((int64_t)1 << 31)};
static const double SPECIAL_DOUBLES[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, 1e-12, 4.9406564584124654e-324, DBL_MIN, DBL_MAX, -DBL_MAX,
    1e300, -1e300, (double)INFINITY, -(double)INFINITY, (double)NAN, -(double)NAN,
    (double)FLT_MAX, 3.4028235e38 * 2, 2147483648.0, -2147483649.0, 9.3e18, -9.3e18};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int64_t read_int(const uint8_t *b, const slot *s) {
  uint64_t u = 0;
  memcpy(&u, b + s->pos, s->width); /* little-endian */
  unsigned shift = 64 - 8 * s->width;
  return shift ? (int64_t)(u << shift) >> shift : (int64_t)u;
}

static void write_int(uint8_t *b, const slot *s, int64_t x) {
  uint64_t u = (uint64_t)x;
  memcpy(b + s->pos, &u, s->width);
}

static int64_t int_edit(const uint8_t *b, const slot *s, const slot *other, unsigned op,
                        unsigned arg, int32_t value) {
  int64_t x = read_int(b, s);
  switch (op % 6) {
    case 0: return value;
    case 1: return (int64_t)((uint64_t)x + (uint64_t)(int64_t)(int8_t)arg);
    case 2: return SPECIAL_INTS[arg % COUNT(SPECIAL_INTS)];
    case 3: return (int64_t)((uint64_t)x ^ ((uint64_t)1 << (arg % (8 * s->width))));
    case 4: return (int64_t)(0 - (uint64_t)x);
    default: return read_int(b, other);
  }
}

/* PTEC_FUZZ_TRACE=1 prints each edit (slot offset, kind, bytes before and after): to read
 * what a finding's script does to its program. */
static void trace(const slot *s, const uint8_t *before, const uint8_t *after) {
  static const char *const names[] = {"int", "double", "bool", "index", "len", "tag", "small"};
  if (getenv("PTEC_FUZZ_TRACE") == NULL) return;
  uint64_t x = 0, y = 0;
  memcpy(&x, before, s->width);
  memcpy(&y, after, s->width);
  fprintf(stderr, "edit @%u %s/%u (limit %u): 0x%llx -> 0x%llx\n", (unsigned)s->pos,
          names[s->kind], (unsigned)s->width, (unsigned)s->limit, (unsigned long long)x,
          (unsigned long long)y);
}

static void apply_record(uint8_t *b, const walk *w, const uint8_t *record);

static void apply(uint8_t *b, const walk *w, const uint8_t *record) {
  uint16_t which;
  memcpy(&which, record, sizeof which);
  const slot *s = &w->slots[which % w->n];
  uint8_t before[8];
  memcpy(before, b + s->pos, s->width);
  apply_record(b, w, record);
  trace(s, before, b + s->pos);
}

static void apply_record(uint8_t *b, const walk *w, const uint8_t *record) {
  uint16_t which;
  int32_t value;
  memcpy(&which, record, sizeof which);
  unsigned op = record[2], arg = record[3];
  memcpy(&value, record + 4, sizeof value);
  const slot *s = &w->slots[which % w->n];
  const slot *other = &w->slots[(uint32_t)value % w->n];
  if (s->kind == K_DOUBLE) {
    double x;
    memcpy(&x, b + s->pos, sizeof x);
    float f;
    memcpy(&f, &value, sizeof f);
    switch (op % 4) {
      case 0: x = (double)f; break; /* any float bit pattern: NaN payloads, denormals */
      case 1: x = SPECIAL_DOUBLES[arg % COUNT(SPECIAL_DOUBLES)]; break;
      case 2: x = -x; break;
      default: x *= (double)(int8_t)arg; break;
    }
    memcpy(b + s->pos, &x, sizeof x);
    return;
  }
  int64_t x = int_edit(b, s, other, op, arg, value);
  uint64_t limit = s->limit ? s->limit : 1;
  /* Mostly in range (an index to another value, a valid tag), one time in eight anything;
   * a vector length only shrinks, or the file would stop being a FlatBuffer. */
  if (s->kind == K_LEN) x = (int64_t)((uint64_t)x % (s->limit + 1u));
  else if (s->kind == K_BOOL) x = (op & 8) ? x : (x & 1);
  else if (s->kind != K_INT && (arg & 7) != 0) x = (int64_t)((uint64_t)x % limit);
  write_int(b, s, x);
}

/* ---- libFuzzer entry points */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_container c = fuzz_container_split(data, size, MAGIC);
  uint8_t *program = fuzz_aligned_copy(c.program, c.program_len);
  walk *w = malloc(sizeof *w);
  if (program != NULL && w != NULL) {
    walk_program(w, program, c.program_len);
    size_t records = c.payload_len / RECORD;
    for (size_t k = 0; w->n != 0 && k < records && k < MAX_RECORDS; k++)
      apply(program, w, c.payload + RECORD * k);
    fuzz_run_program(program, c.program_len, NULL, NULL);
  }
  free(w);
  free(program);
  return 0;
}

/* One random record, appended (or replacing the last when the script is full). */
static size_t add_record(uint8_t *payload, size_t len, size_t cap, uint32_t *rng) {
  len -= len % RECORD;
  if (len + RECORD > cap) {
    if (len < RECORD) return len;
    len -= RECORD;
  }
  uint32_t a = fuzz_rand(rng), v = fuzz_rand(rng);
  memcpy(payload + len, &a, 4);
  memcpy(payload + len + 4, &v, 4);
  return len + RECORD;
}

FUZZ_CONTAINER_MUTATORS(MAGIC, RECORD * MAX_RECORDS, add_record)
