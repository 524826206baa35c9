/* Shared by the targets that run whole programs (fuzz_pte, fuzz_pte_edit, fuzz_inputs):
 * load -> requirements -> init -> execute, and the container the structure-aware targets
 * keep their inputs in (tests/fuzz/README.md). */
#ifndef PTEC_FUZZ_PROGRAM_H
#define PTEC_FUZZ_PROGRAM_H

#include "fuzz_common.h"
#include "ptec/ptec.h"

#define FUZZ_MAX_METHODS 4
#define FUZZ_MAX_PLANNED 16
#define FUZZ_MAX_INPUTS 16

/* Writes input `i` (zero-filled, `info->nbytes` bytes at `data`) before it is set. */
typedef void (*fuzz_fill_fn)(void *context, size_t i, const ptec_tensor_view *info, uint8_t *data);

static inline void fuzz_run_method(ptec_program *prog, size_t index, fuzz_fill_fn fill,
                                   void *context) {
  ptec_method_requirements req;
  if (ptec_program_method_requirements(prog, index, &req) != PTEC_STATUS_OK) return;
  if (req.num_planned_buffers > FUZZ_MAX_PLANNED) return;
  void *planned[FUZZ_MAX_PLANNED] = {0};
  size_t planned_sizes[FUZZ_MAX_PLANNED] = {0};
  void *inputs[FUZZ_MAX_INPUTS] = {0};
  void *memory = fuzz_alloc_zeroed(req.method_memory_bytes);
  ptec_method *m = fuzz_alloc_zeroed(ptec_method_struct_size());
  int ok = memory != NULL && m != NULL;
  for (size_t i = 0; ok && i < req.num_planned_buffers; i++) {
    planned_sizes[i] = ptec_method_planned_buffer_size(&req, i);
    planned[i] = fuzz_alloc_zeroed(planned_sizes[i]);
    ok = planned[i] != NULL;
  }
  if (ok && ptec_method_init(m, prog, index, memory, req.method_memory_bytes, planned,
                             planned_sizes, req.num_planned_buffers) == PTEC_STATUS_OK) {
    size_t n = ptec_method_num_inputs(m);
    for (size_t i = 0; ok && i < n && i < FUZZ_MAX_INPUTS; i++) {
      ptec_tensor_view v;
      if (ptec_method_input_info(m, i, &v) != PTEC_STATUS_OK) continue;
      v.data = inputs[i] = fuzz_alloc_zeroed(v.nbytes);
      ok = v.data != NULL;
      if (ok && fill != NULL) fill(context, i, &v, v.data);
      if (ok) (void)ptec_method_set_input(m, i, &v);
    }
    if (ok) {
      (void)ptec_method_execute(m);
      for (size_t i = 0; i < ptec_method_num_outputs(m); i++) {
        ptec_tensor_view out;
        (void)ptec_method_get_output(m, i, &out);
      }
    }
  }
  for (size_t i = 0; i < FUZZ_MAX_INPUTS; i++) free(inputs[i]);
  for (size_t i = 0; i < FUZZ_MAX_PLANNED; i++) free(planned[i]);
  free(m);
  free(memory);
}

/* Every method of the .pte in `data` (16-byte aligned, `size` bytes), at most 4. */
static inline void fuzz_run_program(const uint8_t *data, size_t size, fuzz_fill_fn fill,
                                    void *context) {
  ptec_program prog;
  if (ptec_program_load(&prog, data, size) != PTEC_STATUS_OK) return;
  size_t n = ptec_program_num_methods(&prog);
  for (size_t i = 0; i < n && i < FUZZ_MAX_METHODS; i++) {
    char name[64];
    (void)ptec_program_method_name(&prog, i, name, sizeof name);
    fuzz_run_method(&prog, i, fill, context);
  }
}

/* ---- the container of fuzz_pte_edit and fuzz_inputs
 *
 * magic (4 bytes) | u32 payload length | payload | a valid .pte
 *
 * The payload is what the fuzzer mutates (an edit script, input data); the program rides
 * along unchanged, so every input file is self-contained and replays without the corpus.
 * A file without the magic is a program with an empty payload: a plain .pte is a seed. */
typedef struct fuzz_container {
  const uint8_t *payload;
  size_t payload_len;
  const uint8_t *program;
  size_t program_len;
} fuzz_container;

