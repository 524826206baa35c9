/* Shared between program.c, method.c and execute.c; not API. */
#ifndef PTEC_EXECUTOR_INTERNAL_H
#define PTEC_EXECUTOR_INTERNAL_H

#include "backends/backend.h"
#include "core/value.h"
#include "format/flatbuffer.h"
#include "format/pte_schema.h"
#include "kernels/kernel.h"
#include "ptec/ptec.h"

/* The maximum number of instructions one execute may run (loops included). */
#define PTEC_MAX_EXECUTED_INSTRUCTIONS 10000000u

struct ptec_kernel_entry;

typedef struct ptec_instruction {
  const struct ptec_kernel_entry *kernel; /* kernel calls */
  const int32_t *args;        /* kernel and delegate calls: value indices */
  uint32_t num_args;
  uint32_t kind;              /* INSTR_* (pte_schema.h) */
  uint32_t a;                 /* op index, delegate index, move source, condition, freed value */
  uint32_t b;                 /* move destination, jump destination */
} ptec_instruction;

typedef struct ptec_delegate_instance {
  const ptec_backend *backend;
  void *handle;
} ptec_delegate_instance;

/* Records a message on the program and returns `status`. */
ptec_status ptec_program_fail(ptec_program *prog, ptec_status status, const char *fmt, ...);

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

/* Size arithmetic that reports overflow instead of wrapping. */
static inline bool ptec_add_overflows(size_t a, size_t b, size_t *out) {
  *out = a + b;
  return *out < a;
}
static inline bool ptec_mul_overflows(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return true;
  *out = a * b;
  return false;
}
static inline size_t ptec_align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

#endif