static inline fuzz_container fuzz_container_split(const uint8_t *data, size_t size,
                                                  const char *magic) {
  fuzz_container c = {data, 0, data, size};
  if (size < 8 || memcmp(data, magic, 4) != 0) return c;
  uint32_t n;
  memcpy(&n, data + 4, sizeof n);
  if (n > size - 8) n = (uint32_t)(size - 8);
  c.payload = data + 8;
  c.payload_len = n;
  c.program = data + 8 + n;
  c.program_len = size - 8 - n;
  return c;
}

static inline uint32_t fuzz_rand(uint32_t *state) { /* xorshift32: the mutators' own choices */
  uint32_t x = *state ? *state : 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

/* libFuzzer's own byte mutator, for the payload. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Adds to or changes the payload in a way libFuzzer's byte mutations would rarely hit
 * (one whole edit record, a special value); returns the new length (<= cap). */
typedef size_t (*fuzz_payload_fn)(uint8_t *payload, size_t len, size_t cap, uint32_t *rng);

/* The custom mutator of both targets: the payload is mutated (by libFuzzer, or by
 * `special` one time in four), the program is kept. */
static inline size_t fuzz_container_mutate(const char *magic, uint8_t *data, size_t size,
                                           size_t max_size, unsigned seed, size_t max_payload,
                                           fuzz_payload_fn special) {
  fuzz_container c = fuzz_container_split(data, size, magic);
  if (c.program_len + 8 >= max_size) return size; /* no room for a payload: keep it */
  size_t cap = max_size - 8 - c.program_len;
  if (cap > max_payload) cap = max_payload;
  uint8_t *program = malloc(c.program_len ? c.program_len : 1);
  uint8_t *payload = malloc(cap);
  if (program == NULL || payload == NULL) {
    free(program);
    free(payload);
    return size;
  }
  memcpy(program, c.program, c.program_len);
  size_t len = c.payload_len < cap ? c.payload_len : cap;
  memcpy(payload, c.payload, len);
  uint32_t rng = seed;
  if (len == 0 || fuzz_rand(&rng) % 4 == 0) len = special(payload, len, cap, &rng);
  else len = LLVMFuzzerMutate(payload, len, cap);
  uint32_t n = (uint32_t)len;
  memcpy(data, magic, 4);
  memcpy(data + 4, &n, sizeof n);
  memcpy(data + 8, payload, len);
  memcpy(data + 8 + len, program, c.program_len);
  free(program);
  free(payload);
  return 8 + len + c.program_len;
}

/* Cross-over: the payload of one input on the program of the other (an edit script or
 * input data moves to another program). */
static inline size_t fuzz_container_cross_over(const char *magic, const uint8_t *a,
                                               size_t a_size, const uint8_t *b, size_t b_size,
                                               uint8_t *out, size_t max_out) {
  fuzz_container x = fuzz_container_split(a, a_size, magic);
  fuzz_container y = fuzz_container_split(b, b_size, magic);
  if (8 + x.payload_len + y.program_len > max_out) return 0;
  uint32_t n = (uint32_t)x.payload_len;
  memcpy(out, magic, 4);
  memcpy(out + 4, &n, sizeof n);
  memcpy(out + 8, x.payload, x.payload_len);
  memcpy(out + 8 + x.payload_len, y.program, y.program_len);
  return 8 + x.payload_len + y.program_len;
}

/* libFuzzer's custom mutator and cross-over for a target whose inputs are containers with
 * `magic`, payloads of at most `max_payload` bytes and `special` payload changes. */
#define FUZZ_CONTAINER_MUTATORS(magic, max_payload, special)                                 \
  size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed); \
  size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed) { \
    return fuzz_container_mutate(magic, data, size, max_size, seed, max_payload, special);   \
  }                                                                                          \
  size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t a_size, const uint8_t *b,        \
                                   size_t b_size, uint8_t *out, size_t max_out, unsigned seed); \
  size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t a_size, const uint8_t *b,        \
                                   size_t b_size, uint8_t *out, size_t max_out, unsigned seed) { \
    (void)seed;                                                                              \
    return fuzz_container_cross_over(magic, a, a_size, b, b_size, out, max_out);             \
  }

#endif
